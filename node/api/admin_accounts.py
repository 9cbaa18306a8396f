"""Accounts as admins see and act on them, as Mastodon 4.x's admin API (REST::Admin::Account).

    GET  /api/v1/admin/accounts               local, remote, by_domain, active, pending, disabled, silenced,
                                              suspended, sensitized, username, display_name, email, ip, staff
    GET  /api/v2/admin/accounts               origin, status, permissions, username, display_name, by_domain,
                                              email, ip
    GET  /api/v1/admin/accounts/:id
    POST /api/v1/admin/accounts/:id/action    type (none|sensitive|disable|silence|suspend), text, report_id,
                                              send_email_notification
    POST /api/v1/admin/accounts/:id/unsuspend | unsilence | unsensitive | enable

Lists run newest first with `limit` (100, at most 200), `max_id`, `since_id`, `min_id` and Link pages.
v1 shows active local accounts unless its flags say otherwise; v2 shows every account its filters
allow. As Mastodon, `username`, `display_name` and `email` match from the start, case-insensitively,
and an unknown origin, status or permissions is a 400. This node records no sign-in addresses, so
`ip` matches no account. Every route needs its admin scope (admin:read:accounts /
admin:write:accounts, or admin:read / admin:write) and an admin user (403 otherwise).
"""

from __future__ import annotations

from aiohttp import web
from tortoise.queryset import QuerySet

from node.serializers import admin_accounts
from node.api.common import ctx, get_or_404, paged_json, paginate, path_id, require_admin
from node.auth import scope
from node.errors import ApiError, forbidden, not_found
from node.models import Account, Report, User
from node.params import Params, read_params
from node.services import account_moderation

routes = web.RouteTableDef()

LIMIT = 100
ORIGINS = ("local", "remote")
# Mastodon's AccountFilter statuses; v1 takes each as a flag of its own.
STATUSES = ("active", "pending", "disabled", "silenced", "suspended", "sensitized")
PERMISSIONS = ("staff",)
_TEXT_FILTERS = ("username", "display_name", "by_domain", "email", "ip")


def _choice(p: Params, name: str, allowed: tuple[str, ...]) -> str | None:
    value = p.str(name, max_len=64) or None
    if value is not None and value not in allowed:
        raise ApiError(400, f"Unknown {name}: {value}")  # Mastodon::InvalidParameterError
    return value


def _filtered(*, origin: str | None, status: str | None, permissions: str | None, p: Params) -> QuerySet:
    """Mastodon's AccountFilter."""
    query = Account.all()
    if origin is not None:
        query = query.filter(domain__isnull=origin == "local")
    if status == "active":
        query = query.filter(suspended_at__isnull=True)
    elif status == "pending":
        query = query.filter(user__approved=False)
    elif status == "disabled":
        query = query.filter(user__disabled=True, suspended_at__isnull=True)
    elif status in ("silenced", "suspended", "sensitized"):
        query = query.filter(**{f"{status}_at__not_isnull": True})
    if permissions == "staff":
        query = query.filter(user__admin=True)
    text = {name: (p.str(name, max_len=255) or "").strip() for name in _TEXT_FILTERS}
    if text["username"]:
        query = query.filter(username__istartswith=text["username"])
    if text["display_name"]:
        query = query.filter(display_name__istartswith=text["display_name"])
    if text["by_domain"]:
        query = query.filter(domain=text["by_domain"].lower())
    if text["email"]:
        query = query.filter(user__email__istartswith=text["email"])
    if text["ip"]:
        query = query.filter(id__in=[])  # no sign-in addresses are recorded here
    return query


async def _listing(request: web.Request, p: Params, query: QuerySet) -> web.Response:
    rows = await paginate(query, p, p.int("limit", LIMIT, minimum=1, maximum=2 * LIMIT, clamp=True))
    rendered = await admin_accounts(ctx(request), rows)
    return paged_json(request, [rendered[a.id] for a in rows], rows)


@routes.get("/api/v1/admin/accounts")
@scope("admin:read:accounts")
async def list_accounts_v1(request: web.Request) -> web.Response:
    """Flags as Mastodon's v1 translates them: `remote` over the default local origin, the last of
    the status flags given over the default `active`; `staff` for admins."""
    require_admin(request)
    p = await read_params(request)
    origin = "remote" if p.bool("remote", False) else "local"
    p.bool("local", False)  # the default origin; still checked to be a boolean
    status = "active"
    for name in STATUSES:
        if p.bool(name, False):
            status = name
    permissions = "staff" if p.bool("staff", False) else None
    return await _listing(request, p, _filtered(origin=origin, status=status, permissions=permissions, p=p))


@routes.get("/api/v2/admin/accounts")
@scope("admin:read:accounts")
async def list_accounts_v2(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    query = _filtered(origin=_choice(p, "origin", ORIGINS), status=_choice(p, "status", STATUSES),
                      permissions=_choice(p, "permissions", PERMISSIONS), p=p)
    return await _listing(request, p, query)


async def _account_response(request: web.Request, account: Account) -> web.Response:
    return web.json_response((await admin_accounts(ctx(request), [account]))[account.id])


@routes.get("/api/v1/admin/accounts/{id}")
@scope("admin:read:accounts")
async def show_account(request: web.Request) -> web.Response:
    require_admin(request)
    return await _account_response(request, await get_or_404(Account, id=path_id(request)))


@routes.post("/api/v1/admin/accounts/{id}/action")
@scope("admin:write:accounts")
async def account_action(request: web.Request) -> web.Response:
    """Mastodon's Admin::AccountAction; the strike it leaves is told to a local account unless
    `send_email_notification` is false. There are no warning presets here: any preset id is unknown."""
    admin = require_admin(request)
    target = await get_or_404(Account, id=path_id(request))
    if await User.filter(account_id=target.id, admin=True).exists():
        raise forbidden("Administrators cannot be moderated through the API")
    p = await read_params(request)
    report = None
    if (report_id := p.id("report_id")) is not None:
        report = await get_or_404(Report, id=report_id)
    if p.id("warning_preset_id") is not None:
        raise not_found()
    await account_moderation.take_action(ctx(request), admin, target, p.str("type", "none", max_len=16) or "none",
                                         text=p.str("text", "", max_len=account_moderation.TEXT_LIMIT) or "",
                                         report=report, notify=p.bool("send_email_notification", True))
    return web.json_response({})


@routes.post(r"/api/v1/admin/accounts/{id}/{undo:unsuspend|unsilence|unsensitive|enable}")
@scope("admin:write:accounts")
async def undo_action(request: web.Request) -> web.Response:
    require_admin(request)
    target = await get_or_404(Account, id=path_id(request))
    undo = request.match_info["undo"]
    if undo == "enable" and target.domain is not None:
        raise forbidden("Only local accounts can be enabled")
    return await _account_response(request, await account_moderation.lift(ctx(request), target, undo))
