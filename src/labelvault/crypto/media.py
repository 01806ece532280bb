"""Media files sealed at rest: a blob store that encrypts what it stores under the project's data key.

Wraps any `BlobStore` (local directory or S3). Media keys are `<organization>/<project>/<path>`; a file is
sealed as one AES-GCM message bound to its path, so a file copied to another path or project does not open.
Files are staged in memory until committed (media uploads are bounded by `LABELVAULT_MAX_MEDIA_BYTES`), so
no plaintext touches the disk.
"""

from __future__ import annotations

import io
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from labelvault.crypto.content import ProjectCipher, media_field, project_keys
from labelvault.db.engine import transaction
from labelvault.errors import InvalidInput
from labelvault.storage import BlobStore, safe_key


class _Staged(io.BytesIO):
    """An upload in memory; closing it hands the bytes to the store (commit seals them)."""

    def __init__(self, staged: dict[str, bytes], key: str) -> None:
        super().__init__()
        self._staged, self._key = staged, key

    def close(self) -> None:
        if not self.closed:
            self._staged[self._key] = self.getvalue()
        super().close()


class SealedBlobStore:
    """A `BlobStore` whose files are ciphertexts; reads give the plaintext back."""

    def __init__(self, inner: BlobStore, factory: sessionmaker[Session], *, overhead: int,
                 session: Session | None = None, staged: dict[str, bytes] | None = None) -> None:
        self.inner, self.factory, self.overhead, self.session = inner, factory, overhead, session
        self._staged: dict[str, bytes] = {} if staged is None else staged

    def within(self, session: Session) -> SealedBlobStore:
        """The same store using `session` for the project's keys (a transaction that writes, or one that has
        just made the project)."""
        return SealedBlobStore(self.inner, self.factory, overhead=self.overhead, session=session,
                               staged=self._staged)

    @staticmethod
    def _parts(key: str) -> tuple[str, str, str]:
        parts = safe_key(key).split("/", 2)
        if len(parts) != 3:
            raise InvalidInput(f"{key!r} is not a media path of a project.", details={"field": "path"})
        return parts[0], parts[1], parts[2]

    def _seal(self, session: Session, key: str, data: bytes) -> bytes:
        organization_id, project_id, path = self._parts(key)
        keys: ProjectCipher = project_keys(session, organization_id, project_id)
        return keys.seal("", media_field(path), data)

    def _open(self, session: Session, key: str, data: bytes) -> bytes:
        organization_id, project_id, path = self._parts(key)
        return project_keys(session, organization_id, project_id).open("", media_field(path), data)

    def open_write(self, key: str) -> IO[bytes]:
        return _Staged(self._staged, safe_key(key))

    def commit(self, key: str) -> None:
        data = self._staged.pop(safe_key(key))
        if self.session is not None:
            sealed = self._seal(self.session, key, data)
        else:
            with transaction(self.factory) as session:
                sealed = self._seal(session, key, data)
        with self.inner.open_write(key) as handle:
            handle.write(sealed)
        self.inner.commit(key)

    def open_read(self, key: str) -> IO[bytes]:
        with self.inner.open_read(key) as handle:
            sealed = handle.read()
        if self.session is not None:
            return io.BytesIO(self._open(self.session, key, sealed))
        with self.factory() as session:
            return io.BytesIO(self._open(session, key, sealed))

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def size(self, key: str) -> int:
        return self.inner.size(key) - self.overhead

    def delete(self, key: str) -> None:
        clean = safe_key(key)
        if clean.endswith(".partial"):
            self._staged.pop(clean[: -len(".partial")], None)
            return
        self.inner.delete(key)


def media_within(store: BlobStore, session: Session) -> BlobStore:
    """`store` using `session` for keys when it is sealed; any other store as it is."""
    return store.within(session) if isinstance(store, SealedBlobStore) else store
