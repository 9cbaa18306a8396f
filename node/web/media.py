"""GET /media/<path>: stored videos and posters, public ones plainly, private ones by signed URL only."""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath

from aiohttp import web

from node.media.store import NotStored, StoreError
from node.api.common import ctx
from node.errors import ApiError, not_found
from node.media.access import is_public_file
from node.media.files import CONTENT_TYPES

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

# What node.media.files.new_media_path makes (sharded random names); anything else is not looked up.
MEDIA_PATH = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.[a-z0-9]{1,5}")

# Public media never changes under its path (a new upload gets a new path); a week in caches.
PUBLIC_CACHE = "public, max-age=604800"
# A signed URL is for one viewer: kept in that viewer's cache only, and not for long.
PRIVATE_CACHE = "private, max-age=3600"


@routes.get("/media/{path:.+}")
async def media_file(request: web.Request) -> web.StreamResponse:
    """Only files of media attachments we hold; a private one needs a valid, unexpired signature.
    Every refusal is the 404 of an unknown file (never 403: that would tell the file exists)."""
    node = ctx(request)
    relative_path = request.match_info["path"]
    if len(relative_path) > 512 or not MEDIA_PATH.fullmatch(relative_path):
        raise not_found()
    public = await is_public_file(relative_path)
    if public is None or not public and not node.urls.media_signature_valid(
            relative_path, request.query.get("expires", ""), request.query.get("signature", "")):
        raise not_found()
    headers = {"Cache-Control": PUBLIC_CACHE if public else PRIVATE_CACHE}
    store = node.store
    if store.local:
        path = store.path(relative_path)  # MEDIA_PATH has no "..": it stays inside
        if not path.is_file():
            raise not_found()
        return web.FileResponse(path, headers=headers)
    if public and (url := await _published(store, relative_path)):
        raise web.HTTPFound(url, headers=headers)
    return await _stream(request, store, relative_path, headers)


async def _published(store, key: str) -> str | None:
    try:
        return await store.publish(key)
    except NotStored:
        raise not_found() from None
    except StoreError as exc:
        log.warning("public copy of %s not made: %s", key, exc)
        return None  # streamed by the node instead


async def _stream(request: web.Request, store, key: str, headers: dict[str, str]) -> web.StreamResponse:
    """A file from an object store, passed through (one byte range too, for players that seek):
    private media never gets a bucket URL."""
    try:
        size = await store.size(key)
    except StoreError as exc:
        log.error("media storage unavailable: %s", exc)
        raise ApiError(503, "Media storage is unavailable; try again later") from None
    if size is None:
        raise not_found()
    start, stop, status = 0, size, 200
    if "Range" in request.headers:
        try:
            wanted = request.http_range
        except ValueError:
            wanted = None
        if wanted is None or wanted.start is not None and wanted.start >= size:
            raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        if wanted.start is not None and wanted.start < 0:  # the last N bytes
            start = max(0, size + wanted.start)
        else:
            start, stop = wanted.start or 0, min(size, wanted.stop if wanted.stop is not None else size)
        status = 206
        headers = {**headers, "Content-Range": f"bytes {start}-{stop - 1}/{size}"}
    response = web.StreamResponse(status=status, headers={**headers, "Accept-Ranges": "bytes"})
    response.content_type = CONTENT_TYPES.get(PurePosixPath(key).suffix, "application/octet-stream")
    response.content_length = stop - start
    await response.prepare(request)
    if request.method != "HEAD":
        async for chunk in store.stream(key, start, stop):
            await response.write(chunk)
    await response.write_eof()
    return response
