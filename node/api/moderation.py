"""Federation moderation for admins, as Mastodon 4.x's admin API: domain blocks and account actions;
and the public list of blocked domains.

    GET    /api/v1/admin/domain_blocks            newest first; limit (≤ 500), max_id, since_id, min_id; Link pages
    POST   /api/v1/admin/domain_blocks            domain, severity (silence|suspend|noop), reject_media,
                                                  reject_reports, private_comment, public_comment, obfuscate
    GET    /api/v1/admin/domain_blocks/:id
    PUT    /api/v1/admin/domain_blocks/:id        the same fields but domain
    DELETE /api/v1/admin/domain_blocks/:id
    GET    /api/v1/admin/accounts/:id
    POST   /api/v1/admin/accounts/:id/action      type (none|sensitive|disable|silence|suspend), text, report_id
    POST   /api/v1/admin/accounts/:id/unsuspend | unsilence | unsensitive | enable
    GET    /api/v1/instance/domain_blocks         public: domain (obfuscated if asked), digest, severity, comment

Admin routes need their admin scope (admin:read / admin:write, or the :domain_blocks / :accounts
ones) and an admin user (403 otherwise). Mastodon.py sends the list and create with a trailing
slash; both forms are served.
"""

from __future__ import annotations

from aiohttp import web

from node.api.admin import admin_accounts
from node.api.common import ctx, get_or_404, paged_json, paginate, path_id, require_admin
from node.auth import scope
from node.errors import ApiError, forbidden
from node.models import Account, DomainBlock, Report, User
from node.params import Params, read_params
from node.services import account_moderation, domain_blocks

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
    return paged_json(request, [domain_blocks.admin_json(b) for b in rows], rows)


@routes.post("/api/v1/admin/domain_blocks")
@routes.post("/api/v1/admin/domain_blocks/")
@scope("admin:write:domain_blocks")
async def create_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    block = await domain_blocks.create(ctx(request), p.str("domain", required=True, max_len=300) or "", **_changes(p))
    return web.json_response(domain_blocks.admin_json(block))


@routes.get("/api/v1/admin/domain_blocks/{id}")
@scope("admin:read:domain_blocks")
async def show_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    return web.json_response(domain_blocks.admin_json(await _block(request)))


@routes.put("/api/v1/admin/domain_blocks/{id}")
@scope("admin:write:domain_blocks")
async def update_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    block = await _block(request)
    changes = _changes(await read_params(request))
    return web.json_response(domain_blocks.admin_json(await domain_blocks.update(ctx(request), block, **changes)))


@routes.delete("/api/v1/admin/domain_blocks/{id}")
@scope("admin:write:domain_blocks")
async def delete_domain_block(request: web.Request) -> web.Response:
    require_admin(request)
    await domain_blocks.remove(ctx(request), await _block(request))
    return web.json_response({})


@routes.get("/api/v1/instance/domain_blocks")
async def public_domain_blocks(request: web.Request) -> web.Response:
    """Suspended and silenced domains (Mastodon's with_user_facing_limitations), silence first."""
    rows = await DomainBlock.filter(severity__in=["silence", "suspend"]).order_by("domain")
    rows.sort(key=lambda b: b.severity == "suspend")
    return web.json_response([domain_blocks.public_json(b) for b in rows],
                             headers={"Cache-Control": "public, max-age=180"})


# --------------------------------------------------------------------------- accounts


async def _account(request: web.Request) -> Account:
    account = await Account.get_or_none(id=path_id(request))
    if account is None:
        raise ApiError(404, "Record not found")
    return account


async def _admin_account_response(request: web.Request, account: Account) -> web.Response:
    return web.json_response((await admin_accounts(ctx(request), [account]))[account.id])


@routes.get("/api/v1/admin/accounts/{id}")
@scope("admin:read:accounts")
async def show_account(request: web.Request) -> web.Response:
    require_admin(request)
    return await _admin_account_response(request, await _account(request))


@routes.post("/api/v1/admin/accounts/{id}/action")
@scope("admin:write:accounts")
async def account_action(request: web.Request) -> web.Response:
    admin = require_admin(request)
    target = await _account(request)
    if await User.filter(account_id=target.id, admin=True).exists():
        raise forbidden("Administrators cannot be moderated through the API")
    p = await read_params(request)
    report = None
    if (report_id := p.id("report_id")) is not None:
        report = await Report.get_or_none(id=report_id)
        if report is None:
            raise ApiError(404, "Record not found")
    await account_moderation.take_action(ctx(request), admin, target, p.str("type", "none", max_len=16) or "none",
                                         text=p.str("text", "", max_len=account_moderation.TEXT_LIMIT) or "",
                                         report=report)
    return web.json_response({})


@routes.post(r"/api/v1/admin/accounts/{id}/{undo:unsuspend|unsilence|unsensitive|enable}")
@scope("admin:write:accounts")
async def undo_action(request: web.Request) -> web.Response:
    require_admin(request)
    target = await _account(request)
    undo = request.match_info["undo"]
    if undo == "enable" and target.domain is not None:
        raise forbidden("Only local accounts can be enabled")
    return await _admin_account_response(request, await account_moderation.lift(target, undo))
