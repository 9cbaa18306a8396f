"""Domain blocks for admins, as Mastodon 4.x's admin API, and the public list of blocked domains
(account actions: node.api.admin_accounts).

    GET    /api/v1/admin/domain_blocks            newest first; limit (≤ 500), max_id, since_id, min_id; Link pages
    POST   /api/v1/admin/domain_blocks            domain, severity (silence|suspend|noop), reject_media,
                                                  reject_reports, private_comment, public_comment, obfuscate
    GET    /api/v1/admin/domain_blocks/:id
    PUT    /api/v1/admin/domain_blocks/:id        the same fields but domain
    DELETE /api/v1/admin/domain_blocks/:id
    GET    /api/v1/instance/domain_blocks         domain (obfuscated if asked), digest, severity, comment;
                                                  to whom moderation.show_domain_blocks(_rationale) say

Admin routes need their admin scope (admin:read / admin:write, or the :domain_blocks ones) and an
admin user (403 otherwise). Mastodon.py sends the list and create with a trailing slash; both forms
are served.
"""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, get_or_404, paged_json, paginate, path_id, require_admin
from node.auth import scope
from node.models import DomainBlock
from node.params import Params, read_params
from node.serializers import domain_block_json, public_domain_block_json
from node.services import domain_blocks

routes = web.RouteTableDef()

_FLAGS = ("reject_media", "reject_reports", "obfuscate")
_COMMENTS = ("private_comment", "public_comment")


def _changes(p: Params) -> dict:
    """The block fields a request gives (absent ones are left as they are)."""
    changes = {}
    if "severity" in p:
        changes["severity"] = p.str("severity", max_len=16) or ""
    for name in _FLAGS:
        if name in p:
            changes[name] = bool(p.bool(name))
    for name in _COMMENTS:
        if name in p:
            changes[name] = p.str(name, max_len=domain_blocks.COMMENT_LIMIT) or None
    return changes


async def _block(request: web.Request) -> DomainBlock:
    return await get_or_404(DomainBlock, id=path_id(request))


# --------------------------------------------------------------------------- domain blocks


@routes.get("/api/v1/admin/domain_blocks")
@routes.get("/api/v1/admin/domain_blocks/")
@scope("admin:read:domain_blocks")
async def list_domain_blocks(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    limit = p.int("limit", 100, minimum=1, maximum=500, clamp=True)
    rows = await paginate(DomainBlock.all(), p, limit)
    return paged_json(request, [domain_block_json(b) for b in rows], rows)


@routes.post("/api/v1/admin/domain_blocks")
@routes.post("/api/v1/admin/domain_blocks/")
@scope("admin:write:domain_blocks")
async def create_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    block = await domain_blocks.create(ctx(request), p.str("domain", required=True, max_len=300) or "", **_changes(p))
    return web.json_response(domain_block_json(block))


@routes.get("/api/v1/admin/domain_blocks/{id}")
@scope("admin:read:domain_blocks")
async def show_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    return web.json_response(domain_block_json(await _block(request)))


@routes.put("/api/v1/admin/domain_blocks/{id}")
@scope("admin:write:domain_blocks")
async def update_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    block = await _block(request)
    changes = _changes(await read_params(request))
    return web.json_response(domain_block_json(await domain_blocks.update(ctx(request), block, **changes)))


@routes.delete("/api/v1/admin/domain_blocks/{id}")
@scope("admin:write:domain_blocks")
async def delete_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    await domain_blocks.remove(ctx(request), await _block(request))
    return web.json_response({})


@routes.get("/api/v1/instance/domain_blocks")
@scope(None, optional=True)
async def public_domain_blocks(request: web.Request) -> web.Response:
    """Suspended and silenced domains (Mastodon's with_user_facing_limitations), silence first, to
    whom `moderation.show_domain_blocks` says (Mastodon answers anyone else a bare 404), with their
    public comment where `moderation.show_domain_blocks_rationale` allows it (null otherwise)."""
    config = ctx(request).config
    signed_in = request.get("user") is not None
    show, rationale = config["moderation.show_domain_blocks"], config["moderation.show_domain_blocks_rationale"]
    if not (show == "all" or (show == "users" and signed_in)):
        return web.Response(status=404)
    with_comment = rationale == "all" or (rationale == "users" and signed_in)
    rows = await DomainBlock.filter(severity__in=["silence", "suspend"]).order_by("domain")
    rows.sort(key=lambda b: b.severity == "suspend")
    # Cached publicly only when every viewer gets the same answer.
    same_for_all = show == "all" and rationale != "users"
    return web.json_response([public_domain_block_json(b, with_comment=with_comment) for b in rows],
                             headers={"Cache-Control": "public, max-age=180" if same_for_all else "private, no-store"})
