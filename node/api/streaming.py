"""Live events: Mastodon's streaming API over WebSocket (/api/v1/streaming) and Server-Sent
Events (/api/v1/streaming/user etc., which Mastodon.py uses). Events travel through Redis
pub/sub, so any web process can serve any stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSMsgType, web
from redis.asyncio.client import PubSub

from federation.jsonparse import JSONRefused, parse_json
from node import redis_keys
from node.api.common import ctx
from node.api.lists import list_query
from node.api.timelines import home_statuses, public_query, tag_query
from node.auth import grants, load_token, websocket_protocol_token
from node.errors import ApiError
from node.models import Account, Status, UserList
from node.params import parse_id
from node.serializers import ActiveFilters, apply_filters, status_ids_of
from node.services.parental import ration_feed
from node.supervise import REDIS_LOST, supervise

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PUBLIC_STREAMS = ("public", "public:local", "public:remote", "public:media", "public:local:media",
                  "public:remote:media", "hashtag", "hashtag:local")
USER_STREAMS = ("user", "user:notification", "direct", "list")
HEARTBEAT_SECONDS = 15


def _require(request: web.Request, scope: str) -> int:
    """The signed-in account's id, with the scope its token needs for a private stream."""
    token = request.get("token")
    if token is None or request.get("account") is None:
        raise ApiError(401, "Missing access token")
    if not grants(token.scopes, scope):
        raise ApiError(403, "This action is outside the authorized scopes")
    return request["account"].id


async def channels_for(request: web.Request, stream: str, params: dict[str, str]) -> tuple[list[str], list[str]]:
    """(Redis channels, the `stream` array clients see) for one subscription. `params`: `tag` for
    hashtag streams, `list` (an id of the viewer's own list) for list streams."""
    if stream in USER_STREAMS:
        account_id = _require(request, "read:notifications" if stream == "user:notification" else "read:statuses")
        if stream == "list":
            list_id = params.get("list")
            try:
                owned = list_id is not None and await UserList.filter(id=parse_id(list_id), account_id=account_id).exists()
            except ApiError:
                owned = False
            if not owned:
                raise ApiError(404, "Not authorized to stream this list")
            return [redis_keys.stream(f"list:{list_id}")], [stream, str(list_id)]
        channel = {"user": f"user:{account_id}", "user:notification": f"user:notification:{account_id}",
                   "direct": f"direct:{account_id}"}[stream]
        return [redis_keys.stream(channel)], [stream]
    tag = params.get("tag")
    if stream in ("hashtag", "hashtag:local"):
        if not tag:
            raise ApiError(400, "tag is required for hashtag streams")
        return [redis_keys.stream(f"{stream}:{tag.lower()}")], [stream, tag]
    if stream in PUBLIC_STREAMS:
        base = stream.replace(":media", "")
        return [redis_keys.stream(base)], [stream]
    raise ApiError(400, f"Unknown stream type {stream}")


def _params(source) -> dict[str, str]:
    """`tag` and `list` of a query string or a subscribe message (list ids may come as numbers)."""
    out = {}
    for key in ("tag", "list"):
        value = source.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            out[key] = str(value)
    return out


async def timeline_of(account: Account | None, label: list[str]):
    """The query of the timeline a stream shows (home, a list, public or hashtag, with the same
    flags), or None for streams of other events (notifications, conversations)."""
    stream = label[0]
    if stream == "user":
        return home_statuses(account)
    if stream == "list":
        lst = await UserList.get_or_none(id=int(label[1]), account_id=account.id)
        return await list_query(lst) if lst is not None else Status.filter(id__in=[])  # deleted since
    flags = {"local": ":local" in stream, "remote": ":remote" in stream, "only_media": stream.endswith(":media")}
    if stream.startswith("hashtag"):
        return tag_query(account, [label[1].lower()], **flags)
    if stream.startswith("public"):
        return public_query(account, **flags)
    return None


async def for_subscriber(request: web.Request, label: list[str], event: dict) -> dict | None:
    """The event as this subscriber gets it. A status (rendered once for all) is sent only if the
    timeline page the stream shows would list it for this viewer — the same query, narrowed to its
    id, so blocks, mutes, boosts and mentions of hidden accounts, list membership and media-only
    flags are decided once for pages and streams. It then gets the viewer's FilterResults, and none
    is sent that a `hide` filter removes, nor a new video beyond a teen's daily limit (sent, it
    counts as served). Deletions (an id) and notifications (rendered for their
    recipient already) pass as they are."""
    if event.get("event") not in ("update", "status.update") or not label:
        return event
    account = request.get("account")
    status = json.loads(event["payload"])
    query = await timeline_of(account, label)
    if query is not None and not await query.filter(id=int(status["id"])).exists():
        return None
    if account is None:
        return event
    context = "public" if label[0].startswith(("public", "hashtag")) else "home"
    kept = apply_filters(await ActiveFilters.load(account.id, status_ids_of([status])), [status], context, account.id)
    if not kept:
        return None
    if event["event"] == "update" and query is not None:
        shared = status.get("reblog") or {}
        row = Status(id=int(status["id"]), reblog_of_id=int(shared["id"]) if shared.get("id") else None)
        served, _ = await ration_feed(account, [row])
        if not served:
            return None
    return {**event, "payload": json.dumps(kept[0])}


