"""The renderer's node acting on what a cameo owner's node answers: an `Accept` (the grant is
verified for this very use, the likeness fetched, the generation queued) or `Reject` of our
CameoRequest, and the owner's `Delete` of a grant (the video taken down, the Delete forwarded).

Apart from node.services.cameo_federation because these drive node.services.generation, which asks
node.services.cameos (and through it cameo_federation) for consent: dependencies run one way,
answers → generation → cameos → cameo_federation.
"""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import datetime, timezone
from typing import Any

from federation import documents
from federation.fetcher import FetchError
from node.activitypub import outgoing, resolve
from node.activitypub.runtime import federation
from node.context import Node
from node.models import Account, GenerationJob
from node.models.cameos import CameoRequestOut
from node.services import cameo_federation, cameo_ingest, generation
from node.services.cameos import job_status_ids
from node.services.statuses import delete_status
from provenance.consent import ResolvedKey, claim_entry, verify_grant
from provenance.digests import digest_multibase

log = logging.getLogger(__name__)


async def receive_answer(node: Node, actor: Account, doc: dict[str, Any]) -> bool:
    """An Accept or Reject of one of our CameoRequests (False: not ours; the follow code decides).
    An accepted grant is verified and its likeness fetched before the generation may go on."""
    request_id = documents.id_of(doc.get("object"))
    row = await CameoRequestOut.get_or_none(request_uri=request_id or "").prefetch_related("creator")
    if row is None:
        return False
    if row.owner_uri != actor.uri:
        raise documents.DocumentError("only the cameo's owner answers its request")
    if row.state != "pending":
        return True
    answer = documents.parse_cameo_answer(doc)
    job = await GenerationJob.get_or_none(id=row.job_id)
    if job is not None and job.state != "awaiting_consent":
        job = None  # cancelled or failed meanwhile: nothing to render, no likeness to fetch
    if not answer.accepted:
        await _settle(row, "denied", "the owner declined")
        if job is not None:
            await generation.consent_denied(node, job, f"the owner of {row.cameo_uri} declined")
        return True
    refusal, grant, key = await _checked_grant(node, row, actor, answer.grant)
    if refusal is None and job is None:
        row.grant, row.grant_uri, row.owner_key = grant, grant["id"], key.to_json()
        await _settle(row, "granted", "the generation ended before the answer")
        await cameo_federation.report_use(node, row, "failed", row.post_uri)
        return True
    if refusal is None:
        try:
            await _fetch_likeness(node, row, grant)
        except (FetchError, ValueError, OSError) as exc:
            refusal = f"the likeness could not be fetched ({exc})"
    if refusal is not None:
        log.warning("cameo request %s: refused the owner's answer: %s", row.request_uri, refusal)
        await _settle(row, "denied", refusal)
        if job is not None:
            await generation.consent_denied(node, job, f"{row.cameo_uri}: {refusal}")
        return True
    row.grant, row.grant_uri, row.owner_key = grant, grant["id"], key.to_json()
    await _settle(row, "granted", None)
    if job is not None:
        await generation.consent_given(node, job, claim_entry(grant, key))
    return True


async def _settle(row: CameoRequestOut, state: str, reason: str | None) -> None:
    row.state, row.reason, row.decided_at = state, reason, datetime.now(timezone.utc)
    await row.save(update_fields=["state", "reason", "decided_at", "grant", "grant_uri", "owner_key"])


async def _checked_grant(node: Node, row: CameoRequestOut, owner: Account,
                         grant: Any) -> tuple[str | None, dict[str, Any], ResolvedKey | None]:
    """(refusal or None, the grant, the owner's key): the grant must verify for this very use."""
    if isinstance(grant, str):
        try:
            grant = await resolve.fetch_document(node, grant)
        except (resolve.ResolveError, FetchError) as exc:
            return f"the grant could not be fetched ({exc})", {}, None
    key = cameo_federation.owner_key(owner)
    verdict = verify_grant(grant, lambda key_id: key if key is not None and key.id == key_id else None,
                           post_id=row.post_uri, cameo_id=row.cameo_uri, author=row.creator.uri)
    if not verdict.ok:
        return f"the grant does not verify: {verdict.describe()}", grant, key
    if not grant.get("likenessDigest"):
        return "the grant pins no likeness", grant, key
    return None, grant, key


async def _fetch_likeness(node: Node, row: CameoRequestOut, grant: dict[str, Any]) -> None:
    """The reference sheet, by a signed GET bound to the grant, checked against its likenessDigest."""
    data = await federation(node).fetcher.get_bytes(f"{grant['id']}/likeness", accept="image/png", signed=True,
                                                    max_bytes=cameo_federation.MAX_LIKENESS_BYTES)
    if digest_multibase(hashlib.sha256(data).digest()) != grant["likenessDigest"]:
        raise ValueError("the reference sheet does not match the grant's likenessDigest")
    path = cameo_federation.remote_reference_path(node, grant["id"])
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


async def grant_deleted(node: Node, actor: Account, doc: dict[str, Any]) -> bool:
    """An owner's `Delete{grant}` (False: not a grant we hold). The use is revoked at once: a posted
    video is deleted (federating Delete{Note}), a draft withdrawn, and the Delete forwarded."""
    grant_id = documents.id_of(doc.get("object")) or ""
    held = await cameo_ingest.revoked_grant_received(node, actor, grant_id)  # posts of others showing it
    rows = await CameoRequestOut.filter(grant_uri=grant_id or "", owner_uri=actor.uri).prefetch_related("creator")
    if not rows:
        return held
    for row in rows:
        if row.state == "revoked":
            continue
        await CameoRequestOut.filter(id=row.id).update(state="revoked", reason="the owner revoked the grant")
        state, status_id = (await job_status_ids([row.job_id])).get(row.job_id, (None, None))
        if status_id is not None:
            await delete_status(node, row.creator, status_id)
        elif state is not None:
            await generation.withdraw(node, row.job_id, "the person shown withdrew their consent")
        cameo_federation.remote_reference_path(node, row.grant_uri).unlink(missing_ok=True)
        log.info("grant %s revoked by %s: generation %s taken down", grant_id, actor.uri, row.job_id)
        try:  # others holding the post learn of the revocation from us too (the proof is the owner's)
            await outgoing.publish(node, None, doc, await outgoing.follower_recipients(row.creator), public=True)
        except Exception:
            log.exception("could not forward the revocation of %s", grant_id)
    return True
