"""Cameos in our ActivityStreams documents: the owner's signed `Cameo`, the actor's `cameos`
collection and advisory `interactionPolicy.canCameo`, and, on our Notes, the grants of the cameos
a video shows (`cameoGrant`, with a Mention of each owner). Database only: the activitypub modules
that render documents use it (the exchange itself is node.services.cameo_federation).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from federation import documents
from node.context import Node
from node.models import Account, GenerationJob, MediaAttachment, Status
from node.models.cameos import Cameo
from provenance.consent import Cameo as CameoDoc
from provenance.consent import CameoPolicy


def policy_of(node: Node, cameo: Cameo, owner: Account) -> CameoPolicy:
    """The advisory `canCameo` (the node decides each request; deny lists are never published)."""
    if cameo.policy == "everyone":
        return CameoPolicy(automatic_approval=(documents.AS_PUBLIC,))
    if cameo.policy == "mutuals":
        return CameoPolicy(automatic_approval=(node.urls.followers(owner.username),))
    if cameo.policy == "approve":
        return CameoPolicy(automatic_approval=(owner.uri,), manual_approval=(documents.AS_PUBLIC,))
    return CameoPolicy(automatic_approval=(owner.uri,))


async def cameo_document(node: Node, cameo: Cameo) -> dict[str, Any] | None:
    """The signed Cameo at its URL; None unless it is verified (nothing else is published)."""
    if cameo.state != "verified" or not cameo.likeness_digest:
        return None
    owner = await Account.get(id=cameo.account_id)
    if owner.suspended_at is not None or owner.deleted_at is not None or not owner.ed25519_private_pem:
        return None
    allowed = await Account.filter(id__in=[int(i) for i in cameo.allow]).values_list("uri", flat=True)
    policy = policy_of(node, cameo, owner)
    policy = replace(policy, automatic_approval=tuple(dict.fromkeys([*policy.automatic_approval, *allowed])))
    info = CameoDoc(id=node.urls.cameo(cameo.id), owner=owner.uri, kind=cameo.kind, name=cameo.name,
                    handle=cameo.handle, likeness_digest=cameo.likeness_digest, policy=policy,
                    published=cameo.created_at)
    return documents.cameo(info, owner.ed25519_private_pem, owner.ed25519_key_id)


def cameos_collection_url(node: Node, account: Account) -> str:
    return f"{node.urls.actor(account.username)}/cameos"


async def published_cameos(account: Account) -> list[Cameo]:
    return await Cameo.filter(account_id=account.id, state="verified", likeness_digest__not_isnull=True).order_by("id")


async def actor_cameos(node: Node, account: Account) -> tuple[str | None, CameoPolicy | None]:
    """(collection URL, actor-level canCameo) for the actor document: the policy of the owner's
    person cameo (else their first); nothing for an actor without a verified cameo."""
    if account.domain is not None:
        return None, None
    cameos = await published_cameos(account)
    if not cameos:
        return None, None
    main = next((c for c in cameos if c.kind == "person"), cameos[0])
    return cameos_collection_url(node, account), policy_of(node, main, account)


async def cameos_collection(node: Node, account: Account) -> dict[str, Any]:
    items = [node.urls.cameo(c.id) for c in await published_cameos(account)]
    return documents.ordered_collection(cameos_collection_url(node, account), len(items), items=items)


async def cameo_by_handle(handle: str) -> Cameo | None:
    """WebFinger `acct:handle@host` of a cameo (no account of that name exists: handles are unique)."""
    return await Cameo.filter(handle__iexact=handle, state="verified").first()


async def with_cameos(node: Node, info: documents.NoteInfo, status: Status) -> documents.NoteInfo:
    """A post whose videos show cameos names each grant (`cameoGrant`) and mentions each owner, so
    every server shows who is in it and checks the grants (Mastodon sees an ordinary mention)."""
    if not info.attachments or not status.local:
        return info
    job_ids = await (MediaAttachment.filter(status_id=status.id, generation_id__not_isnull=True)
                     .values_list("generation_id", flat=True))
    grants: dict[str, str] = {}
    for entries in await GenerationJob.filter(id__in=list(job_ids)).values_list("cameo_grants", flat=True):
        for entry in entries or []:
            grant = entry.get("grant") if isinstance(entry, dict) else None
            if isinstance(grant, dict) and isinstance(grant.get("id"), str):
                grants[grant["id"]] = str(grant.get("attributedTo", ""))
    if not grants:
        return info
    mentioned = {href for href, _ in info.mentions}
    owners = [a for a in await Account.filter(uri__in=list(set(grants.values()))) if a.uri not in mentioned]
    extra = [(a.uri, f"@{a.username}@{a.domain or node.config.domain}") for a in owners]
    return replace(info, cameo_grants=list(grants), mentions=[*info.mentions, *extra],
                   cc=[*info.cc, *(a.uri for a in owners if a.uri not in info.cc)])