@routes.get("/api/v1/streaming/health")
async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


@routes.get("/api/v1/streaming")
@routes.get("/api/v1/streaming/")
async def websocket(request: web.Request) -> web.StreamResponse:
    await load_token(request)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(400, "Use a WebSocket, or the Server-Sent Events endpoints under /api/v1/streaming/")
    # A token sent as the subprotocol is echoed back as the one chosen, as Mastodon's server does:
    # browsers (and masto.js) drop a socket whose server chose none.
    protocol = websocket_protocol_token(request)
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=64 * 1024,
                               protocols=(protocol,) if protocol else ())
    redis = ctx(request).redis
    names: dict[str, list[str]] = {}  # the client's subscriptions: Redis channel -> its `stream` array
    live: list[PubSub] = [redis.pubsub()]  # the current subscription (none while Redis is being reached again)

    async def subscribe(stream: str, params: dict[str, str]) -> None:
        try:
            channels, label = await channels_for(request, stream, params)
        except ApiError as exc:
            await ws.send_json({"error": exc.message, "status": exc.status})
            return
        for c in channels:
            names[c] = label
        if live:
            with contextlib.suppress(*REDIS_LOST):  # the pump subscribes to `names` again on reconnecting
                await live[0].subscribe(*channels)

    async def pump() -> None:
        """Forward the subscribed channels. The first run reads the subscription made before the
        handshake; when Redis is lost, `supervise` runs it again and it subscribes to `names` on a fresh
        connection. The idle channel keeps the subscription open while the client has none."""
        fresh = not live
        if fresh:
            live.append(redis.pubsub())  # before subscribing: what the client adds meanwhile is sent too
        pubsub = live[0]
        try:
            if fresh:
                await pubsub.subscribe(redis_keys.STREAM_IDLE, *names)
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                label = names.get(message["channel"].decode(), [])
                event = await for_subscriber(request, label, json.loads(message["data"]))
                if event is not None:
                    await ws.send_str(json.dumps({"stream": label, **event}))
        finally:
            live.clear()
            await pubsub.aclose()

    pump_task = None
    try:
        # The stream named in the query is subscribed before the handshake completes, so a client that
        # sees the socket open gets every later event of it.
        first, refused = request.query.get("stream"), None
        channels: list[str] = []
        if first:
            try:
                channels, label = await channels_for(request, first, _params(request.query))
            except ApiError as exc:
                refused = exc
            else:
                names.update({c: label for c in channels})
        await live[0].subscribe(redis_keys.STREAM_IDLE, *channels)
        await ws.prepare(request)
        if refused is not None:
            await ws.send_json({"error": refused.message, "status": refused.status})

        pump_task = asyncio.create_task(supervise("a streaming WebSocket", pump, restart_on=REDIS_LOST))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                command = parse_json(msg.data)
            except JSONRefused:  # deep nesting and huge integers too, not only syntax
                await ws.send_json({"error": "Malformed JSON", "status": 400})
                continue
            if not isinstance(command, dict):
                continue
            stream = command.get("stream")
            if command.get("type") == "subscribe" and isinstance(stream, str):
                await subscribe(stream, _params(command))
            elif command.get("type") == "unsubscribe" and isinstance(stream, str):
                try:
                    channels, _ = await channels_for(request, stream, _params(command))
                except ApiError:
                    continue
                for c in channels:
                    names.pop(c, None)
                if live:
                    with contextlib.suppress(*REDIS_LOST):
                        await live[0].unsubscribe(*channels)
    finally:
        if pump_task is not None:
            pump_task.cancel()
            await asyncio.gather(pump_task, return_exceptions=True)
        for pubsub in live:  # the pump never ran
            await pubsub.aclose()
    return ws


async def _sse(request: web.Request, stream: str) -> web.StreamResponse:
    await load_token(request)
    channels, label = await channels_for(request, stream, _params(request.query))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    redis = ctx(request).redis

    async def pump() -> None:
        """Subscribe, send the first comment (`:)`) once Redis confirms (from then on the client misses
        nothing), then forward events. Run again by `supervise`, on a fresh connection, when Redis is
        lost; the response starts only once the first subscription holds."""
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(*channels)
            for _ in channels:  # Redis confirms each channel: from then on, the subscription is in effect
                await pubsub.get_message(timeout=HEARTBEAT_SECONDS)
            if not response.prepared:
                await response.prepare(request)
            await response.write(b":)\n\n")
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT_SECONDS)
                if message is None:
                    await response.write(b":thump\n\n")
                    continue
                event = await for_subscriber(request, label, json.loads(message["data"]))
                if event is None:
                    continue
                payload = event["payload"]
                await response.write(f"event: {event['event']}\ndata: {payload}\n\n".encode())
        finally:
            await pubsub.aclose()

    try:
        await supervise(f"a {stream} event stream", pump, restart_on=REDIS_LOST)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


def _sse_route(path: str, stream: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _sse(request, stream)

    routes.get(path)(handler)


for _path, _stream in (("user", "user"), ("user/notification", "user:notification"), ("public", "public"),
                       ("public/local", "public:local"), ("public/remote", "public:remote"),
                       ("hashtag", "hashtag"), ("hashtag/local", "hashtag:local"), ("list", "list"),
                       ("direct", "direct")):
    _sse_route(f"/api/v1/streaming/{_path}", _stream)
