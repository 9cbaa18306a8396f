"""Live events: Mastodon's streaming API over WebSocket (/api/v1/streaming) and Server-Sent
Events (/api/v1/streaming/user etc., which Mastodon.py uses). Events travel through Redis
pub/sub, so any web process can serve any stream."""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import WSMsgType, web

from node.api.common import ctx
from node.auth import grants, load_token
from node.errors import ApiError

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PUBLIC_STREAMS = ("public", "public:local", "public:remote", "public:media", "public:local:media",
                  "public:remote:media", "hashtag", "hashtag:local")
USER_STREAMS = ("user", "user:notification")
HEARTBEAT_SECONDS = 15


def channels_for(request: web.Request, stream: str, tag: str | None) -> tuple[list[str], list[str]]:
    """(Redis channels, the `stream` array clients see) for one subscription."""
    token = request.get("token")
    if stream in USER_STREAMS:
        if token is None or request.get("account") is None:
            raise ApiError(401, "Missing access token")
        needed = "read:notifications" if stream == "user:notification" else "read:statuses"
        if not grants(token.scopes, needed):
            raise ApiError(403, "This action is outside the authorized scopes")
        account_id = request["account"].id
        channel = f"user:{account_id}" if stream == "user" else f"user:notification:{account_id}"
        return [f"vitascope:stream:{channel}"], [stream]
    if stream in ("hashtag", "hashtag:local"):
        if not tag:
            raise ApiError(400, "tag is required for hashtag streams")
        return [f"vitascope:stream:{stream}:{tag.lower()}"], [stream, tag]
    if stream in PUBLIC_STREAMS:
        base = stream.replace(":media", "")
        return [f"vitascope:stream:{base}"], [stream]
    raise ApiError(400, f"Unknown stream type {stream}")


@routes.get("/api/v1/streaming/health")
async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


@routes.get("/api/v1/streaming")
@routes.get("/api/v1/streaming/")
async def websocket(request: web.Request) -> web.StreamResponse:
    await load_token(request)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(400, "Use a WebSocket, or the Server-Sent Events endpoints under /api/v1/streaming/")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=64 * 1024)
    await ws.prepare(request)
    pubsub = ctx(request).redis.pubsub()
    names: dict[str, list[str]] = {}

    async def subscribe(stream: str, tag: str | None) -> None:
        try:
            channels, label = channels_for(request, stream, tag)
        except ApiError as exc:
            await ws.send_json({"error": exc.message, "status": exc.status})
            return
        for c in channels:
            names[c] = label
        await pubsub.subscribe(*channels)

    first = request.query.get("stream")
    if first:
        await subscribe(first, request.query.get("tag"))
    else:
        await pubsub.subscribe("vitascope:stream:__idle__")

    async def pump() -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            event = json.loads(message["data"])
            await ws.send_str(json.dumps({"stream": names.get(channel, []), **event}))

    pump_task = asyncio.create_task(pump())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                command = json.loads(msg.data)
            except json.JSONDecodeError:
                await ws.send_json({"error": "Malformed JSON", "status": 400})
                continue
            if not isinstance(command, dict):
                continue
            stream, tag = command.get("stream"), command.get("tag")
            if command.get("type") == "subscribe" and isinstance(stream, str):
                await subscribe(stream, tag if isinstance(tag, str) else None)
            elif command.get("type") == "unsubscribe" and isinstance(stream, str):
                try:
                    channels, _ = channels_for(request, stream, tag if isinstance(tag, str) else None)
                except ApiError:
                    continue
                await pubsub.unsubscribe(*channels)
    finally:
        pump_task.cancel()
        await asyncio.gather(pump_task, return_exceptions=True)
        await pubsub.aclose()
    return ws


async def _sse(request: web.Request, stream: str) -> web.StreamResponse:
    await load_token(request)
    channels, _ = channels_for(request, stream, request.query.get("tag"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(b":)\n\n")
    pubsub = ctx(request).redis.pubsub()
    await pubsub.subscribe(*channels)
    try:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT_SECONDS)
            if message is None:
                await response.write(b":thump\n\n")
                continue
            event = json.loads(message["data"])
            payload = event["payload"]
            await response.write(f"event: {event['event']}\ndata: {payload}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        await pubsub.aclose()
    return response


def _sse_route(path: str, stream: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _sse(request, stream)

    routes.get(path)(handler)


for _path, _stream in (("user", "user"), ("user/notification", "user:notification"), ("public", "public"),
                       ("public/local", "public:local"), ("public/remote", "public:remote"),
                       ("hashtag", "hashtag"), ("hashtag/local", "hashtag:local")):
    _sse_route(f"/api/v1/streaming/{_path}", _stream)
