"""The running node: settings and connections shared by handlers, services and jobs."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Awaitable

import redis.asyncio as aioredis

from node import redis_keys
from node.media.store import LocalStore, S3Settings, S3Store, Store
from node.config import Config
from node.logs import Throttled
from node.supervise import REDIS_LOST
from node.urls import Urls

_streams_lost = Throttled(logging.getLogger(__name__))


@dataclass
class Node:
    config: Config
    urls: Urls
    redis: aioredis.Redis
    arq: Any = None  # arq.ArqRedis once connected
    # Side effects of writes (what users see: node.services.surface; federation delivery, generation
    # follow-ups) register here; services emit typed events after their transaction commits.
    listeners: dict[str, list[tuple[Callable[..., Awaitable[None]], bool]]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    store: Store | None = None  # where media files live; made from [storage] when not given

    def __post_init__(self) -> None:
        if self.store is None:
            self.store = media_store(self.config)

    def on(self, event: str, listener: Callable[..., Awaitable[None]], *, details: bool = False) -> None:
        """Call ``listener(node, **payload)`` on each ``event``, in the order listeners registered;
        with ``details``, the event's details too (what only some listeners need, such as who a new
        status mentions)."""
        self.listeners.setdefault(event, []).append((listener, details))

    async def emit(self, event: str, *, details: dict[str, Any] | None = None, **payload: Any) -> None:
        """Run the event's listeners one after the other; what they raise reaches the caller."""
        for listener, wants_details in self.listeners.get(event, []):
            await listener(self, **payload, **((details or {}) if wants_details else {}))

    async def stream(self, streams: list[str], event: str, payload: Any) -> None:
        """Publish a Mastodon streaming event to every web process (Redis pub/sub).

        With Redis away the event is dropped, not the write that made it: nobody is subscribed then
        (streams subscribe again once it is back, and events are live only, never replayed)."""
        body = payload if isinstance(payload, str) else json.dumps(payload)
        message = json.dumps({"event": event, "payload": body})
        try:
            for name in streams:
                await self.redis.publish(redis_keys.stream(name), message)
        except REDIS_LOST as exc:
            _streams_lost.warning("Redis is unreachable: streaming events dropped meanwhile (%s)", exc)

    async def listened(self, streams: list[str]) -> list[str]:
        """The streams someone is subscribed to right now, in any web process (one Redis round trip).

        Publishing to the others would reach nobody; a client that subscribes in the same instant may
        miss the event either way. None while Redis is away (as `stream`)."""
        if not streams:
            return []
        channels = [redis_keys.stream(name) for name in streams]
        try:
            counts = await self.redis.pubsub_numsub(*channels)
        except REDIS_LOST:  # Redis away: nobody is subscribed through it
            return []
        return [name for name, (_channel, count) in zip(streams, counts) if count]


def media_store(config: Config) -> Store:
    """The media store [storage] configures: media_dir itself, or an S3-compatible bucket."""
    if config["storage.backend"] == "local":
        return LocalStore(config.media_dir)
    return S3Store(s3_settings(config))


def s3_settings(config: Config) -> S3Settings:
    s = config.raw["storage"]
    return S3Settings(endpoint=s["s3_endpoint"], bucket=s["s3_bucket"], region=s["s3_region"],
                      access_key_id=s["s3_access_key_id"], secret_access_key=s["s3_secret_access_key"],
                      path_style=s["s3_path_style"], public_base_url=s["s3_public_base_url"])
