"""Web Push subscriptions (Mastodon's /api/v1/push/subscription): one per access token."""

from __future__ import annotations

from aiohttp import web

from node import web_push
from node.api.common import ctx
from node.auth import scope
from node.errors import not_found, unprocessable
from node.models import WebPushSubscription
from node.params import Params, read_params
from node.serializers import subscription_json
from node.services import push as push_service

routes = web.RouteTableDef()


def _data(p: Params) -> tuple[dict[str, bool], str]:
    """`data[alerts]` and `data[policy]`; a top-level `policy` too, which Mastodon.py sends."""
    data = dict(p.dict("data"))
    if "policy" not in data and isinstance(p.raw("policy"), str):
        data["policy"] = p.raw("policy")
    cleaned = push_service.clean_data(data)
    if isinstance(cleaned, str):
        raise unprocessable(cleaned)
    return cleaned


def _key(keys: dict, name: str) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or not value:
        raise unprocessable(f"subscription[keys][{name}] is required")
    if not (web_push.valid_p256dh(value) if name == "p256dh" else len(web_push.b64decode(value) or b"") == 16):
        raise unprocessable(f"subscription[keys][{name}] is not a valid key")
    return value


async def _own(request: web.Request) -> WebPushSubscription:
    sub = await WebPushSubscription.get_or_none(token_id=request["token"].id)
    if sub is None:
        raise not_found()
    return sub


@routes.post("/api/v1/push/subscription")
@scope("push")
async def create(request: web.Request) -> web.Response:
    p = await read_params(request)
    given = p.dict("subscription")
    endpoint = given.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise unprocessable("subscription[endpoint] is required")
    if len(endpoint) > 2048:
        raise unprocessable("subscription[endpoint] is too long")
    if refusal := await web_push.endpoint_refusal(ctx(request), endpoint):
        raise unprocessable(f"subscription[endpoint] is not allowed: {refusal}")
    keys = given.get("keys")
    if not isinstance(keys, dict):
        raise unprocessable("subscription[keys] is required")
    p256dh, auth = _key(keys, "p256dh"), _key(keys, "auth")
    standard = Params({"standard": given.get("standard")}).bool("standard", False)
    alerts, policy = _data(p)
    sub = await push_service.subscribe(request["token"], endpoint=endpoint, p256dh=p256dh, auth=auth,
                                       standard=bool(standard), alerts=alerts, policy=policy)
    return web.json_response(subscription_json(sub, web_push.server_key(ctx(request))))


@routes.get("/api/v1/push/subscription")
@scope("push")
async def show(request: web.Request) -> web.Response:
    return web.json_response(subscription_json(await _own(request), web_push.server_key(ctx(request))))


@routes.put("/api/v1/push/subscription")
@scope("push")
async def update(request: web.Request) -> web.Response:
    sub = await _own(request)
    alerts, policy = _data(await read_params(request))
    sub = await push_service.update(sub, alerts=alerts, policy=policy)
    return web.json_response(subscription_json(sub, web_push.server_key(ctx(request))))


@routes.delete("/api/v1/push/subscription")
@scope("push")
async def destroy(request: web.Request) -> web.Response:
    await push_service.unsubscribe(request["token"])
    return web.json_response({})

