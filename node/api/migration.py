"""Account migration through the API (a Vitascope extension; Mastodon offers it only in its settings
pages): aliases on the new account, then the move from the old one (node.services.migration).

    GET    /api/v1/vitascope/aliases                               [{"acct", "uri"}]
    POST   /api/v1/vitascope/aliases   {acct}                      {"acct", "uri"}
    DELETE /api/v1/vitascope/aliases   {acct}                      {}
    POST   /api/v1/vitascope/migration {acct, current_password}    the account, with `moved`
"""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx, viewer
from node.auth import scope
from node.errors import unprocessable
from node.params import read_params
from node.serializers import account_one, alias_json
from node.services import migration
from node.services.accounts import check_password

routes = web.RouteTableDef()

ACCT_MAX = 300
PASSWORD_MAX = 1024


@routes.get("/api/v1/vitascope/aliases")
@scope("read:accounts")
async def list_aliases(request: web.Request) -> web.Response:
    node = ctx(request)
    aliases = await migration.aliases(viewer(request))
    return web.json_response([alias_json(node, uri, known) for uri, known in aliases])


@routes.post("/api/v1/vitascope/aliases")
@scope("write:accounts")
async def add_alias(request: web.Request) -> web.Response:
    p = await read_params(request)
    acct = p.str("acct", required=True, max_len=ACCT_MAX)
    node = ctx(request)
    old = await migration.add_alias(node, viewer(request), acct)
    return web.json_response(alias_json(node, old.uri, old))


@routes.delete("/api/v1/vitascope/aliases")
@scope("write:accounts")
async def remove_alias(request: web.Request) -> web.Response:
    p = await read_params(request)
    await migration.remove_alias(ctx(request), viewer(request), p.str("acct", required=True, max_len=ACCT_MAX))
    return web.json_response({})


@routes.post("/api/v1/vitascope/migration")
@scope("write:accounts")
async def move_account(request: web.Request) -> web.Response:
    """Move this account to `acct`, which must list it as an alias (422 with the reason otherwise).

    As Mastodon's settings form, the user's `current_password` must be given, so a leaked token
    cannot move the account away; missing or wrong is a 422 (not 401, which clients read as a token
    that is no longer valid), checked before anything else."""
    node, me = ctx(request), viewer(request)
    p = await read_params(request)
    acct = p.str("acct", required=True, max_len=ACCT_MAX)
    password = p.str("current_password", max_len=PASSWORD_MAX)
    if not password:
        raise unprocessable("current_password is missing: moving an account needs its password")
    if not check_password(request["user"], password):
        raise unprocessable("current_password is invalid")
    await migration.migrate(node, me, acct)
    return web.json_response(await account_one(node, me))
