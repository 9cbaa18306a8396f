"""Timeline read markers, shared by a user's clients."""

from __future__ import annotations

from aiohttp import web

from node import ids
from node.auth import scope
from node.errors import unprocessable
from node.models import Marker
from node.params import read_params
from node.serializers import marker_json

routes = web.RouteTableDef()
TIMELINES = ("home", "notifications")


@routes.get("/api/v1/markers")
@scope("read:statuses")
async def get_markers(request: web.Request) -> web.Response:
    p = await read_params(request)
    wanted = [t for t in p.list("timeline") if t in TIMELINES] or list(TIMELINES)
    rows = await Marker.filter(user=request["user"], timeline__in=wanted)
    return web.json_response({m.timeline: marker_json(m) for m in rows})


@routes.post("/api/v1/markers")
@scope("write:statuses")
async def set_markers(request: web.Request) -> web.Response:
    p = await read_params(request)
    out = {}
    for timeline in TIMELINES:
        value = p.dict(timeline)
        if not value:
            continue
        if (last := ids.parse(value.get("last_read_id"))) is None:
            raise unprocessable(f"{timeline}[last_read_id] must be an id")
        marker, created = await Marker.get_or_create(user=request["user"], timeline=timeline,
                                                     defaults={"last_read_id": str(last)})
        if not created:
            marker.last_read_id = str(last)
            marker.version += 1
            await marker.save()
        out[timeline] = marker_json(marker)
    return web.json_response(out)
