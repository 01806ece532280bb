"""Uploads and media in an S3-compatible store (a real S3 protocol server on loopback)."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from labelvault.app import build_context, create_app
from labelvault.crypto.content import bind_cipher
from labelvault.db.engine import session_factory
from labelvault.demo import png
from labelvault.testing import free_port

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

IMAGE_SCHEMA = {"fields": [{"name": "image", "kind": "image"}],
                "questions": [{"name": "boxes", "type": "boxes", "field": "image", "labels": [{"value": "cat"}]}]}


@pytest.fixture
def s3_settings(settings):
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    options = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "test-key",
               "aws_secret_access_key": "test-secret"}
    boto3.client("s3", **options).create_bucket(Bucket="lv-test")
    yield settings.model_copy(update={
        "blob_store": "s3", "s3_bucket": "lv-test", "s3_endpoint_url": endpoint, "s3_region": "us-east-1",
        "s3_access_key_id": "test-key", "s3_secret_access_key": "test-secret"}), options
    server.stop()


def test_import_and_media_go_through_the_object_store(s3_settings, engine, owner):
    settings, options = s3_settings
    ctx = build_context(settings)
    ctx.engine.dispose()
    ctx.engine, ctx.factory = engine, bind_cipher(session_factory(engine), ctx.content)
    ctx.runner.factory = ctx.media.factory = ctx.factory
    with TestClient(create_app(settings, context=ctx)) as client:
        project = client.post("/api/v1/projects", json={"name": "S3", "schema": IMAGE_SCHEMA},
                              headers=owner.headers).json()
        image = png(6, 6, (1, 2, 3), (0, 0, 2, 2))
        put = client.put(f"/api/v1/projects/{project['id']}/media/a.png", content=image, headers=owner.headers)
        assert put.status_code == 201
        body = b"".join(orjson.dumps({"external_id": f"i{n}", "data": {"image": "a.png"}}) + b"\n"
                        for n in range(30))
        job = client.post(f"/api/v1/projects/{project['id']}/imports", params={"filename": "x.jsonl"},
                          content=body, headers=owner.headers).json()
        s3 = boto3.client("s3", **options)
        staged = {o["Key"] for o in s3.list_objects_v2(Bucket="lv-test")["Contents"]}
        assert f"labelvault/uploads/imports/{job['id']}" in staged
        ctx.runner.run_until_idle()
        done = client.get(f"/api/v1/jobs/{job['id']}", headers=owner.headers).json()
        assert done["state"] == "succeeded" and done["stats"]["imported"] == 30
        served = client.get(f"/api/v1/projects/{project['id']}/media/a.png", headers=owner.headers)
        assert served.content == image
        stored = s3.get_object(Bucket="lv-test", Key=f"labelvault/media/{owner.organization_id}/{project['id']}/a.png")
        assert stored["Body"].read() != image  # sealed in the object store
    keys = {o["Key"] for o in boto3.client("s3", **options).list_objects_v2(Bucket="lv-test")["Contents"]}
    # The upload was read back from the store, then removed once every line was imported.
    assert f"labelvault/uploads/imports/{job['id']}" not in keys
    assert f"labelvault/media/{owner.organization_id}/{project['id']}/a.png" in keys
