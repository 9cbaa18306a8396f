"""Parental controls API (docs/parental-controls.md): a teen's own controls, a guardian's wards, and
the link requests between them. Enforcement is not here but where statuses, feeds and generations
are handled (node.services.parental)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.api.common import ctx, path_id
from node.auth import scope
from node.models import ParentalControls
from node.params import Params, read_params
from node.serializers import controls_json, guardian_request_json
from node.services import parental

routes = web.RouteTableDef()


async def _controls(request: web.Request, controls: ParentalControls) -> dict[str, Any]:
    return await controls_json(ctx(request), controls, await parental.usage_today(controls))


def _values(p: Params) -> dict[str, Any]:
    """The controls given, typed: booleans as booleans whether sent as JSON or as a form."""
    values = {key: p.raw(key) for key in parental.CONTROLS if key in p}
    if "personalisation" in values:
        values["personalisation"] = p.bool("personalisation")
    return values


@routes.get("/api/v1/vitascope/parental_controls")
@scope("read:accounts")
async def my_controls(request: web.Request) -> web.Response:
    """My own controls: `{"teen": false}` for an account they do not apply to."""
    controls = await parental.controls_of(request["account"])
    if controls is None:
        return web.json_response({"teen": False})
    return web.json_response({"teen": True, **await _controls(request, controls)})


@routes.patch("/api/v1/vitascope/parental_controls")
@scope("write:accounts")
async def tighten_my_controls(request: web.Request) -> web.Response:
    controls = await parental.update_by_teen(request["account"], _values(await read_params(request)))
    return web.json_response({"teen": True, **await _controls(request, controls)})


@routes.get("/api/v1/vitascope/wards")
@scope("read:accounts")
async def list_wards(request: web.Request) -> web.Response:
    return web.json_response([await _controls(request, c) for c in await parental.wards(request["account"])])


@routes.get("/api/v1/vitascope/wards/{id}")
@scope("read:accounts")
async def get_ward(request: web.Request) -> web.Response:
    controls = await parental.ward_controls(request["account"], path_id(request))
    return web.json_response(await _controls(request, controls))


@routes.patch("/api/v1/vitascope/wards/{id}")
@scope("write:accounts")
async def update_ward(request: web.Request) -> web.Response:
    controls = await parental.update_by_guardian(request["account"], path_id(request),
                                                 _values(await read_params(request)))
    return web.json_response(await _controls(request, controls))


@routes.delete("/api/v1/vitascope/wards/{id}")
@scope("write:accounts")
async def unlink_ward(request: web.Request) -> web.Response:
    await parental.unlink(ctx(request), request["account"], path_id(request))
    return web.json_response({})


@routes.get("/api/v1/vitascope/guardian_requests")
@scope("read:accounts")
async def list_requests(request: web.Request) -> web.Response:
    rows = await parental.pending_requests(request["account"])
    return web.json_response([await guardian_request_json(ctx(request), request["account"], r) for r in rows])


@routes.post("/api/v1/vitascope/guardian_requests")
@scope("write:accounts")
async def create_request(request: web.Request) -> web.Response:
    p = await read_params(request)
    row = await parental.request_link(request["account"], teen_id=p.id("teen_id"), guardian_id=p.id("guardian_id"))
    return web.json_response(await guardian_request_json(ctx(request), request["account"], row))


@routes.post("/api/v1/vitascope/guardian_requests/{id}/accept")
@scope("write:accounts")
async def accept_request(request: web.Request) -> web.Response:
    controls = await parental.accept_request(ctx(request), request["account"], path_id(request))
    return web.json_response(await _controls(request, controls))


@routes.post("/api/v1/vitascope/guardian_requests/{id}/decline")
@scope("write:accounts")
async def decline_request(request: web.Request) -> web.Response:
    await parental.decline_request(request["account"], path_id(request))
    return web.json_response({})
