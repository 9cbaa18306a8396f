"""Cameos: capture a verified likeness, decide who may use it, see and take down its uses.

    POST   /api/v1/vitascope/cameos/challenges          → a phrase to read in a person capture (single use)
    POST   /api/v1/vitascope/cameos                      → multipart: recording, kind, name, handle, challenge_id
    GET    /api/v1/vitascope/cameos                      → your cameos
    GET    /api/v1/vitascope/cameos/requests             → uses waiting for your approval
    GET    /api/v1/vitascope/cameos/search?q=             → cameos you may tag whose handle starts with q
    POST   /api/v1/vitascope/cameos/requests/:id/approve | /deny
    GET    /api/v1/vitascope/cameos/:id                  → one of yours
    PATCH  /api/v1/vitascope/cameos/:id                  → policy, allow, deny, restrictions, expires_at, name
    DELETE /api/v1/vitascope/cameos/:id                  → delete it (capture and reference sheet too)
    GET    /api/v1/vitascope/cameos/:id/uses             → "videos of me": every use, drafts included
    DELETE /api/v1/vitascope/cameos/:id/uses/:use_id     → take the video down (or stop the draft)
    POST   /api/v1/vitascope/cameos/:id/revoke           → account_id (one person) or all=true
    GET    /cameo_grants/:id                             → the signed grant; 410 once revoked
    GET    /api/v1/admin/vitascope/cameos                → moderators: captures by state (default needs_review)
    POST   /api/v1/admin/vitascope/cameos/:id/approve | /reject (reason)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from federation import documents
from node.api.common import ctx, path_id, require_admin
from node.auth import scope
from node.context import Node
from node.errors import not_found, unprocessable
from node.models import Cameo, CameoUse
from node.params import read_params
from node.serializers import cameo_json, challenge_json, uses_json
from node.services import cameo_decisions
from node.services import cameos as service

routes = web.RouteTableDef()
ACTIVITY_JSON = "application/activity+json"


async def _uses_json(node: Node, uses: list[CameoUse]) -> list[dict[str, Any]]:
    return uses_json(node, uses, await service.job_status_ids([u.job_id for u in uses]))


@routes.post("/api/v1/vitascope/cameos/challenges")
@scope("write:vitascope")
async def challenge(request: web.Request) -> web.Response:
    return web.json_response(challenge_json(await service.issue_challenge(ctx(request), request["account"])))


@routes.post("/api/v1/vitascope/cameos")
@scope("write:vitascope")
async def create(request: web.Request) -> web.Response:
    p = await read_params(request, allow_files=True)
    upload = p.files.get("recording")
    cameo = await service.create_cameo(
        ctx(request), request["account"], kind=p.str("kind", "person") or "", name=p.str("name", max_len=200) or "",
        handle=p.str("handle", max_len=100) or "", recording=upload.file.read() if upload is not None else b"",
        challenge_id=p.id("challenge_id"))
    return web.json_response(cameo_json(ctx(request), cameo), status=202)


@routes.get("/api/v1/vitascope/cameos")
@scope("read:vitascope")
async def index(request: web.Request) -> web.Response:
    mine = await Cameo.filter(account_id=request["account"].id).order_by("-id")
    return web.json_response([cameo_json(ctx(request), c) for c in mine])


@routes.get("/api/v1/vitascope/cameos/requests")
@scope("read:vitascope")
async def requests(request: web.Request) -> web.Response:
    return web.json_response(await _uses_json(ctx(request), await service.uses_of(request["account"], state="pending")))


@routes.get("/api/v1/vitascope/cameos/search")
@scope("read:vitascope")
async def search(request: web.Request) -> web.Response:
    """Autocomplete for `@handle` tags: only what a tag would reveal (no policy, no lists)."""
    p = await read_params(request)
    found = await service.taggable(ctx(request), request["account"], p.str("q", "", max_len=100) or "")
    return web.json_response([
        {"id": str(c.id), "handle": c.handle, "name": c.name, "kind": c.kind, "needs_approval": ask,
         "owner": {"id": str(c.account.id), "acct": c.account.acct()}} for c, ask in found])


@routes.post(r"/api/v1/vitascope/cameos/requests/{id:\d+}/{answer:approve|deny}")
@scope("write:vitascope")
async def answer(request: web.Request) -> web.Response:
    use = await cameo_decisions.answer_request(ctx(request), request["account"], path_id(request),
                                               approve=request.match_info["answer"] == "approve")
    return web.json_response((await _uses_json(ctx(request), [use]))[0])


@routes.get(r"/api/v1/vitascope/cameos/{id:\d+}")
@scope("read:vitascope")
async def show(request: web.Request) -> web.Response:
    return web.json_response(cameo_json(ctx(request), await service.own_cameo(request["account"], path_id(request))))


@routes.patch(r"/api/v1/vitascope/cameos/{id:\d+}")
@scope("write:vitascope")
async def update(request: web.Request) -> web.Response:
    p = await read_params(request)
    expires: Any = "keep"
    if "expires_at" in p:
        raw = p.str("expires_at")
        try:
            expires = datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None
        except ValueError:
            raise unprocessable("expires_at must be an ISO 8601 time") from None
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
    cameo = await service.update_policy(
        ctx(request), request["account"], path_id(request), policy=p.str("policy"),
        allow=p.list("allow") if "allow" in p or "allow[]" in p else None,
        deny=p.list("deny") if "deny" in p or "deny[]" in p else None,
        restrictions=p.str("restrictions", max_len=4000), expires_at=expires, name=p.str("name", max_len=200))
    return web.json_response(cameo_json(ctx(request), cameo))


@routes.delete(r"/api/v1/vitascope/cameos/{id:\d+}")
@scope("write:vitascope")
async def destroy(request: web.Request) -> web.Response:
    await service.delete_cameo(ctx(request), request["account"], path_id(request))
    return web.json_response({})


@routes.get(r"/api/v1/vitascope/cameos/{id:\d+}/uses")
@scope("read:vitascope")
async def uses(request: web.Request) -> web.Response:
    cameo = await service.own_cameo(request["account"], path_id(request))
    return web.json_response(await _uses_json(ctx(request), await service.uses_of(request["account"], cameo.id)))


@routes.delete(r"/api/v1/vitascope/cameos/{id:\d+}/uses/{use_id:\d+}")
@scope("write:vitascope")
async def take_down(request: web.Request) -> web.Response:
    await service.own_cameo(request["account"], path_id(request))
    await cameo_decisions.take_down(ctx(request), request["account"], path_id(request, "use_id"))
    return web.json_response({})


@routes.post(r"/api/v1/vitascope/cameos/{id:\d+}/revoke")
@scope("write:vitascope")
async def revoke(request: web.Request) -> web.Response:
    p = await read_params(request)
    account_id = p.id("account_id")
    if account_id is None and not p.bool("all", False):
        raise unprocessable("give account_id, or all=true to revoke everyone")
    count = await service.revoke(ctx(request), request["account"], path_id(request), account_id)
    return web.json_response({"revoked": count})


@routes.get(r"/cameo_grants/{id:\d+}")
async def grant(request: web.Request) -> web.Response:
    """The grant at its id, signed by its owner, for any node or verifier to dereference; a
    Tombstone (410) once revoked or its cameo deleted."""
    code, ended, body = await service.hosted_grant(path_id(request))
    if code == 410:
        tombstone = documents.tombstone(ctx(request).urls.cameo_grant(path_id(request)), "CameoAuthorization", ended)
        return web.json_response(tombstone, status=410, content_type=ACTIVITY_JSON)
    if body is None:
        raise not_found()
    return web.json_response(body, content_type=ACTIVITY_JSON)


@routes.get("/api/v1/admin/vitascope/cameos")
@scope("admin:read")
async def admin_index(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    found = await Cameo.filter(state=p.str("state", "needs_review")).order_by("id").prefetch_related("account")
    return web.json_response([{**cameo_json(ctx(request), c), "evidence": c.evidence, "account_id": str(c.account_id),
                               "challenge_phrase": c.challenge_phrase} for c in found])


@routes.post(r"/api/v1/admin/vitascope/cameos/{id:\d+}/{decision:approve|reject}")
@scope("admin:write")
async def admin_review(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    cameo = await service.review(ctx(request), path_id(request), approve=request.match_info["decision"] == "approve",
                                 reason=p.str("reason", max_len=1000))
    return web.json_response(cameo_json(ctx(request), cameo))
