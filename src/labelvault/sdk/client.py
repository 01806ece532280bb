"""`Client(url, token)`: every API call, with iterators for paging and export. Pure HTTP (httpx)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

Progress = Callable[[int, int], None]
CHUNK = 1 << 20


class ApiError(Exception):
    """An error answer of the API: HTTP status, stable code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class Client:
    """A labelvault API client. `token` is an API token (`lv_...`)."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"User-Agent": "labelvault-sdk"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------------
    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.is_success:
            return
        try:
            body = response.json()
        except ValueError:
            body = {}
        raise ApiError(response.status_code, body.get("code", "http_error"),
                       body.get("message", response.text[:500] or response.reason_phrase), body.get("details"))

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        self._raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def request_bytes(self, method: str, path: str, **kwargs: Any) -> bytes:
        """A request whose answer is a download (a file, a CSV report)."""
        response = self.http.request(method, path, **kwargs)
        self._raise_for(response)
        return response.content

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        while True:
            page = self.request("GET", path, params=params)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    # -- account ------------------------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        return self.request("GET", "/api/v1/me")  # type: ignore[no-any-return]

    def create_token(self, name: str, expires_in_days: int | None = None) -> dict[str, Any]:
        return self.request("POST", "/api/v1/tokens",  # type: ignore[no-any-return]
                            json={"name": name, "expires_in_days": expires_in_days})

    def tokens(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/tokens")  # type: ignore[no-any-return]

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/api/v1/tokens/{token_id}")  # type: ignore[no-any-return]

    def invite(self, email: str, role: str = "annotator", vendor_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"email": email, "role": role}
        if vendor_id is not None:
            body["vendor_id"] = vendor_id
        return self.request("POST", "/api/v1/invitations", json=body)  # type: ignore[no-any-return]

    # ---- teams, vendors, routing ----

    def vendors(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/vendors")  # type: ignore[no-any-return]

    def create_vendor(self, name: str) -> dict[str, Any]:
        return self.request("POST", "/api/v1/vendors", json={"name": name})  # type: ignore[no-any-return]

    def set_vendor_review(self, vendor_id: str, percent: int) -> dict[str, Any]:
        """The share (percent) of the vendor's submitted work its own reviewers check before yours."""
        return self.request(  # type: ignore[no-any-return]
            "PATCH", f"/api/v1/vendors/{vendor_id}", json={"review_percent": percent})

    def revoke_vendor(self, vendor_id: str) -> dict[str, Any]:
        """Drop a vendor at once; the answer says what happened and where its exposure report is."""
        return self.request("POST", f"/api/v1/vendors/{vendor_id}/revoke")  # type: ignore[no-any-return]

    def vendor_exposure_csv(self, vendor_id: str) -> bytes:
        return self.request_bytes("GET", f"/api/v1/exposure/vendors/{vendor_id}", params={"format": "csv"})

    def teams(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/teams")  # type: ignore[no-any-return]

    def create_team(self, name: str) -> dict[str, Any]:
        return self.request("POST", "/api/v1/teams", json={"name": name})  # type: ignore[no-any-return]

    def add_to_team(self, team_id: str, user_id: str) -> None:
        self.request("PUT", f"/api/v1/teams/{team_id}/members/{user_id}")

    def remove_from_team(self, team_id: str, user_id: str) -> None:
        self.request("DELETE", f"/api/v1/teams/{team_id}/members/{user_id}")

    def set_skills(self, user_id: str, skills: list[str]) -> dict[str, Any]:
        return self.request("PUT", f"/api/v1/members/{user_id}/skills",  # type: ignore[no-any-return]
                            json={"skills": skills})

    def scorecards(self, project_id: str) -> dict[str, Any]:
        """Scorecards per annotator and per vendor from the project's last quality report."""
        return self.request("GET", f"/api/v1/projects/{project_id}/scorecards")  # type: ignore[no-any-return]

    def routing(self, project_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/projects/{project_id}/routing")  # type: ignore[no-any-return]

    def set_routing(self, project_id: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
        return self.request("PUT", f"/api/v1/projects/{project_id}/routing",  # type: ignore[no-any-return]
                            json={"rules": rules})

    def reroute(self, project_id: str, source: str, target: str | None) -> dict[str, Any]:
        return self.request("POST", f"/api/v1/projects/{project_id}/reroute",  # type: ignore[no-any-return]
                            json={"from": source, "to": target})

    def members(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/members")  # type: ignore[no-any-return]

    def change_role(self, user_id: str, role: str) -> dict[str, Any]:
        return self.request("PATCH", f"/api/v1/members/{user_id}", json={"role": role})  # type: ignore[no-any-return]

    def remove_member(self, user_id: str) -> None:
        self.request("DELETE", f"/api/v1/members/{user_id}")

    def organizations(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/organizations")  # type: ignore[no-any-return]

    def create_organization(self, name: str) -> dict[str, Any]:
        return self.request("POST", "/api/v1/organizations", json={"name": name})  # type: ignore[no-any-return]

    # -- projects -----------------------------------------------------------------------------------------
    def create_project(self, name: str, schema: dict[str, Any], *, description: str = "", guidelines: str = "",
                       default_overlap: int = 1) -> dict[str, Any]:
        body = {"name": name, "schema": schema, "description": description, "guidelines": guidelines,
                "default_overlap": default_overlap}
        return self.request("POST", "/api/v1/projects", json=body)  # type: ignore[no-any-return]

    def projects(self) -> Iterator[dict[str, Any]]:
        return self._pages("/api/v1/projects")

    def project(self, project_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/projects/{project_id}")  # type: ignore[no-any-return]

    def update_project(self, project_id: str, **changes: Any) -> dict[str, Any]:
        return self.request("PATCH", f"/api/v1/projects/{project_id}", json=changes)  # type: ignore[no-any-return]

    def change_schema(self, project_id: str, schema: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"/api/v1/projects/{project_id}/schema", json=schema)  # type: ignore[no-any-return]

    # -- items and imports --------------------------------------------------------------------------------
    def items(self, project_id: str, *, state: str | None = None, page_size: int = 500) -> Iterator[dict[str, Any]]:
        return self._pages(f"/api/v1/projects/{project_id}/items", {"state": state, "limit": page_size})

    def item(self, item_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/items/{item_id}")  # type: ignore[no-any-return]

    def delete_item(self, item_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/api/v1/items/{item_id}",  # type: ignore[no-any-return]
                            params={"confirm": "true"})

    def upload_media(self, project_id: str, path: str, content: bytes) -> dict[str, Any]:
        return self.request("PUT", f"/api/v1/projects/{project_id}/media/{path}",  # type: ignore[no-any-return]
                            content=content)

    def _upload(self, url: str, file: str | Path, params: dict[str, str],
                on_upload: Progress | None) -> dict[str, Any]:
        path = Path(file)
        total = path.stat().st_size

        def chunks(handle: IO[bytes]) -> Iterator[bytes]:
            sent = 0
            while chunk := handle.read(CHUNK):
                sent += len(chunk)
                if on_upload:
                    on_upload(sent, total)
                yield chunk

        with path.open("rb") as handle:
            return self.request("POST", url, params={"filename": path.name, **params},  # type: ignore[no-any-return]
                                content=chunks(handle), headers={"Content-Length": str(total)})

    def start_import(self, project_id: str, file: str | Path, *, format: str | None = None,
                     on_conflict: str = "skip", all_or_nothing: bool = False,
                     on_upload: Progress | None = None) -> dict[str, Any]:
        """Upload a JSONL, JSON or CSV file and queue its import; returns the job."""
        params = {"on_conflict": on_conflict, "all_or_nothing": str(all_or_nothing).lower()}
        if format:
            params["format"] = format
        return self._upload(f"/api/v1/projects/{project_id}/imports", file, params, on_upload)

    def start_prediction_import(self, project_id: str, file: str | Path, *, all_or_nothing: bool = False,
                                on_upload: Progress | None = None) -> dict[str, Any]:
        """Upload predictions (JSONL: external_id, model_name, model_version, answers, score) as a job."""
        return self._upload(f"/api/v1/projects/{project_id}/predictions/imports", file,
                            {"all_or_nothing": str(all_or_nothing).lower()}, on_upload)

    def import_predictions(self, project_id: str, file: str | Path, *, wait: bool = True,
                           **options: Any) -> dict[str, Any]:
        on_progress = options.pop("on_progress", None)
        job = self.start_prediction_import(project_id, file, **options)
        return self.wait(job["id"], on_progress=on_progress) if wait else job

    def predictions(self, item_id: str) -> list[dict[str, Any]]:
        """A model's pre-labels for an item (kept apart from annotations)."""
        return self.request("GET", f"/api/v1/items/{item_id}/predictions")  # type: ignore[no-any-return]

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/jobs/{job_id}")  # type: ignore[no-any-return]

    def wait(self, job_id: str, *, on_progress: Progress | None = None, poll: float = 0.2,
             timeout: float | None = None) -> dict[str, Any]:
        """Poll a job until it has finished; returns its final state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if on_progress:
                on_progress(job["done"], job["total"])
            if job["state"] in ("succeeded", "failed"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['state']} after {timeout} s")
            time.sleep(poll)

    def import_file(self, project_id: str, file: str | Path, *, wait: bool = True, **options: Any) -> dict[str, Any]:
        on_progress = options.pop("on_progress", None)
        job = self.start_import(project_id, file, **options)
        return self.wait(job["id"], on_progress=on_progress) if wait else job

    def job_problems(self, job_id: str) -> Iterator[dict[str, Any]]:
        return self._pages(f"/api/v1/jobs/{job_id}/problems")

    # -- annotations --------------------------------------------------------------------------------------
    def submit(self, item_id: str, answers: dict[str, Any], *, time_spent_ms: int = 0, draft: bool = False,
               idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = {"answers": answers, "time_spent_ms": time_spent_ms, "draft": draft}
        return self.request("POST", f"/api/v1/items/{item_id}/annotations",  # type: ignore[no-any-return]
                            json=body, headers=headers)

    def annotations(self, item_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/api/v1/items/{item_id}/annotations")  # type: ignore[no-any-return]

    def revisions(self, annotation_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/api/v1/annotations/{annotation_id}/revisions")  # type: ignore[no-any-return]

    # -- distribution and review -------------------------------------------------------------------------
    def next_item(self, project_id: str) -> dict[str, Any] | None:
        """Your lease on the next item (`{"lease", "item"}`), or None when nothing is left for you."""
        response = self.http.post(f"/api/v1/projects/{project_id}/next")
        self._raise_for(response)
        return None if response.status_code == 204 else response.json()

    def heartbeat(self, lease_id: str) -> dict[str, Any]:
        return self.request("POST", f"/api/v1/leases/{lease_id}/heartbeat")  # type: ignore[no-any-return]

    def release(self, lease_id: str) -> None:
        self.request("DELETE", f"/api/v1/leases/{lease_id}")

    def skip(self, item_id: str, reason: str) -> dict[str, Any]:
        return self.request("POST", f"/api/v1/items/{item_id}/skip",  # type: ignore[no-any-return]
                            json={"reason": reason})

    def status(self, project_id: str) -> dict[str, Any]:
        """Items per state and each annotator's progress."""
        return self.request("GET", f"/api/v1/projects/{project_id}/status")  # type: ignore[no-any-return]

    def next_review(self, project_id: str) -> dict[str, Any] | None:
        """A lease on the next annotation to review (`{"lease", "item", "annotation"}`), or None."""
        response = self.http.post(f"/api/v1/projects/{project_id}/review/next")
        self._raise_for(response)
        return None if response.status_code == 204 else response.json()

    def review(self, annotation_id: str, decision: str, *, comment: str = "",
               answers: dict[str, Any] | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        """accept, reject (with a comment) or fix (with corrected answers) an annotation."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = {"decision": decision, "comment": comment, "answers": answers}
        return self.request("POST", f"/api/v1/annotations/{annotation_id}/review",  # type: ignore[no-any-return]
                            json=body, headers=headers)

    def reviews(self, annotation_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/api/v1/annotations/{annotation_id}/reviews")  # type: ignore[no-any-return]

    def returned(self, project_id: str) -> list[dict[str, Any]]:
        """Your annotations rejected by review, with the reviewers' comments."""
        return self.request("GET", f"/api/v1/projects/{project_id}/returned")  # type: ignore[no-any-return]

    # -- export -------------------------------------------------------------------------------------------
    def _export_stream(self, project_id: str, filters: dict[str, Any]) -> Iterator[bytes]:
        params = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in filters.items() if v is not None}
        with self.http.stream("GET", f"/api/v1/projects/{project_id}/export", params=params,
                              timeout=None) as response:
            if not response.is_success:
                response.read()
                self._raise_for(response)
            # As the pieces arrive: re-chunking hundreds of megabytes into CHUNK-sized blocks costs more CPU
            # than the download itself.
            yield from response.iter_raw()

    def export_to(self, project_id: str, destination: str | Path, *, on_progress: Callable[[int], None] | None = None,
                  **filters: Any) -> int:
        """Stream the JSONL export into a file; returns the number of bytes written. Filters: state, since, until,
        revisions, include_drafts, only_annotated, aggregated (aggregates in place of annotations), include_gold."""
        written = 0
        path = Path(destination)
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as out:
            for chunk in self._export_stream(project_id, filters):
                out.write(chunk)
                written += len(chunk)
                if on_progress:
                    on_progress(written)
        partial.replace(path)
        return written

    def export(self, project_id: str, **filters: Any) -> Iterator[dict[str, Any]]:
        """Iterate the exported items (each with its annotations) without holding them all."""
        rest = b""
        for chunk in self._export_stream(project_id, filters):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if line:
                    yield orjson.loads(line)
        if rest.strip():
            yield orjson.loads(rest)

    # -- quality ------------------------------------------------------------------------------------------
    def set_gold(self, item_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        """Make an item a gold item with these known answers."""
        return self.request("PUT", f"/api/v1/items/{item_id}/gold",  # type: ignore[no-any-return]
                            json={"answers": answers})

    def remove_gold(self, item_id: str) -> None:
        self.request("DELETE", f"/api/v1/items/{item_id}/gold")

    def gold_items(self, project_id: str) -> Iterator[dict[str, Any]]:
        return self._pages(f"/api/v1/projects/{project_id}/gold")

    def quality_settings(self, project_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/projects/{project_id}/quality/settings")  # type: ignore[no-any-return]

    def update_quality_settings(self, project_id: str, **changes: Any) -> dict[str, Any]:
        return self.request("PATCH", f"/api/v1/projects/{project_id}/quality/settings",  # type: ignore[no-any-return]
                            json=changes)

    def refresh_quality(self, project_id: str, *, wait: bool = True) -> dict[str, Any]:
        """Queue a quality refresh (scores, aggregates, report); by default wait for it to finish."""
        job = self.request("POST", f"/api/v1/projects/{project_id}/quality/refresh")
        return self.wait(job["id"]) if wait else job

    def quality_report(self, project_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/projects/{project_id}/quality/report")  # type: ignore[no-any-return]

    def aggregates(self, project_id: str, *, below: float | None = None) -> Iterator[dict[str, Any]]:
        """Aggregated answers per item and question, with their confidence."""
        return self._pages(f"/api/v1/projects/{project_id}/aggregates", {"below": below})


    # -- exports in other formats, as jobs --------------------------------------------------------------
    def export_formats(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/export-formats")  # type: ignore[no-any-return]

    def start_export(self, project_id: str, format: str, **options: Any) -> dict[str, Any]:
        """Queue an export in `format` (options: states, only_accepted, split, since, until, include_drafts,
        only_annotated, predictions, aggregated, include_gold); returns the job."""
        body = {"format": format, **{k: v for k, v in options.items() if v is not None}}
        return self.request("POST", f"/api/v1/projects/{project_id}/exports", json=body)  # type: ignore[no-any-return]

    def download_export(self, job_id: str, destination: str | Path, *,
                        on_progress: Callable[[int], None] | None = None) -> int:
        """Write a finished export's file; returns the number of bytes written."""
        path = Path(destination)
        partial = path.with_name(path.name + ".partial")
        written = 0
        with self.http.stream("GET", f"/api/v1/exports/{job_id}/file", timeout=None) as response:
            if not response.is_success:
                response.read()
                self._raise_for(response)
            with partial.open("wb") as out:
                for chunk in response.iter_raw():
                    out.write(chunk)
                    written += len(chunk)
                    if on_progress:
                        on_progress(written)
        partial.replace(path)
        return written

    def export_file(self, project_id: str, format: str, destination: str | Path, *,
                    on_progress: Progress | None = None, poll: float = 0.2, **options: Any) -> dict[str, Any]:
        """Export in `format`, wait for the job and download its file; returns the finished job."""
        job = self.wait(self.start_export(project_id, format, **options)["id"], on_progress=on_progress, poll=poll)
        if job["state"] != "succeeded":
            raise ApiError(500, "export_failed", job.get("error") or "the export failed", {"job_id": job["id"]})
        self.download_export(job["id"], destination)
        return job

    def start_bundle(self, project_id: str) -> dict[str, Any]:
        """Queue the project's exit bundle; returns the job."""
        return self.request("POST", f"/api/v1/projects/{project_id}/bundles")  # type: ignore[no-any-return]

    def bundle_to(self, project_id: str, destination: str | Path, *,
                  on_progress: Progress | None = None, poll: float = 0.2) -> dict[str, Any]:
        """Make the project's exit bundle (.tar.zst), wait for it and download it; returns the finished job."""
        job = self.wait(self.start_bundle(project_id)["id"], on_progress=on_progress, poll=poll)
        if job["state"] != "succeeded":
            raise ApiError(500, "bundle_failed", job.get("error") or "the bundle failed", {"job_id": job["id"]})
        self.download_export(job["id"], destination)
        return job
