"""The web process: builds the aiohttp application and wires storage, Redis and the routes.

Never imports torch, diffusers or the `generation` package (import-linter checks it).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from aiohttp import web
from arq import create_pool

from node import db
from node import redis_keys
from node.config import Config
from node.context import Node
from node.errors import ApiError, error_response, not_found, unprocessable
from node.logs import Throttled
from node.params import is_upload_path
from node.redis_server import arq_settings, client as redis_client, embedded_for
from node.services import surface
from node.supervise import REDIS_LOST
from node.media.access import node_urls
from provenance.certificates import NodeIdentity

log = logging.getLogger(__name__)
_rate_limits_off = Throttled(log)
# The rate limit's Redis commands give up this soon: with Redis away, requests are let through
# unlimited rather than held (or failed).
RATE_LIMIT_REDIS_TIMEOUT_S = 0.5
# A request's count in its window, one command (a script runs whole): the first of the window
# gives the key its expiry, which outlives the window (the key names its window).
RATE_LIMIT_COUNT = """local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n"""
RATE_LIMIT_KEY_TTL_S = 61

# Route modules, each with its own `routes` table. Order matters only for overlapping paths.
ROUTE_MODULES = [
    "node.api.oauth",
    "node.api.instance",
    "node.api.discovery",
    "node.api.accounts",
    "node.api.statuses",
    "node.api.scheduled_statuses",
    "node.api.timelines",
    "node.api.lists",
    "node.api.filters",
    "node.api.conversations",
    "node.api.for_you",
    "node.api.notification_groups",
    "node.api.notifications",
    "node.api.media",
    "node.api.search",
    "node.api.markers",
    "node.api.push",
    "node.api.streaming",
    "node.api.provenance",
    "node.api.generations",
    "node.api.cameos",
    "node.api.generation_admin",
    "node.api.parental",
    "node.api.reports",
    "node.api.admin",
    "node.api.moderation",
    "node.api.admin_accounts",
    "node.api.warnings",
    "node.api.migration",
    "node.web.pages",
    "node.web.media",
    "node.activitypub.routes",
    "node.activitypub.cameos",
]
# Modules with `setup(app, node)` that add listeners or background tasks (federation, generation…).
PLUGIN_MODULES: list[str] = ["node.activitypub.blocked_domains", "node.generation.collector", "node.generation.workers",
                              "node.activitypub.startup", "node.scheduled_publisher", "node.activitypub.cameos",
                              "node.pruner"]



CORS_PATHS = ("/api/", "/oauth/token", "/oauth/revoke", "/oauth/userinfo", "/.well-known/", "/nodeinfo")
CORS_PREFLIGHT_PATHS = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo")
RATE_LIMITED_PATHS = ("/api/", "/oauth/")


@web.middleware
async def request_policies(request: web.Request, handler):
    """What every request goes through: CORS, errors in Mastodon's shape, body size and rate limits.

    One middleware rather than one per policy: each layer costs every request a coroutine, which
    shows in the inbox's throughput (about 4 µs of 150 per POST for four layers).
    """
    path = request.path
    if request.method == "OPTIONS" and path.startswith(CORS_PREFLIGHT_PATHS):
        response: web.StreamResponse = web.Response(status=204)
    else:
        try:
            _check_target(request)
            upload = _limit_body(request, path)
            if upload:
                response = await _one_of_the_uploads(request, handler)
            elif path.startswith(RATE_LIMITED_PATHS):
                response = await _rate_limited(request, handler)
            else:
                response = await handler(request)
        except Exception as exc:
            response = error_response(request, exc)
    if path.startswith(CORS_PATHS):  # Mastodon's API is usable from browser clients on other origins
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Expose-Headers"] = "Link, X-RateLimit-Limit, X-RateLimit-Remaining"
    return response


# Longer than any username, tag, id or media file name we make: such a path names nothing.
MAX_PATH_PART_CHARS = 512


def _check_target(request: web.Request) -> None:
    """404 for a path whose variable parts (`{id}`, `{username}`…) no row can hold: over-long, or
    with a NUL (`%00`, which PostgreSQL refuses); 422 for a NUL in the query string, which some
    routes read without `read_params` (OAuth's authorize page, `access_token`, WebFinger). Ids are
    checked by `node.ids.parse` where read; a query cannot carry a lone surrogate (invalid UTF-8
    is decoded to U+FFFD)."""
    for value in request.match_info.values():
        if len(value) > MAX_PATH_PART_CHARS or "\x00" in value:
            raise not_found()
    if "%00" in request.rel_url.raw_query_string:
        raise unprocessable("the query string contains a NUL character")


def _limit_body(request: web.Request, path: str) -> bool:
    """Small bodies everywhere except uploads; Content-Length and streamed bodies both capped.
    True for an upload (a body on an upload route)."""
    config = request.app["config"]
    upload = is_upload_path(path)
    limit = config["limits.max_upload_bytes"] if upload else config["limits.max_body_bytes"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"Request body is too large (limit {limit} bytes)", close=True)
    request._client_max_size = limit  # aiohttp enforces it while reading chunked bodies
    return upload and request.body_exists


async def _one_of_the_uploads(request: web.Request, handler) -> web.StreamResponse:
    """At most limits.max_concurrent_uploads uploads at once; more are told to retry (429), not queued,
    so slow uploaders cannot pile up held connections (each is bounded by the body timeouts)."""
    slots: asyncio.Semaphore = request.app["upload_slots"]
    if slots.locked():
        raise ApiError(429, "Too many uploads at once; try again shortly", headers={"Retry-After": "10"}, close=True)
    async with slots:
        return await _rate_limited(request, handler)


async def _rate_limited(request: web.Request, handler) -> web.StreamResponse:
    """Fixed one-minute windows in Redis, per token or per client address. Fails open: while Redis is
    away the request goes through unlimited (a warning a minute says so), rather than every API
    request failing; what truly needs Redis answers 503 (node.errors)."""
    node: Node = request.app["node"]
    who = request.headers.get("Authorization") or request.remote or "unknown"
    window = int(time.time() // 60)
    key = redis_keys.rate_limit(hashlib.sha256(who.encode()).hexdigest()[:24], window)
    try:  # the whole wait bounded, a queue for the connection included
        async with asyncio.timeout(RATE_LIMIT_REDIS_TIMEOUT_S):
            count = await request.app["rate_limit_count"](keys=[key], args=[RATE_LIMIT_KEY_TTL_S])
    except (*REDIS_LOST, TimeoutError) as exc:
        _rate_limits_off.warning("Redis is unreachable: requests are not rate limited meanwhile (%s)", exc)
        return await handler(request)
    limit = node.config["limits.rate_limit_per_minute"]
    if count > limit:
        raise ApiError(429, "Too many requests", headers={"Retry-After": str(60 - int(time.time()) % 60),
                                                         "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"})
    response = await handler(request)
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(max(0, limit - count))
    return response


async def start_services(config: Config, *, migrate: bool = True) -> tuple[Node, object | None]:
    """Connect storage and Redis (starting the embedded Redis if needed); run migrations (unless the
    parent of several web processes has, once for all of them)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.media_dir.mkdir(parents=True, exist_ok=True)
    embedded = None
    redis_url = config.redis_url
    if config.embedded_redis:
        embedded = embedded_for(config.data_dir)
        await embedded.start()
        redis_url = embedded.url
    if migrate:
        await db.migrate(config.database_url)
    await db.connect(config.database_url)
    node = Node(config=config, urls=node_urls(config), redis=redis_client(redis_url))
    surface.register(node)
    node.extras["redis_url"] = redis_url
    node.extras["started_at"] = datetime.now(timezone.utc)
    node.extras["identity"] = await asyncio.to_thread(load_identity, config)
    node.arq = await create_pool(arq_settings(redis_url))
    return node, embedded


def load_identity(config: Config):
    """The node's C2PA signing identity: configured by the admin, or made on first start."""
    chain, key = config["provenance.signing_chain"], config["provenance.signing_key"]
    if chain and key:
        return NodeIdentity.from_files(Path(chain), Path(key))
    identity = NodeIdentity.load_or_create(config.data_dir / "identity", config.domain)
    if identity.needs_rotation():
        identity.rotate_leaf()
    return identity


def _statement_header(run):
    """`database.count_statements`: the X-Vitascope-Statements header (tests, benchmarks)."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        response, count = await run(lambda: handler(request))
        if not response.prepared:  # a stream (SSE, WebSocket) has sent its headers already
            response.headers["X-Vitascope-Statements"] = str(count)
        return response

    return middleware


def _process_header(index: int):
    """X-Vitascope-Process: which of several web processes answered (admins, tests, benchmarks); on
    response_prepare, so that streams carry it too."""
    name = str(index)

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Vitascope-Process"] = name

    return on_prepare


def create_app(config: Config, process: int | None = None) -> web.Application:
    """The app of one web process: ``process`` is its index when `vitascope serve` runs several
    (server.processes), None when it is the only one. Once-per-node background work runs in
    process 0 only."""
    middlewares = [request_policies]
    if config["database.count_statements"]:
        middlewares.insert(0, _statement_header(db.count_statements()))
    app = web.Application(middlewares=middlewares,
                          client_max_size=config["limits.max_upload_bytes"])
    app["config"] = config
    app["process"] = process or 0
    if process is not None:
        app.on_response_prepare.append(_process_header(process))
    app["upload_slots"] = asyncio.Semaphore(config["limits.max_concurrent_uploads"])
    for name in ROUTE_MODULES:
        app.router.add_routes(importlib.import_module(name).routes)
    config.media_dir.mkdir(parents=True, exist_ok=True)
    app.router.add_static("/static", Path(__file__).parent / "web" / "static", name="static")

    async def startup(app: web.Application) -> None:
        node, embedded = await start_services(config, migrate=process is None)
        app["node"], app["embedded_redis"] = node, embedded
        app["rate_limit_redis"] = redis_client(node.extras["redis_url"], timeout=RATE_LIMIT_REDIS_TIMEOUT_S,
                                               single=True)
        app["rate_limit_count"] = app["rate_limit_redis"].register_script(RATE_LIMIT_COUNT)
        app["background"] = []
        for name in PLUGIN_MODULES:
            await importlib.import_module(name).setup(app, node)
        log.info("Vitascope node ready at %s", config.base_url)

    async def cleanup(app: web.Application) -> None:
        for task in app.get("background", []):
            task.cancel()
        await asyncio.gather(*app.get("background", []), return_exceptions=True)
        node: Node | None = app.get("node")
        if node is not None:
            if node.arq is not None:
                await node.arq.aclose()
            await node.redis.aclose()
            await node.store.close()
        if app.get("rate_limit_redis") is not None:
            await app["rate_limit_redis"].aclose()
        await db.close()
        if app.get("embedded_redis") is not None:
            await app["embedded_redis"].stop()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app
