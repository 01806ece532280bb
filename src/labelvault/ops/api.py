"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from labelvault.api.deps import Ctx, public
from labelvault.ops.metrics import REGISTRY

router = APIRouter(tags=["operations"])


@router.get("/healthz", dependencies=[Depends(public("liveness probe, no data"))])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", dependencies=[Depends(public("readiness probe, no data"))])
def readyz(ctx: Ctx) -> JSONResponse:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "reachable"})


@router.get("/metrics", response_class=PlainTextResponse,
            dependencies=[Depends(public("counters and latencies only, no customer data"))])
def metrics() -> PlainTextResponse:
    return PlainTextResponse(generate_latest(REGISTRY).decode(), media_type=CONTENT_TYPE_LATEST)
