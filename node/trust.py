"""Which C2PA certificate authorities this node trusts, and verifying a file against them.

Anchors are this node's own CAs (every one it ever used) plus the CAs of peers that are pinned
(learned on first use from the peer's /.well-known/vitascope/ca.pem) or trusted by an admin.
A distrusted peer's CAs are never anchors. A pinned peer may add CAs (rotation) but may not drop
the ones we pinned: a published set that loses a pinned CA keeps the old pin and is logged, so a
hijacked domain cannot swap in its own authority; an admin decides with `vitascope admin trust`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from pathlib import Path

from federation.fetcher import SafeFetcher
from node.context import Node
from node.models import NodeTrust
from provenance.certificates import load_certificates
from provenance.c2pa import Verdict, verify_video

log = logging.getLogger(__name__)

MAX_CA_BYTES = 64 * 1024


def identity(node: Node):
    return node.extras["identity"]


def split_pems(text: str) -> list[str]:
    marker = "-----END CERTIFICATE-----"
    return [block.strip() + "\n" + marker + "\n" for block in text.split(marker) if "BEGIN CERTIFICATE" in block]


async def trust_anchors(node: Node) -> list[str]:
    anchors = list(identity(node).published_ca_pems)
    for row in await NodeTrust.filter(state__in=["pinned", "trusted"]):
        anchors += split_pems(row.ca_pems)
    for provider in node.extras.get("trust_providers", []):
        anchors += await provider(node)
    return anchors


def _valid_ca_bundle(text: str) -> list[str]:
    pems = split_pems(text)
    if not pems:
        raise ValueError("no certificates in the published CA bundle")
    for pem in pems:
        load_certificates(pem)  # raises on garbage
    return pems


async def fetch_ca_bundle(node: Node, domain: str) -> list[str]:
    """The CA bundle a peer publishes, through the safe fetcher (no private addresses outside dev mode)."""
    scheme = "http" if node.config.dev_mode else "https"
    async with SafeFetcher(allow_private=node.config.dev_mode, allow_http=node.config.dev_mode,
                           max_bytes=MAX_CA_BYTES, timeout=node.config["federation.fetch_timeout_seconds"],
                           user_agent=f"Vitascope ({node.urls.base})") as fetcher:
        data = await fetcher.get_bytes(f"{scheme}://{domain}/.well-known/vitascope/ca.pem", accept="application/x-pem-file, text/plain")
    return _valid_ca_bundle(data.decode("ascii", "replace"))


async def pin_peer(node: Node, domain: str, pems: list[str] | None = None, *, state: str | None = None) -> NodeTrust:
    """Learn (or refresh) a peer's CAs; see the module docstring for the continuity rule."""
    domain = domain.lower()
    if domain == node.config.domain:
        raise ValueError("this node trusts its own CAs already")
    pems = pems if pems is not None else await fetch_ca_bundle(node, domain)
    row = await NodeTrust.get_or_none(domain=domain)
    if row is None:
        return await NodeTrust.create(domain=domain, ca_pems="".join(pems), state=state or "pinned")
    old = split_pems(row.ca_pems)
    if state is None and row.state == "pinned" and old and not set(old) <= set(pems):
        log.warning("%s now publishes a CA set without the CA we pinned; keeping the pin", domain)
        row.note = f"{datetime.now(timezone.utc).isoformat()}: published CA set dropped a pinned CA"
        await row.save(update_fields=["note", "updated_at"])
        return row
    merged = old + [p for p in pems if p not in old] if state is None else pems
    row.ca_pems = "".join(merged)
    if state is not None:
        row.state = state
    await row.save()
    return row


async def ensure_peer(node: Node, domain: str | None) -> bool:
    """Pin a peer on first use. False when it cannot be learned (or is distrusted)."""
    if not domain or domain.lower() == node.config.domain:
        return bool(domain)
    row = await NodeTrust.get_or_none(domain=domain.lower())
    if row is not None:
        return row.state != "distrusted"
    try:
        await pin_peer(node, domain)
        return True
    except Exception as exc:  # network, TLS, garbage: the file stays unverified, with the reason logged
        log.info("could not learn the CA of %s: %s", domain, exc)
        return False


async def verify_file(node: Node, path: Path, origin_domain: str | None = None, *,
                      first_seen: datetime | None = None) -> Verdict:
    """Verify a file, learning the CAs of the origin and of every node its remix chain names."""
    if origin_domain:
        await ensure_peer(node, origin_domain)
    verdict = await asyncio.to_thread(verify_video, path, await trust_anchors(node), first_seen=first_seen)
    if verdict.ok or verdict.state == "invalid" or verdict.state == "missing":
        return verdict
    named = {(verdict.claim or {}).get("node")} | {(c.get("claim") or {}).get("node") for c in verdict.chain}
    learned = False
    for domain in named - {None, origin_domain}:
        if not await NodeTrust.filter(domain=domain.lower()).exists():
            learned |= await ensure_peer(node, domain)
    if learned:
        verdict = await asyncio.to_thread(verify_video, path, await trust_anchors(node), first_seen=first_seen)
    return verdict
