"""The federation state of one process: the instance actor's key and the one SafeFetcher (`start`),
kept on the node for every module that fetches or signs. What starts the background tasks of the web
process is node.activitypub.startup."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from federation.fetcher import SafeFetcher
from federation.signatures import sign_cavage
from node import __version__
from node.activitypub import blocked_domains
from node.context import Node
from provenance.keys import generate_rsa_private_pem, public_pem

log = logging.getLogger(__name__)

# Remote JSON documents (actors, notes, keys) are small; media has its own cap (federation.max_fetch_bytes).
MAX_DOCUMENT_BYTES = 1_000_000
# Set when a job of the delivery queue (deliveries, Web Pushes) could not be queued: the delivery
# sweeper (node.activitypub.delivery) then queues every due pending row as soon as Redis answers again.
sweep_now = asyncio.Event()


def sweep_soon() -> None:
    """A job of the delivery queue could not be queued: wake the sweeper (see `sweep_now`)."""
    sweep_now.set()


@dataclass
class Federation:
    node: Node
    fetcher: SafeFetcher
    instance_key_id: str
    instance_private_pem: str
    instance_public_pem: str
    inbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    last_inbox_post: float = 0.0  # time.monotonic() of the latest accepted POST

    def inbox_posted(self) -> None:
        self.last_inbox_post = time.monotonic()
        self.inbox_wakeup.set()


def federation(node: Node) -> Federation:
    return node.extras["federation"]


def instance_key(data_dir: Path) -> str:
    """The instance actor's RSA key, made on first start and kept under the data dir (mode 0600)."""
    return secret_file(data_dir / "federation" / "instance-actor.pem", generate_rsa_private_pem)


def secret_file(path: Path, make: Callable[[], str]) -> str:
    """The text of a node secret made on first use (mode 0600); a key another process wrote first wins."""
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(make())
    try:
        os.link(tmp, path)  # never replace a key another process wrote first
    except FileExistsError:
        pass
    tmp.unlink(missing_ok=True)
    return path.read_text()


def make_fetcher(node: Node, private_pem: str, key_id: str) -> SafeFetcher:
    """Every remote request goes through this; GETs are signed as the instance actor. Suspended
    domains are refused by name (node.activitypub.blocked_domains)."""

    def sign(method, url, headers, body):
        return sign_cavage(method, url, headers, body, key_id, private_pem)

    dev = node.config.dev_mode
    return SafeFetcher(allow_private=dev, allow_http=dev, max_bytes=MAX_DOCUMENT_BYTES,
                       timeout=node.config["federation.fetch_timeout_seconds"],
                       user_agent=f"Vitascope/{__version__} (+{node.urls.base})", sign=sign,
                       host_policy=blocked_domains.host_allowed)


async def start(node: Node) -> Federation:
    pem = await asyncio.to_thread(instance_key, node.config.data_dir)
    fetcher = make_fetcher(node, pem, node.urls.instance_actor_key)
    await fetcher.__aenter__()
    runtime = Federation(node=node, fetcher=fetcher, instance_key_id=node.urls.instance_actor_key,
                         instance_private_pem=pem, instance_public_pem=public_pem(pem))
    node.extras["federation"] = runtime
    return runtime
