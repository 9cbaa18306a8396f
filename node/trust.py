"""Which C2PA certificate authorities this node trusts: its own (every CA it ever used) plus
the CAs of peer nodes that admins or first-use pinning accepted."""

from __future__ import annotations

from node.context import Node


def identity(node: Node):
    return node.extras["identity"]


async def trust_anchors(node: Node) -> list[str]:
    anchors = list(identity(node).published_ca_pems)
    for provider in node.extras.get("trust_providers", []):
        anchors += await provider(node)
    return anchors


def provenance_json(verdict, node_domain_of_signer: str | None = None) -> dict:
    """The provenance object media attachments carry in the API."""
    claim = verdict.claim or {}
    return {
        "verified": verdict.ok,
        "state": verdict.state,
        "reason": verdict.reason,
        "signer": verdict.signer,
        "node": claim.get("node") or node_domain_of_signer,
        "ai_generated": verdict.ai_generated,
        "model": claim.get("model_name"),
        "model_version": claim.get("model_version"),
        "test_model": bool(claim.get("test_model")),
        "manifest_id": verdict.manifest_id,
        "remix_chain": [{"manifest_id": c.get("manifest_id"), "signer": c.get("signer"),
                         "node": (c.get("claim") or {}).get("node"), "model": (c.get("claim") or {}).get("model_name")}
                        for c in verdict.chain],
    }
