"""Moderation for admins: reports (Mastodon 4.x admin API) and, as a Vitascope extension, the
received activities that failed or were ignored.

    GET  /api/v1/admin/reports                 resolved, unresolved, account_id, target_account_id; Link pages
    GET  /api/v1/admin/reports/:id
    POST /api/v1/admin/reports/:id/resolve | reopen | assign_to_self | unassign
    GET  /api/v1/admin/vitascope/inbox         state (default: error and ignored); Link pages

Every route needs its admin scope and an admin user (403 otherwise).
"""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, get_or_404, page_limit, paged_json, paginate, path_id, require_admin, viewer
from node.auth import scope
from node.models import Report
from node.params import read_params
from node.serializers import admin_reports_json, inbox_item_json
from node.services import inbox_items
from node.services import reports as service

routes = web.RouteTableDef()


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
    return paged_json(request, [inbox_item_json(i) for i in rows], rows)
