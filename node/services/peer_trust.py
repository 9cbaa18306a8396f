"""An admin's decisions about peer nodes' C2PA certificate authorities (`vitascope admin trust`;
docs/provenance.md). Learning a peer's CAs on first use is node.trust.pin_peer."""

from __future__ import annotations

from node.context import Node
from node.models import NodeTrust
from node.trust import pin_peer, split_pems

STATES = {"pin": "pinned", "trust": "trusted", "distrust": "distrusted"}


async def decide(node: Node, domain: str, decision: str, pems: list[str] | None = None) -> NodeTrust:
    """Pin (from the peer, or ``pems``), trust or distrust ``domain``. Distrusting without ``pems``
    keeps the CAs we know, so they stay recognisable as the distrusted peer's."""
    domain = domain.lower()
    state = STATES[decision]
    if state == "distrusted" and pems is None:
        row = await NodeTrust.get_or_none(domain=domain)
        pems = split_pems(row.ca_pems) if row else []
    return await pin_peer(node, domain, pems, state=state)


async def forget(domain: str) -> bool:
    """Drop what we know of ``domain`` (its next video pins again); False when it was not known."""
    return bool(await NodeTrust.filter(domain=domain.lower()).delete())
