"""The cameo owner's decisions that reach a generation: answering an "approve each use" request
(the waiting generation starts or fails) and taking a use down (its posted video is deleted, or its
generation withdrawn).

They live apart from node.services.cameos because they drive node.services.generation, which
itself asks node.services.cameos for consent: dependencies run one way, decisions → generation → cameos.
"""

from __future__ import annotations

from datetime import datetime, timezone

from node.context import Node
from node.errors import not_found, unprocessable
from node.models import Account, GenerationJob
from node.models.cameos import CameoUse
from node.services import cameo_federation, cameos, generation
from node.services.statuses import delete_status


async def answer_request(node: Node, owner: Account, use_id: int, *, approve: bool) -> CameoUse:
    """The owner's answer to an "approve each use" request; the waiting generation starts or fails."""
    use = await CameoUse.get_or_none(id=use_id, cameo__account_id=owner.id).prefetch_related("cameo", "creator")
    if use is None:
        raise not_found()
    if use.state != "pending":
        raise unprocessable(f"the request was already answered ({use.state})")
    if use.request_uri:  # a creator on another node: the answer goes there
        if approve and use.cameo.state != "verified":
            raise unprocessable("the cameo is not verified")
        await cameo_federation.answer_remote(node, owner, use, approve=approve)
        return use
    if approve:
        if use.cameo.state != "verified":
            raise unprocessable("the cameo is not verified")
        await cameos.record_grant(node, use, use.cameo, owner, use.creator)
        job = await GenerationJob.get_or_none(id=use.job_id)
        if job is not None:
            await generation.consent_given(node, job, cameos.claim_entry_for(use, owner))
    else:
        use.state, use.decided_at = "denied", datetime.now(timezone.utc)
        await use.save(update_fields=["state", "decided_at"])
        job = await GenerationJob.get_or_none(id=use.job_id)
        if job is not None:
            await generation.consent_denied(node, job, f"@{use.cameo.handle}'s owner declined")
    return use


async def take_down(node: Node, owner: Account, use_id: int) -> None:
    """Revoke the grant, then delete the posted video of a use through the normal delete (which
    federates Delete), or cancel the generation if it has not finished. Revoked first: the owner is
    not notified of a deletion they made (cameo_federation.video_deleted)."""
    use = await CameoUse.get_or_none(id=use_id, cameo__account_id=owner.id).prefetch_related("creator")
    if use is None:
        raise not_found()
    await CameoUse.filter(id=use.id).update(state="revoked", revoked_at=datetime.now(timezone.utc))
    state, status_id = (await cameos.job_status_ids([use.job_id])).get(use.job_id, (None, None))
    if status_id is not None:
        await delete_status(node, use.creator, status_id)
    elif state is not None:
        await generation.withdraw(node, use.job_id, "the person shown withdrew their consent")
    if use.state in ("granted", "pending"):  # a creator on another node takes the video down there
        await cameo_federation.grants_revoked(node, owner, [use])
