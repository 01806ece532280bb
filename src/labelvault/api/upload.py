"""Streams a request body into a blob store with a size limit; nothing is kept on a failed upload."""

from __future__ import annotations

from fastapi import Request

from labelvault.errors import InvalidInput, PayloadTooLarge
from labelvault.storage import BlobStore


async def receive_body(request: Request, store: BlobStore, key: str, limit: int) -> int:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The upload is {int(declared)} bytes; the limit is {limit} bytes.",
                              details={"limit": limit})
    size = 0
    handle = store.open_write(key)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The upload exceeds the limit of {limit} bytes.", details={"limit": limit})
            handle.write(chunk)
    except BaseException:
        handle.close()
        store.delete(key + ".partial")
        raise
    handle.close()
    if size == 0:
        store.delete(key + ".partial")
        raise InvalidInput("The upload is empty.", details={"field": "body"})
    store.commit(key)
    return size
