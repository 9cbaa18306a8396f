"""Statuses: post (with Idempotency-Key), read, edit (history, source), delete, context, favourite, reblog,
bookmark."""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, page_limit, paged_json, paginate, path_id, viewer, visible_status
from node.auth import scope
from node.errors import ApiError, unprocessable
from node.models import Favourite, Status
from node.params import Params, parse_id, read_params
from node.serializers import accounts_many, scheduled_status_json, status_edits_json, status_json, status_source_json, statuses_json
from node.services import scheduled_statuses as scheduled, statuses as service
from node.services.visibility import can_see

routes = web.RouteTableDef()


@routes.post("/api/v1/statuses")
@scope("write:statuses")
async def create(request: web.Request) -> web.Response:
    p = await read_params(request)
    media_ids = [parse_id(m, "media_ids") for m in p.list("media_ids")]
    when = scheduled.parse_time(p.str("scheduled_at", max_len=64)) if p.str("scheduled_at") else None
    if when is not None and not scheduled.is_due_now(ctx(request), when):
        row = await scheduled.schedule(ctx(request), request["user"], when, {
            "text": p.str("status", "", max_len=100_000) or "", "visibility": p.str("visibility"),
            "spoiler_text": p.str("spoiler_text", "", max_len=10_000) or "", "sensitive": p.bool("sensitive", False),
            "in_reply_to_id": p.id("in_reply_to_id"), "media_ids": media_ids, "language": p.str("language", max_len=16),
            "remix_of_id": p.id("remix_of_id"), "remixable": p.bool("remixable", True),
            "application_id": str(request["token"].application_id) if request["token"].application_id else None})
        return web.json_response(await scheduled_status_json(ctx(request), row))
    status = await service.create_status(
        ctx(request), request["user"], text=p.str("status", "", max_len=100_000) or "",
        visibility=p.str("visibility"), spoiler_text=p.str("spoiler_text", "", max_len=10_000) or "",
        sensitive=p.bool("sensitive", False), in_reply_to_id=p.id("in_reply_to_id"), media_ids=media_ids,
        language=p.str("language", max_len=16), idempotency_key=request.headers.get("Idempotency-Key"),
        remix_of_id=p.id("remix_of_id"), remixable=p.bool("remixable", True))
    return web.json_response(await status_json(ctx(request), request["account"], status))


