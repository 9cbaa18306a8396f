"""Moderation for admins: reports (Mastodon 4.x admin API) and, as a Vitascope extension, the
received activities that failed or were ignored.

    GET  /api/v1/admin/reports                 resolved, unresolved, account_id, target_account_id; Link pages
    GET  /api/v1/admin/reports/:id
    POST /api/v1/admin/reports/:id/resolve | reopen | assign_to_self | unassign
    GET  /api/v1/admin/vitascope/inbox         state (default: error and ignored); Link pages

Every route needs its admin scope and an admin user (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.api.common import ctx, get_or_404, page_limit, paged_json, paginate, path_id, require_admin, viewer
from node.auth import scope
from node.context import Node
from node.models import Account, Report, Status, User
from node.params import read_params
from node.serializers import account_counts, account_json, iso, statuses_json
from node.services import inbox_items
from node.services import reports as service

routes = web.RouteTableDef()


# --------------------------------------------------------------------------- rendering


def _role(user: User | None) -> dict[str, Any] | None:
    """The user's role as Mastodon 4.x shows it (the same as in verify_credentials); None for remote accounts."""
    if user is None:
        return None
    return {"id": "3" if user.admin else "-99", "name": "Admin" if user.admin else "",
            "permissions": "1" if user.admin else "0", "color": "", "highlighted": user.admin}


async def admin_accounts(node: Node, accounts: list[Account]) -> dict[int, dict[str, Any]]:
    """Mastodon's REST::Admin::AccountSerializer for each account, by id, in grouped queries."""
    unique = {a.id: a for a in accounts}
    users = {u.account_id: u for u in await User.filter(account_id__in=list(unique))}
    counts = await account_counts(unique.values())
    out = {}
    for account_id, account in unique.items():
        user = users.get(account_id)
        out[account_id] = {
            "id": str(account.id),
            "username": account.username,
            "domain": account.domain,
            "created_at": iso(account.created_at),
            "email": user.email if user else None,
            "ip": None,
            "ips": [],
            "role": _role(user),
            "confirmed": user is not None,
            "suspended": account.suspended_at is not None,
            "silenced": account.silenced_at is not None,
            "sensitized": account.sensitized_at is not None,
            "disabled": bool(user and user.disabled),
            "approved": bool(user and user.approved),
            "locale": user.locale if user else None,
            "invite_request": None,
            "account": account_json(node, account, counts[account_id]),
        }
    return out


async def admin_reports_json(node: Node, admin: Account, reports: list[Report]) -> list[dict[str, Any]]:
    """Mastodon's REST::Admin::ReportSerializer for a page of reports."""
    account_ids = {i for r in reports for i in (r.account_id, r.target_account_id, r.assigned_account_id,
                                                  r.action_taken_by_account_id) if i is not None}
    accounts = await admin_accounts(node, list(await Account.filter(id__in=list(account_ids))))
    status_ids = {i for r in reports for i in r.status_ids}
    statuses = list(await Status.filter(id__in=list(status_ids))) if status_ids else []
    rendered = {int(s["id"]): s for s in await statuses_json(node, admin, statuses)}
    return [{
        "id": str(r.id),
        "action_taken": r.action_taken_at is not None,
        "action_taken_at": iso(r.action_taken_at),
        "category": r.category,
        "comment": r.comment,
        "forwarded": r.forwarded,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "account": accounts[r.account_id],
        "target_account": accounts[r.target_account_id],
        "assigned_account": accounts.get(r.assigned_account_id) if r.assigned_account_id else None,
        "action_taken_by_account": accounts.get(r.action_taken_by_account_id) if r.action_taken_by_account_id else None,
        "statuses": [rendered[i] for i in r.status_ids if i in rendered],
        "rules": [],
    } for r in reports]


async def _one(request: web.Request, report: Report) -> web.Response:
    return web.json_response((await admin_reports_json(ctx(request), viewer(request), [report]))[0])


async def _report(request: web.Request) -> Report:
    return await get_or_404(Report, id=path_id(request))


# --------------------------------------------------------------------------- reports


@routes.get("/api/v1/admin/reports")
@scope("admin:read:reports")
async def list_reports(request: web.Request) -> web.Response:
    """Unresolved by default; `resolved=true` the resolved ones; both flags: all (Mastodon's ReportFilter)."""
    admin = require_admin(request)
    p = await read_params(request)
    resolved, unresolved = p.bool("resolved", False), p.bool("unresolved", False)
    query = Report.all()
    if resolved and not unresolved:
        query = query.filter(action_taken_at__not_isnull=True)
    elif not resolved:
        query = query.filter(action_taken_at__isnull=True)
    if (account_id := p.id("account_id")) is not None:
        query = query.filter(account_id=account_id)
    if (target_id := p.id("target_account_id")) is not None:
        query = query.filter(target_account_id=target_id)
    rows = await paginate(query, p, page_limit(request, p, 100))
    return paged_json(request, await admin_reports_json(ctx(request), admin, rows), rows)


@routes.get("/api/v1/admin/reports/{id}")
@scope("admin:read:reports")
async def show_report(request: web.Request) -> web.Response:
    require_admin(request)
    return await _one(request, await _report(request))


@routes.post("/api/v1/admin/reports/{id}/resolve")
@scope("admin:write:reports")
async def resolve_report(request: web.Request) -> web.Response:
    admin = require_admin(request)
    return await _one(request, await service.resolve(await _report(request), admin))


@routes.post("/api/v1/admin/reports/{id}/reopen")
@scope("admin:write:reports")
async def reopen_report(request: web.Request) -> web.Response:
    require_admin(request)
    return await _one(request, await service.reopen(await _report(request)))


@routes.post("/api/v1/admin/reports/{id}/assign_to_self")
@scope("admin:write:reports")
async def assign_report(request: web.Request) -> web.Response:
    admin = require_admin(request)
    return await _one(request, await service.assign(await _report(request), admin))


@routes.post("/api/v1/admin/reports/{id}/unassign")
@scope("admin:write:reports")
async def unassign_report(request: web.Request) -> web.Response:
    require_admin(request)
    return await _one(request, await service.assign(await _report(request), None))


# --------------------------------------------------------------------------- inbox (Vitascope extension)


@routes.get("/api/v1/admin/vitascope/inbox")
@scope("admin:read")
async def list_inbox(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    rows = await paginate(inbox_items.query(p.str("state", max_len=16)), p, page_limit(request, p, 40))
    return paged_json(request, [inbox_items.item_json(i) for i in rows], rows)
