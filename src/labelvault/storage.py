"""Blob storage for uploads and media: a local directory by default, one interface for S3-compatible stores."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import IO, Protocol

from labelvault.errors import InvalidInput


class BlobStore(Protocol):
    def open_write(self, key: str) -> IO[bytes]: ...
    def commit(self, key: str) -> None: ...
    def open_read(self, key: str) -> IO[bytes]: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...


# The first part of media paths kept for labelvault's own files (a restored ledger slice): refused by the media
# routes, so nobody reads or overwrites them as media.
RESERVED_MEDIA = ".labelvault"


def safe_key(key: str) -> str:
    """Refuse keys that could escape the store (absolute paths, '..', NUL)."""
    norm = key.replace("\\", "/")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if not parts or norm.startswith("/") or ".." in parts or "\x00" in norm:
        raise InvalidInput(f"{key!r} is not a valid path inside the store.", details={"field": "path"})
    return "/".join(parts)


class LocalBlobStore:
    """Files under one root directory; writes land under a temporary name until committed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / safe_key(key)

    def open_write(self, key: str) -> IO[bytes]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(str(path) + ".partial", "wb")  # noqa: SIM115 - the caller closes it

    def commit(self, key: str) -> None:
        path = self._path(key)
        partial = Path(str(path) + ".partial")
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        partial.replace(path)

    def open_read(self, key: str) -> IO[bytes]:
        return open(self._path(key), "rb")  # noqa: SIM115 - the caller closes it

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
