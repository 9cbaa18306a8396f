"""The domain blocks every federation path consults, held in memory.

The inbox and signed GETs (before a signature is verified), the safe fetcher (every GET and POST), delivery, media
ingestion and the inbox processor ask here on each request, so a query per request is out of the
question. Each process loads the blocks at start and again whenever any process changes them
(node.services.domain_blocks publishes on redis_keys.DOMAIN_BLOCKS_CHANNEL), with a periodic reload in case a message was
missed. A block covers its domain with any port, and its subdomains; a block naming a port
(``host:port``) covers that port only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from federation.documents import origin
from node import redis_keys
from node import supervise
from node.context import Node
from node.models import DomainBlock

log = logging.getLogger(__name__)

RELOAD_SECONDS = 60
# keyId="…" (draft-cavage Signature / Authorization) and keyid="…" (RFC 9421 Signature-Input).
_KEY_ID = re.compile(r'keyid="([^"]*)"', re.IGNORECASE)
_SIGNATURE_HEADERS = ("Signature", "Signature-Input", "Authorization")


@dataclass(frozen=True)
class Rule:
    domain: str
    severity: str
    reject_media: bool
    reject_reports: bool
    created_at: datetime


_rules: dict[str, Rule] = {}
_suspended: frozenset[str] = frozenset()


def names(domain: str) -> list[str]:
    """What a block may name to cover ``domain`` (``host[:port]``), most specific first: the
    domain itself, its host without the port, then each parent domain."""
    domain = domain.lower().rstrip(".")
    if domain.startswith("["):  # an IPv6 literal: [addr]:port
        host = domain.split("]", 1)[0] + "]"
    else:
        host = domain.rsplit(":", 1)[0] if ":" in domain else domain
    found = [domain] if host == domain else [domain, host]
    try:
        ipaddress.ip_address(host.strip("[]"))
        return found  # an address has no parent domains
    except ValueError:
        pass
    labels = host.split(".")
    return found + [".".join(labels[i:]) for i in range(1, len(labels))]


def covers(block_domain: str, domain: str | None) -> bool:
    return bool(domain) and block_domain in names(domain)


def rule_for(domain: str | None) -> Rule | None:
    """The most specific block covering ``domain``, if any."""
    if not _rules or not domain:
        return None
    for name in names(domain):
        if name in _rules:
            return _rules[name]
    return None


def suspends(domain: str | None) -> bool:
    """Whether ``domain`` (``host[:port]``) is under a suspension: nothing in, nothing out."""
    if not _suspended or not domain:
        return False
    return any(name in _suspended for name in names(domain))


def host_allowed(authority: str) -> bool:
    """The safe fetcher's host policy: no request of any kind to a suspended domain."""
    return not suspends(authority)


def rejects_media(domain: str | None) -> bool:
    rule = rule_for(domain)
    return rule is not None and (rule.reject_media or rule.severity == "suspend")


def rejects_reports(domain: str | None) -> bool:
    rule = rule_for(domain)
    return rule is not None and (rule.reject_reports or rule.severity == "suspend")


def signature_refusal(headers: Mapping[str, str]) -> str | None:
    """Why a signed request (an inbox POST, a signed GET) is refused before anything is verified or
    stored: its signing key lives on a suspended domain. None when it does not, or carries no
    signature (the caller deals with that)."""
    if not _suspended:
        return None
    for name in _SIGNATURE_HEADERS:
        value = headers.get(name)
        if value and (match := _KEY_ID.search(value)) and suspends(origin(match[1])):
            return f"{origin(match[1])} is suspended by this server"
    return None


def limits_for_new_account(domain: str) -> dict[str, Any]:
    """A newly seen account of a blocked domain starts limited, stamped with the block's date."""
    rule = rule_for(domain)
    if rule is None or rule.severity == "noop":
        return {}
    return {"suspended_at" if rule.severity == "suspend" else "silenced_at": rule.created_at}


# --------------------------------------------------------------------------- keeping it current


async def reload() -> None:
    global _rules, _suspended
    rows = await DomainBlock.all()
    _rules = {r.domain: Rule(r.domain, r.severity, r.reject_media, r.reject_reports, r.created_at) for r in rows}
    _suspended = frozenset(d for d, r in _rules.items() if r.severity == "suspend")


async def announce(node: Node) -> None:
    """After a change: reload here, and tell every other process of this node to reload."""
    await reload()
    await node.redis.publish(redis_keys.DOMAIN_BLOCKS_CHANNEL, "changed")


async def watch(node: Node) -> None:
    """Reload on every announcement, and every RELOAD_SECONDS regardless (run under node.supervise)."""
    pubsub = node.redis.pubsub()
    try:
        await pubsub.subscribe(redis_keys.DOMAIN_BLOCKS_CHANNEL)
        await reload()  # what changed before the subscription took effect (or while Redis was away)
        while True:
            await pubsub.get_message(ignore_subscribe_messages=True, timeout=RELOAD_SECONDS)
            await reload()
    finally:
        await pubsub.aclose()


async def start(node: Node) -> asyncio.Task:
    """Load the blocks now and keep them current (web process, delivery worker)."""
    await reload()
    return supervise.start("domain block reloads", lambda: watch(node))


async def setup(app: web.Application, node: Node) -> None:
    """Plugin entry point (node.app PLUGIN_MODULES)."""
    app["background"].append(await start(node))
