"""Account migration through the API (a Vitascope extension; Mastodon offers it only in its settings
pages): aliases on the new account, then the move from the old one (node.services.migration).

    GET    /api/v1/vitascope/aliases             [{"acct", "uri"}]
    POST   /api/v1/vitascope/aliases   {acct}    {"acct", "uri"}
    DELETE /api/v1/vitascope/aliases   {acct}    {}
    POST   /api/v1/vitascope/migration {acct}    the account, with `moved`
"""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, viewer
from node.auth import scope
from node.params import read_params
from node.serializers import account_one
from node.services import migration

routes = web.RouteTableDef()

ACCT_MAX = 300


@routes.get("/api/v1/vitascope/aliases")
@scope("read:accounts")
async def list_aliases(request: web.Request) -> web.Response:
    return web.json_response(await migration.aliases(ctx(request), viewer(request)))


@routes.post("/api/v1/vitascope/aliases")
@scope("write:accounts")
async def add_alias(request: web.Request) -> web.Response:
    p = await read_params(request)
    acct = p.str("acct", required=True, max_len=ACCT_MAX)
    return web.json_response(await migration.add_alias(ctx(request), viewer(request), acct))


@routes.delete("/api/v1/vitascope/aliases")
@scope("write:accounts")
async def remove_alias(request: web.Request) -> web.Response:
    p = await read_params(request)
    await migration.remove_alias(ctx(request), viewer(request), p.str("acct", required=True, max_len=ACCT_MAX))
    return web.json_response({})


@routes.post("/api/v1/vitascope/migration")
@scope("write:accounts")
async def move_account(request: web.Request) -> web.Response:
    """Move this account to `acct`, which must list it as an alias (422 with the reason otherwise)."""
    node, me = ctx(request), viewer(request)
    p = await read_params(request)
    await migration.migrate(node, me, p.str("acct", required=True, max_len=ACCT_MAX))
    return web.json_response(await account_one(node, me))
