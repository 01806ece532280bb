"""S3-compatible blob store (AWS S3, MinIO, Ceph, ...) for scale-out: every app server sees the same blobs."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import IO, Any

from labelvault.storage import safe_key


class S3BlobStore:
    """Blobs as objects under `prefix` in one bucket. Writes are staged in a local temporary file and
    uploaded on commit (multipart for large files); reads download to a temporary file so that readers
    can seek (imports resume from a byte position)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._staged: dict[str, str] = {}

    @classmethod
    def connect(cls, bucket: str, *, prefix: str = "", endpoint_url: str | None = None, region: str | None = None,
                access_key_id: str | None = None, secret_access_key: str | None = None) -> S3BlobStore:
        import boto3  # type: ignore[import-untyped]  # an optional dependency: labelvault[s3]

        client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                              aws_access_key_id=access_key_id or None,
                              aws_secret_access_key=secret_access_key or None)
        return cls(client, bucket, prefix)

    def _key(self, key: str) -> str:
        return self.prefix + safe_key(key)

    def open_write(self, key: str) -> IO[bytes]:
        handle = tempfile.NamedTemporaryFile(prefix="lv-upload-", delete=False)  # noqa: SIM115
        self._staged[safe_key(key)] = handle.name
        return handle

    def commit(self, key: str) -> None:
        path = self._staged.pop(safe_key(key))
        try:
            self.client.upload_file(path, self.bucket, self._key(key))
        finally:
            os.unlink(path)

    def open_read(self, key: str) -> IO[bytes]:
        local = tempfile.TemporaryFile(prefix="lv-blob-")  # noqa: SIM115 - the caller closes it
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        shutil.copyfileobj(body, local, 1 << 20)
        local.seek(0)
        return local

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])

    def delete(self, key: str) -> None:
        clean = safe_key(key)
        if clean.endswith(".partial"):
            staged = self._staged.pop(clean[: -len(".partial")], None)
            if staged:
                os.unlink(staged)
            return
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
