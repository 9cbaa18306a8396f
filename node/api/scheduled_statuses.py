"""Scheduled statuses: list, show, reschedule and cancel (`POST /api/v1/statuses` with `scheduled_at`
makes them)."""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, get_or_404, page_limit, paged_json, paginate, path_id
from node.auth import scope
from node.models import ScheduledStatus
from node.params import read_params
from node.serializers import scheduled_status_json
from node.services import scheduled_statuses as service

routes = web.RouteTableDef()


@routes.get("/api/v1/scheduled_statuses")
@scope("read:statuses")
async def index(request: web.Request) -> web.Response:
    p = await read_params(request)
    rows = await paginate(ScheduledStatus.filter(account_id=request["account"].id, claimed_at=None), p,
                          page_limit(request, p))
    return paged_json(request, [await scheduled_status_json(ctx(request), r) for r in rows], rows)


@routes.get("/api/v1/scheduled_statuses/{id}")
@scope("read:statuses")
async def show(request: web.Request) -> web.Response:
    row = await get_or_404(ScheduledStatus, id=path_id(request), account_id=request["account"].id, claimed_at=None)
    return web.json_response(await scheduled_status_json(ctx(request), row))


@routes.put("/api/v1/scheduled_statuses/{id}")
@scope("write:statuses")
async def update(request: web.Request) -> web.Response:
    p = await read_params(request)
    when = service.parse_time(p.str("scheduled_at", required=True, max_len=64) or "")
    row = await service.reschedule(ctx(request), request["account"], path_id(request), when)
    return web.json_response(await scheduled_status_json(ctx(request), row))


@routes.delete("/api/v1/scheduled_statuses/{id}")
@scope("write:statuses")
async def cancel(request: web.Request) -> web.Response:
    await service.cancel(request["account"], path_id(request))
    return web.json_response({})