@routes.get("/api/v1/statuses/{id}")
@scope("read:statuses", optional=True)
async def show(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    return web.json_response(await status_json(ctx(request), viewer(request), status))


@routes.put("/api/v1/statuses/{id}")
@scope("write:statuses")
async def update(request: web.Request) -> web.Response:
    """Edit a post, as Mastodon 4.x: only its author (anyone else gets 404); see service.edit_status."""
    p = await read_params(request)
    if p.raw("poll") not in (None, "", {}):
        raise unprocessable("polls are not supported on this server")
    status = await service.edit_status(
        ctx(request), request["account"], path_id(request), text=p.str("status", "", max_len=100_000) or "",
        spoiler_text=p.str("spoiler_text", "", max_len=10_000) or "", sensitive=p.bool("sensitive", False),
        language=p.str("language", max_len=16), media_ids=[parse_id(m, "media_ids") for m in p.list("media_ids")],
        media_attributes=_media_attributes(p))
    return web.json_response(await status_json(ctx(request), request["account"], status))


def _media_attributes(p: Params) -> list[dict]:
    """`media_attributes` as a JSON array of objects, or Rails-style form fields (`[0][id]=…`)."""
    value = p.raw("media_attributes")
    if value in (None, ""):
        return []
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise unprocessable("media_attributes must be a list of objects")
    return items[:4]


@routes.get("/api/v1/statuses/{id}/history")
@scope("read:statuses", optional=True)
async def history(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    return web.json_response(await status_edits_json(ctx(request), status))


@routes.get("/api/v1/statuses/{id}/source")
@scope("read:statuses")
async def source(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    return web.json_response(status_source_json(status))


@routes.delete("/api/v1/statuses/{id}")
@scope("write:statuses")
async def delete(request: web.Request) -> web.Response:
    node = ctx(request)
    status = await Status.get_or_none(id=path_id(request), account_id=request["account"].id, deleted_at=None)
    if status is None:
        raise ApiError(404, "Record not found")
    data = await status_json(node, request["account"], status)
    await service.delete_status(node, request["account"], status.id)
    data["text"] = status.text
    return web.json_response(data)


@routes.get("/api/v1/statuses/{id}/context")
@scope("read:statuses", optional=True)
async def context(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    me = viewer(request)
    ancestors: list[Status] = []
    cursor = status
    while cursor.in_reply_to_id and len(ancestors) < 40:
        parent = await Status.get_or_none(id=cursor.in_reply_to_id, deleted_at=None, account__suspended_at=None)
        if parent is None or not await can_see(me, parent):
            break
        ancestors.insert(0, parent)
        cursor = parent
    descendants: list[Status] = []
    frontier = [status.id]
    while frontier and len(descendants) < 100:
        children = await Status.filter(in_reply_to_id__in=frontier, deleted_at=None,
                                       account__suspended_at=None).order_by("id")
        frontier = []
        for child in children:
            if await can_see(me, child):
                descendants.append(child)
                frontier.append(child.id)
    node = ctx(request)
    if me is not None and not status.local and (fetch_replies := node.extras.get("fetch_replies")):
        # As Mastodon 4.4: a signed-in user's view of a remote thread fetches the replies its server
        # lists that never reached us (in the background, at most once per cooldown).
        await fetch_replies(node, status)
    return web.json_response({"ancestors": await statuses_json(node, me, ancestors, context="thread"),
                              "descendants": await statuses_json(node, me, descendants, context="thread")})


@routes.post("/api/v1/statuses/{id}/favourite")
@scope("write:favourites")
async def favourite(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    await service.favourite(ctx(request), request["account"], status)
    return web.json_response(await status_json(ctx(request), request["account"], status))


@routes.post("/api/v1/statuses/{id}/unfavourite")
@scope("write:favourites")
async def unfavourite(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    await service.unfavourite(ctx(request), request["account"], status)
    return web.json_response(await status_json(ctx(request), request["account"], status))


@routes.post("/api/v1/statuses/{id}/reblog")
@scope("write:statuses")
async def reblog(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    p = await read_params(request)
    boost = await service.reblog(ctx(request), request["account"], status, p.str("visibility", "public") or "public")
    return web.json_response(await status_json(ctx(request), request["account"], boost))


@routes.post("/api/v1/statuses/{id}/unreblog")
@scope("write:statuses")
async def unreblog(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    await service.unreblog(ctx(request), request["account"], status)
    return web.json_response(await status_json(ctx(request), request["account"], status))


@routes.post("/api/v1/statuses/{id}/bookmark")
@scope("write:bookmarks")
async def bookmark(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    await service.bookmark(request["account"], status, True)
    return web.json_response(await status_json(ctx(request), request["account"], status))


@routes.post("/api/v1/statuses/{id}/unbookmark")
@scope("write:bookmarks")
async def unbookmark(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    await service.bookmark(request["account"], status, False)
    return web.json_response(await status_json(ctx(request), request["account"], status))


@routes.get("/api/v1/statuses/{id}/favourited_by")
@scope("read:statuses", optional=True)
async def favourited_by(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    p = await read_params(request)
    rows = await paginate(Favourite.filter(status_id=status.id).prefetch_related("account"), p, page_limit(request, p, 40))
    return paged_json(request, await accounts_many(ctx(request), [r.account for r in rows]), rows)


@routes.get("/api/v1/statuses/{id}/reblogged_by")
@scope("read:statuses", optional=True)
async def reblogged_by(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    p = await read_params(request)
    rows = await paginate(Status.filter(reblog_of_id=status.id, deleted_at=None).prefetch_related("account"), p,
                          page_limit(request, p, 40))
    return paged_json(request, await accounts_many(ctx(request), [r.account for r in rows]), rows)


@routes.get("/api/v1/statuses/{id}/remixes")
@scope("read:statuses", optional=True)
async def remixes(request: web.Request) -> web.Response:
    """Vitascope: the posts whose video was remixed from this one."""
    status = await visible_status(request, path_id(request))
    p = await read_params(request)
    items = await paginate(Status.filter(remix_of_id=status.id, deleted_at=None, visibility__in=["public", "unlisted"]),
                           p, page_limit(request, p))
    return paged_json(request, await statuses_json(ctx(request), viewer(request), items), items)


