"""Statuses: post (with Idempotency-Key), read, edit (history, source), delete, context, favourite, reblog,
bookmark."""

from __future__ import annotations

from aiohttp import web
from tortoise import connections

from node.api.common import ctx, page_limit, paged_json, paginate, path_id, viewer, visible_status
from node.auth import scope
from node.errors import not_found, unprocessable
from node.models import Favourite, Status
from node.params import Params, parse_id, read_params
from node.serializers import accounts_many, scheduled_status_json, status_edits_json, status_json, status_source_json, statuses_json
from node.services import scheduled_statuses as scheduled, statuses as service
from node.services.visibility import visible_ids

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
        raise not_found()
    data = await status_json(node, request["account"], status)
    await service.delete_status(node, request["account"], status.id)
    data["text"] = status.text
    return web.json_response(data)


_LIVE = "s.deleted_at IS NULL AND a.suspended_at IS NULL"
THREAD_UP = f"""WITH RECURSIVE t(id, parent, depth) AS (
    SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = {{id}}
    UNION ALL SELECT s.id, s.in_reply_to_id, t.depth + 1 FROM t JOIN statuses s ON s.id = t.parent
    JOIN accounts a ON a.id = s.account_id WHERE {_LIVE} AND t.depth < {{depth}}
) SELECT id, depth FROM t WHERE depth > 0"""
THREAD_DOWN = f"""WITH RECURSIVE t(id, depth) AS (
    SELECT id, 0 FROM statuses WHERE id = {{id}}
    UNION ALL SELECT s.id, t.depth + 1 FROM t JOIN statuses s ON s.in_reply_to_id = t.id
    JOIN accounts a ON a.id = s.account_id WHERE {_LIVE} AND t.depth < {{depth}}
) SELECT id, depth FROM t WHERE depth > 0 ORDER BY depth, id LIMIT 400"""


async def _thread(sql: str, status_id: int, depth: int) -> list[tuple[int, int]]:
    """(id, depth) of the posts above or below a status, in one recursive query (SQLite and
    PostgreSQL alike; the values are integers of ours, never text from a request)."""
    _, rows = await connections.get("default").execute_query(sql.format(id=int(status_id), depth=int(depth)))
    return [(int(r["id"]), int(r["depth"])) for r in rows]


@routes.get("/api/v1/statuses/{id}/context")
@scope("read:statuses", optional=True)
async def context(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    me = viewer(request)
    # Two recursive queries walk the thread (through posts neither deleted nor by a suspended
    # account), one batch of look-ups decides what the viewer may see: the same statements for a
    # thread of one reply or of a hundred.
    up = await _thread(THREAD_UP, status.id, 40)
    down = await _thread(THREAD_DOWN, status.id, 100)
    rows = {s.id: s for s in await Status.filter(id__in=[i for i, _ in up + down])}
    visible = await visible_ids(me, list(rows.values()))
    ancestors: list[Status] = []
    for sid, _ in sorted(up, key=lambda row: row[1]):  # nearest first; an unseen parent ends the walk
        if sid not in visible:
            break
        ancestors.insert(0, rows[sid])
    descendants: list[Status] = []
    shown = {status.id}
    for sid, _ in sorted(down, key=lambda row: (row[1], row[0])):  # level by level, as the thread grew
        child = rows[sid]
        if child.in_reply_to_id in shown and sid in visible and len(descendants) < 100:
            descendants.append(child)
            shown.add(sid)
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


