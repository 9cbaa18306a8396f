"""Media upload and editing. Only AI-generated, C2PA-verified videos are accepted."""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, get_or_404, path_id
from node.auth import scope
from node.errors import unprocessable
from node.models import MediaAttachment
from node.params import read_params
from node.serializers import media_json
from node.services import media as media_service

routes = web.RouteTableDef()


@routes.post("/api/v2/media")
@routes.post("/api/v1/media")
@scope("write:media")
async def upload(request: web.Request) -> web.Response:
    if not request.content_type.startswith("multipart/"):
        raise unprocessable("file is missing (send multipart/form-data with a file field)")
    p = await read_params(request, allow_files=True)
    upload = p.files.get("file")
    if upload is None:
        raise unprocessable("file is missing")
    media = await media_service.ingest_upload(
        ctx(request), request["account"], upload, description=p.str("description", "", max_len=1500) or "",
        focus=media_service.parse_focus(p.str("focus")))
    return web.json_response(media_json(ctx(request), media))


async def _own_media(request: web.Request) -> MediaAttachment:
    return await get_or_404(MediaAttachment, id=path_id(request), account_id=request["account"].id)


@routes.get("/api/v1/media/{id}")
@scope("write:media")
async def get_media(request: web.Request) -> web.Response:
    return web.json_response(media_json(ctx(request), await _own_media(request)))


@routes.put("/api/v1/media/{id}")
@scope("write:media")
async def update_media(request: web.Request) -> web.Response:
    media = await _own_media(request)
    p = await read_params(request)
    await media_service.update_media(media, description=p.str("description"), focus=p.str("focus"))
    return web.json_response(media_json(ctx(request), media))
