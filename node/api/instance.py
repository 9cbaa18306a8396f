"""Instance metadata (v1 and v2) as Mastodon 4.3 serves it."""

from __future__ import annotations

from aiohttp import web

from node import web_push
from node.activitypub import blocked_domains
from node.api.common import ctx
from node.models import Account, Status, User
from node.serializers import instance_v1_json, instance_v2_json

routes = web.RouteTableDef()


async def _counts() -> dict[str, int]:
    return {"user_count": await User.all().count(),
            "status_count": await Status.filter(local=True, deleted_at=None, reblog_of_id=None).count(),
            "domain_count": len(set(await Account.exclude(domain=None).values_list("domain", flat=True)))}


@routes.get("/api/v1/instance")
@routes.get("/api/v1/instance/")
async def instance_v1(request: web.Request) -> web.Response:
    node = ctx(request)
    return web.json_response(instance_v1_json(node, await _counts(), web_push.server_key(node)))


@routes.get("/api/v2/instance")
@routes.get("/api/v2/instance/")
async def instance_v2(request: web.Request) -> web.Response:
    node = ctx(request)
    return web.json_response(instance_v2_json(node, await _counts(), web_push.server_key(node)))


@routes.get("/api/v1/instance/peers")
async def peers(request: web.Request) -> web.Response:
    """Domains we know accounts of, less those under a domain block of any severity (as Mastodon;
    here a block covers subdomains too)."""
    known = set(await Account.exclude(domain=None).values_list("domain", flat=True))
    return web.json_response(sorted(d for d in known if blocked_domains.rule_for(d) is None))


@routes.get("/api/v1/instance/activity")
async def activity(request: web.Request) -> web.Response:
    return web.json_response([])


@routes.get("/api/v1/instance/rules")
async def rules(request: web.Request) -> web.Response:
    return web.json_response([])


@routes.get("/api/v1/custom_emojis")
async def custom_emojis(request: web.Request) -> web.Response:
    return web.json_response([])
