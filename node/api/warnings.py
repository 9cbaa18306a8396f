"""Strikes (Mastodon's AccountWarning entity) through a Vitascope extension: Mastodon tells a user of
a strike with a `moderation_warning` notification and shows strikes only in its web pages, so clients
have no list to call; these routes are that list.

    GET /api/v1/vitascope/warnings             the user's own strikes, newest first; Link pages
    GET /api/v1/vitascope/warnings/:id         one of them
    GET /api/v1/admin/vitascope/warnings       everyone's (account_id: the target's), with who acted
                                               (`account`) and `report_id`; Link pages

The user's routes need `read:accounts`; the admin's `admin:read:accounts` and an admin user.
"""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, get_or_404, page_limit, paged_json, paginate, path_id, require_admin, viewer
from node.auth import scope
from node.models import AccountWarning
from node.params import read_params
from node.serializers import warnings_json

routes = web.RouteTableDef()


@routes.get("/api/v1/vitascope/warnings")
@scope("read:accounts")
async def own_warnings(request: web.Request) -> web.Response:
    p = await read_params(request)
    rows = await paginate(AccountWarning.filter(target_account_id=viewer(request).id), p, page_limit(request, p))
    return paged_json(request, await warnings_json(ctx(request), rows), rows)


@routes.get("/api/v1/vitascope/warnings/{id}")
@scope("read:accounts")
async def own_warning(request: web.Request) -> web.Response:
    warning = await get_or_404(AccountWarning, id=path_id(request), target_account_id=viewer(request).id)
    return web.json_response((await warnings_json(ctx(request), [warning]))[0])


@routes.get("/api/v1/admin/vitascope/warnings")
@scope("admin:read:accounts")
async def all_warnings(request: web.Request) -> web.Response:
    require_admin(request)
    p = await read_params(request)
    query = AccountWarning.all()
    if (account_id := p.id("account_id")) is not None:
        query = query.filter(target_account_id=account_id)
    rows = await paginate(query, p, page_limit(request, p, 40))
    return paged_json(request, await warnings_json(ctx(request), rows, for_admin=True), rows)
