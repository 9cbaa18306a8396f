"""What consent to one use of a cameo rests on, wherever the request comes from (this node's
generations, node.services.cameos; another node's CameoRequest, node.services.cameo_federation): the
owner's policy decision, and the signed CameoAuthorization that records a yes.

Apart from node.services.cameos because cameo_federation needs it and cameos drives
cameo_federation: dependencies run one way, cameos → cameo_federation → this module.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from federation import documents
from generation import contract
from node.context import Node
from node.generation.prompt_policy import contains_term, normalise
from node.models import Account, Block
from node.models.cameos import Cameo, CameoUse
from node.services import parental
from provenance.consent import CameoAuthorization, ResolvedKey, claim_entry, restrictions_digest

MAX_CAMEOS_PER_VIDEO = contract.MAX_CAMEOS
# Restrictions are plain words; these carry no topic, so they never trigger a refusal (see docs/cameos.md).
RESTRICTION_FILLER = frozenset(
    "never no not dont don t do in any anything content contents video videos scene scenes me my i of the a an "
    "with about show shown showing use used using be being as for to or and please".split())


def private_dir(node: Node) -> Path:
    """Captures and reference sheets: under the data dir, never served, owner-only permissions."""
    directory = node.config.data_dir / "cameos"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def restriction_keywords(restrictions: str) -> list[str]:
    """The words of the owner's restrictions that a prompt may not contain: each line or comma-
    separated phrase minus filler words ("never in political content" → "political")."""
    words = []
    for phrase in re.split(r"[\n,;]", restrictions):
        words += [w for w in normalise(phrase).split() if w not in RESTRICTION_FILLER and len(w) > 1]
    return list(dict.fromkeys(words))


async def decide(node: Node, requester: Account, owner: Account, cameo: Cameo, prompt: str) -> str | None:
    """None = allowed, "approve" = the owner decides by hand, anything else = the refusal's reason."""
    now = datetime.now(timezone.utc)
    if cameo.state != "verified":
        return "the cameo is not verified"
    if cameo.expires_at is not None and cameo.expires_at <= now:
        return "the owner's permission has expired"
    normalised = normalise(prompt)
    for word in restriction_keywords(cameo.restrictions):
        if contains_term(normalised, word):
            return f"the prompt contradicts the owner's restriction ({word!r})"
    if requester.id == owner.id:
        return None
    if not await parental.cameo_allowed(owner, requester):
        return "the owner's parental controls do not allow it"
    if str(requester.id) in cameo.deny or await Block.filter(account_id=owner.id, target_id=requester.id).exists():
        return "the owner does not allow you to use it"
    if str(requester.id) in cameo.allow or cameo.policy == "everyone":
        return None
    if cameo.policy == "mutuals":
        return None if await parental.is_mutual(owner.id, requester.id) else "only the owner's mutuals may use it"
    if cameo.policy == "approve":
        return "approve"
    return "only the owner may use it"


async def record_grant(node: Node, use: CameoUse, cameo: Cameo, owner: Account, renderer: Account) -> None:
    """Sign the owner's CameoAuthorization for this use, bound to its post (a remote creator's
    request names its own), and record it as granted."""
    grant = CameoAuthorization(
        id=node.urls.cameo_grant(use.id), owner=owner.uri, target=node.urls.cameo(cameo.id),
        post=use.post_uri or node.urls.generation(use.job_id), renderer=renderer.uri,
        published=datetime.now(timezone.utc),
        expires=cameo.expires_at, likeness_digest=cameo.likeness_digest,
        restrictions_digest=restrictions_digest(cameo.restrictions) if cameo.restrictions else None)
    use.grant = documents.cameo_authorization(grant, owner.ed25519_private_pem, owner.ed25519_key_id)
    use.state, use.decided_at = "granted", datetime.now(timezone.utc)
    await use.save(update_fields=["grant", "state", "decided_at"])


def claim_entry_for(use: CameoUse, owner: Account) -> dict[str, Any]:
    """The use's grant as an entry of the generation's C2PA claim."""
    key = ResolvedKey(id=owner.ed25519_key_id, controller=owner.uri, multikey=owner.ed25519_public_multikey)
    return claim_entry(use.grant, key)
