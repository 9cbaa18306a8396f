"""Direct conversations (Mastodon 4.4): list, mark read, remove."""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, page_limit, paged_json, paginate, path_id
from node.auth import scope
from node.errors import not_found
from node.models import Conversation
from node.params import read_params
from node.serializers import conversations_json
from node.services import conversations as conversation_service

routes = web.RouteTableDef()


async def own_conversation(request: web.Request) -> Conversation:
    row = await Conversation.get_or_none(id=path_id(request), account_id=request["account"].id)
    if row is None:
        raise not_found()
    return row


@routes.get("/api/v1/conversations")
@routes.get("/api/v1/conversations/")  # Mastodon.py asks with the slash; Rails answers both
@scope("read:statuses")
async def index(request: web.Request) -> web.Response:
    """Newest activity first; the cursors are last status ids (as Mastodon's)."""
    me = request["account"]
    p = await read_params(request)
    query = Conversation.filter(account_id=me.id, last_status_id__not_isnull=True)
    rows = await paginate(query, p, page_limit(request, p), column="last_status_id")
    return paged_json(request, await conversations_json(ctx(request), me, rows), rows, lambda r: r.last_status_id)


@routes.post("/api/v1/conversations/{id}/read")
@scope("write:conversations")
async def read(request: web.Request) -> web.Response:
    row = await own_conversation(request)
    await conversation_service.mark_read(row)
    return web.json_response((await conversations_json(ctx(request), request["account"], [row]))[0])


@routes.delete("/api/v1/conversations/{id}")
@scope("write:conversations")
async def remove(request: web.Request) -> web.Response:
    await conversation_service.remove(await own_conversation(request))
    return web.json_response({})
