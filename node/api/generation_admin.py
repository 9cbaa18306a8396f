"""Admin API for generation: the copyright opt-out registry, refused prompts, credits.

    GET/POST /api/v1/admin/vitascope/copyright_opt_outs, DELETE .../:id
    GET      /api/v1/admin/vitascope/prompt_refusals
    POST     /api/v1/admin/vitascope/accounts/:id/credits   (amount; negative takes back)
"""

from __future__ import annotations

from aiohttp import web

from node.api.common import page_limit, paged_json, paginate, path_id, require_admin
from node.auth import scope
from node.errors import ApiError, not_found
from node.models import CopyrightOptOut, PromptRefusal, User
from node.params import read_params
from node.serializers import iso, opt_out_json
from node.services import generation as service

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/vitascope/copyright_opt_outs")
@scope("admin:read")
async def list_opt_outs(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    rows = await paginate(CopyrightOptOut.all(), p, page_limit(request, p, 40))
    return paged_json(request, [opt_out_json(r) for r in rows], rows)


@routes.post("/api/v1/admin/vitascope/copyright_opt_outs")
@scope("admin:write")
async def add_opt_out(request: web.Request) -> web.Response:
    admin = require_admin(request)
    p = await read_params(request)
    entry = await service.add_opt_out(p.str("holder", required=True, max_len=255) or "", p.list("terms"),
                                      note=p.str("note", "", max_len=5000) or "", created_by=admin)
    return web.json_response(opt_out_json(entry))


@routes.delete("/api/v1/admin/vitascope/copyright_opt_outs/{id}")
@scope("admin:write")
async def remove_opt_out(request: web.Request) -> web.Response:
    require_admin(request)
    await service.remove_opt_out(path_id(request))
    return web.json_response({})


@routes.get("/api/v1/admin/vitascope/prompt_refusals")
@scope("admin:read")
async def refusals(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    rows = await paginate(PromptRefusal.all().prefetch_related("account"), p, page_limit(request, p, 40))
    return paged_json(request, [{"id": str(r.id), "account": {"id": str(r.account.id), "acct": r.account.acct()},
                                 "prompt": r.prompt, "rule": r.rule, "reason": r.reason,
                                 "created_at": iso(r.created_at)} for r in rows], rows)


@routes.post("/api/v1/admin/vitascope/accounts/{id}/credits")
@scope("admin:write")
async def grant_credits(request: web.Request) -> web.Response:
    require_admin(request)
    user = await User.get_or_none(account_id=path_id(request))
    if user is None:
        raise not_found()
    p = await read_params(request)
    amount = p.int("amount", None, minimum=-1_000_000, maximum=1_000_000)
    if amount is None:
        raise ApiError(422, "Validation failed: amount is missing")
    return web.json_response({"account_id": str(user.account_id), "credits": await service.grant_credits(user, amount)})
