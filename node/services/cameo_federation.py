"""Cameos between nodes: the owner's node (A) and the renderer's node (B) of one use.

FEP-044f in shape (docs/federation.md, "Cameos and consent"):

- A hosts each verified cameo as a signed `Cameo` (its reference sheet never leaves A) and lists
  them in the owner's `cameos` collection with an advisory `interactionPolicy.canCameo`;
- B's `request_consent` (services.cameos) records a `CameoRequest` for a cameo on another node and
  the generation waits (`awaiting_consent`); once the generation exists the request is sent;
- A decides by the owner's policy (or queues it for the owner), notifies the owner at once and
  answers `Accept{result: the signed CameoAuthorization}` or `Reject`;
- B verifies the grant, fetches the reference sheet from A with a signed GET bound to the grant
  (digest-checked against the grant's `likenessDigest`, deleted after the job) and queues the job;
- B reports what became of the use (`Add{object: the post, target: the grant, useState}`), so the
  owner's "videos of me" lists drafts too, and tells when its posted video is deleted (`deleted`:
  A notifies the owner, as for a local creator's deletion, see `video_deleted`);
- A revokes with `Delete{grant}` to B and the public; B takes the video down (its `Delete{Note}`
  federates as for any deleted post) and forwards A's `Delete` to its followers;
- every node checks the grants of the remote video posts it stores, and drops them when revoked
  (node.services.cameo_ingest).

What acts on an owner's answer or revocation by driving a generation is in
node.services.cameo_answers (answers → generation → cameos → this module → cameo_consent, which
decides by the owner's policy and signs the grant); what our documents
show of cameos (the Cameo, the actor's collection, a Note's grants) in node.services.cameo_documents.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from federation import documents
from federation.fetcher import FetchError
from node.activitypub import outgoing, resolve
from node.context import Node
from node.errors import ApiError
from node import ids
from node.ids import new_id
from node.models import Account, GenerationJob, MediaAttachment, Status
from node.models.cameos import Cameo, CameoRequestOut, CameoUse
from node.services.cameo_consent import MAX_CAMEOS_PER_VIDEO, decide, private_dir, record_grant
from node.services.notifications import notify
from node.generation.prompt_policy import ConsentPending, ConsentRefused, NamedPerson
from provenance.consent import CameoRequest, ResolvedKey, host_of
from provenance.digests import digest_multibase
from provenance.proofs import ProofError, proof_verification_method, verify_proof

log = logging.getLogger(__name__)

# A renderer may fetch the reference sheet of a grant this long after it was granted, and only
# until it reports the render (one job, one fetch window).
LIKENESS_WINDOW = timedelta(minutes=15)
MAX_LIKENESS_BYTES = 20 * 1024 * 1024
# What a renderer may report of a use (`useState` of its Add).
USE_STATES = ("rendered", "failed", "posted", "deleted")
# The owner's notification that the video of a use in force was deleted by its creator's side.
USE_DELETED = "vitascope.cameo_use_deleted"
REMOTE_HANDLE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,30})@([A-Za-z0-9.-]+(?::\d{1,5})?)")
CAMEO_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?/cameos/\d+")


# ----- the owner's node: requests, answers, the likeness, reports ----------------------------


async def _publish_to(node: Node, sender: Account, doc: dict[str, Any], to: list[Account]) -> None:
    """A private activity of the exchange, to those it names only."""
    await outgoing.publish(node, sender, doc, [outgoing.recipient(a) for a in to if a.domain], public=False,
                           audience=[a.uri for a in to])


def _activity_id(node: Node, account: Account, kind: str) -> str:
    return node.urls.activity(account.username, kind, new_id())


async def receive_request(node: Node, actor: Account, doc: dict[str, Any]) -> str:
    """A CameoRequest from a creator on another node; returns what was done (for the inbox row).
    Raises documents.DocumentError for a request that cannot be read or answered."""
    request = documents.parse_cameo_request(doc)
    if request.actor != actor.uri:
        raise documents.DocumentError("a CameoRequest must be sent by the account that asks")
    cameo = await _local_cameo(node, request.cameo)
    owner = await Account.get_or_none(uri=request.owner, domain=None)
    if owner is None:
        raise documents.DocumentError("the request names no owner of this node")
    if cameo is None or cameo.account_id != owner.id:
        await _send_reject(node, owner, request.id, actor)
        return "rejected: no such cameo of this owner"
    existing = await CameoUse.get_or_none(request_uri=request.id, creator_id=actor.id)
    if existing is not None:  # a retried request: the same answer again
        await _answer_again(node, owner, existing, actor)
        return f"answered again ({existing.state})"
    if await CameoUse.filter(post_uri=request.instrument).count() >= MAX_CAMEOS_PER_VIDEO:
        await _send_reject(node, owner, request.id, actor)
        return "rejected: too many cameos for one post"
    decision = await decide(node, actor, owner, cameo, request.prompt or "")
    if decision is not None and decision != "approve":
        log.info("cameo request %s from %s for @%s refused: %s", request.id, actor.uri, cameo.handle, decision)
        await _send_reject(node, owner, request.id, actor)
        return f"rejected: {decision}"
    async with in_transaction():  # an allowed use is never seen without its grant
        use = await CameoUse.create(cameo=cameo, creator=actor, job_id=new_id(), prompt=request.prompt or "",
                                    post_uri=request.instrument, request_uri=request.id, remote_state="requested")
        if decision is None:
            await record_grant(node, use, cameo, owner, actor)
    await notify(node, owner, actor, "vitascope.cameo_use")
    if decision == "approve":
        return "waiting for the owner"
    await _send_accept(node, owner, use, actor)
    return "granted"


async def _local_cameo(node: Node, url: str) -> Cameo | None:
    prefix = node.urls.cameo("")
    cameo_id = ids.parse(url[len(prefix):]) if url.startswith(prefix) else None
    return await Cameo.get_or_none(id=cameo_id) if cameo_id is not None else None


async def _send_accept(node: Node, owner: Account, use: CameoUse, renderer: Account) -> None:
    doc = documents.accept_cameo_request(_activity_id(node, owner, "accepts"), owner.uri, use.request_uri,
                                        renderer.uri, use.grant)
    await _publish_to(node, owner, doc, [renderer])


async def _send_reject(node: Node, owner: Account, request_id: str, renderer: Account) -> None:
    doc = documents.reject_cameo_request(_activity_id(node, owner, "rejects"), owner.uri, request_id, renderer.uri)
    await _publish_to(node, owner, doc, [renderer])


async def _answer_again(node: Node, owner: Account, use: CameoUse, renderer: Account) -> None:
    if use.state == "granted":
        await _send_accept(node, owner, use, renderer)
    elif use.state in ("denied", "revoked"):
        await _send_reject(node, owner, use.request_uri, renderer)


async def answer_remote(node: Node, owner: Account, use: CameoUse, *, approve: bool) -> None:
    """The owner's answer to a remote creator's request waiting for approval."""
    creator = await Account.get(id=use.creator_id)
    if approve:
        await record_grant(node, use, use.cameo, owner, creator)
        await _send_accept(node, owner, use, creator)
    else:
        use.state, use.decided_at = "denied", datetime.now(timezone.utc)
        await use.save(update_fields=["state", "decided_at"])
        await _send_reject(node, owner, use.request_uri, creator)


class LikenessRefused(ApiError):
    """A fetch of a reference sheet that its grant does not allow (logged with the reason)."""


async def likeness_for(node: Node, use_id: int, signer: str | None) -> tuple[bytes, str]:
    """(PNG bytes, digestMultibase) of the reference sheet a live grant lets its renderer fetch.
    Only a GET signed by the renderer's node, while the grant is in force, within LIKENESS_WINDOW
    of granting and before the render was reported; anything else is refused and logged."""
    use = await CameoUse.get_or_none(id=use_id).prefetch_related("cameo")
    reason, status = None, 403
    if use is None or use.grant is None:
        reason, status = "no such grant", 404
    elif signer is None:
        reason, status = "the request is not signed", 401
    elif use.state != "granted":
        reason, status = f"the grant is not in force ({use.state})", 410
    elif host_of(signer) != host_of(str(use.grant.get("instrument", ""))):
        reason = f"signed by {signer}, but the grant is for {use.grant.get('instrument')}"
    elif use.remote_state not in (None, "requested"):
        reason = f"the use was already reported ({use.remote_state}); the likeness is no longer available"
    elif use.decided_at is None or datetime.now(timezone.utc) > use.decided_at + LIKENESS_WINDOW:
        reason = "the grant's likeness window has passed"
    elif not use.cameo.reference_path or not Path(use.cameo.reference_path).is_file():
        reason, status = "the cameo has no reference sheet", 404
    if reason is not None:
        log.warning("likeness fetch for grant %s by %s refused: %s", use_id, signer, reason)
        raise LikenessRefused(status, f"likeness refused: {reason}")
    data = await asyncio.to_thread(Path(use.cameo.reference_path).read_bytes)
    log.info("likeness for grant %s fetched by %s", use_id, signer)
    return data, digest_multibase(hashlib.sha256(data).digest())


async def receive_report(node: Node, actor: Account, doc: dict[str, Any]) -> str:
    """A renderer's `Add{object: post, target: grant, useState}`: what became of a use."""
    target = documents.id_of(doc.get("target")) or ""
    prefix = node.urls.cameo_grant("")
    use = None
    use_id = ids.parse(target[len(prefix):]) if target.startswith(prefix) else None
    if use_id is not None:
        use = await CameoUse.get_or_none(id=use_id, creator_id=actor.id)
    if use is None:
        raise documents.DocumentError("not a report on a grant this actor holds")
    state, obj = doc.get("useState"), documents.id_of(doc.get("object"))
    if state not in USE_STATES or not obj or host_of(obj) != host_of(actor.uri):
        raise documents.DocumentError("a use report needs a useState and the renderer's post")
    if state == "deleted":
        await video_deleted(node, [use], actor, obj)
        return f"use {use.id}: deleted"
    if use.remote_state == "deleted" and obj == use.status_uri:
        return f"use {use.id}: its post was deleted already"  # a late report of the post
    use.remote_state = state
    if state == "posted":
        use.status_uri = obj
    await use.save(update_fields=["remote_state", "status_uri"])
    return f"use {use.id}: {state}"


async def video_deleted(node: Node, uses: list[CameoUse], creator: Account, status_uri: str) -> None:
    """The post showing these uses was deleted on the creator's side: recorded once
    (`remote_state` "deleted", for local uses too), and the owner notified if the use was still in
    force (the video of a revoked use went because of the owner). Whichever of the renderer's report
    and the Note's Delete arrives first records it; the other changes nothing."""
    for use in uses:
        changed = await (CameoUse.filter(id=use.id)
                         .filter(Q(remote_state__isnull=True) | ~Q(remote_state="deleted"))
                         .update(remote_state="deleted", status_uri=status_uri))
        if changed and use.state == "granted":
            await notify(node, await Account.get(cameos__id=use.cameo_id), creator, USE_DELETED)


async def on_status_removed(node: Node, status: Status, generations: list[int]) -> None:
    """A status was deleted. Ours, with videos of `generations`: each remote owner hears `deleted`
    (the renderer's side) and each local use is recorded as remote ones are; another node's Note
    that posted a use of our cameos (its Delete reached us): the use is deleted (the owner's side)."""
    if status.local and generations:
        for row in await CameoRequestOut.filter(job_id__in=generations, state="granted").prefetch_related("creator"):
            try:  # the deletion stands even if telling fails now
                await report_use(node, row, "deleted", status.uri)
            except Exception:
                log.exception("could not report the deletion of %s to %s", status.uri, row.owner_uri)
        uses = await CameoUse.filter(job_id__in=generations, request_uri=None)
    elif not status.local:
        uses = await CameoUse.filter(creator_id=status.account_id, status_uri=status.uri)
    else:
        return
    if uses:
        await video_deleted(node, uses, await Account.get(id=status.account_id), status.uri)


async def grants_revoked(node: Node, owner: Account, uses: list[CameoUse]) -> None:
    """Tell the renderers of revoked remote uses, and the public: `Delete{grant}` (id `<grant>#delete`,
    as Mastodon revokes a quote authorization). The renderer must take the video down and forward it."""
    for use in uses:
        if not use.request_uri:
            continue
        creator = await Account.get(id=use.creator_id)
        if use.grant is None:  # still waiting for the owner: the answer is no
            await _send_reject(node, owner, use.request_uri, creator)
            continue
        doc = documents.revoke_cameo_grant(node.urls.cameo_grant(use.id), owner.uri, creator.uri)
        targets = [outgoing.recipient(creator), *await outgoing.follower_recipients(owner)]
        try:
            await outgoing.publish(node, owner, doc, targets, public=True)
        except Exception:  # the revocation stands (410 at the grant) even if telling fails now
            log.exception("could not send the revocation of grant %s", use.id)


# ----- the renderer's node ------------------------------------------------------------------


async def find_remote_cameos(node: Node, requester: Account, prompt: str) -> list[NamedPerson]:
    """Person finder: `@handle@host` (WebFinger names a Cameo) and cameo URLs on other nodes."""
    found: list[NamedPerson] = []
    for handle, host in dict.fromkeys((h, d.lower()) for h, d in REMOTE_HANDLE.findall(prompt)):
        if host == node.config.domain:
            continue
        try:
            href = await resolve.webfinger(node, handle, host)
        except (resolve.ResolveError, FetchError) as exc:
            log.info("@%s@%s is not a cameo we can find: %s", handle, host, exc)
            continue
        if CAMEO_URL.fullmatch(href):
            found.append(NamedPerson(uri=href, label=f"@{handle}@{host}"))
    for url in dict.fromkeys(CAMEO_URL.findall(prompt)):
        if host_of(url) != node.config.domain.lower() and url not in [p.uri for p in found]:
            found.append(NamedPerson(uri=url, label=url))
    return found


async def remote_consent(node: Node, requester: Account, person: NamedPerson, prompt: str, *,
                         job_id: int) -> ConsentPending | None:
    """request_consent's remote door: a Cameo on another node is asked by CameoRequest (sent once
    the generation exists, see `send_requests`); the generation waits for the answer."""
    if not CAMEO_URL.fullmatch(person.uri):
        cameo_uri = await _person_cameo_of(node, person.uri)
        if cameo_uri is None:
            return None  # a remote person without a cameo: the prompt policy refuses them without consent
        person = NamedPerson(uri=cameo_uri, label=person.label)
    existing = await CameoRequestOut.get_or_none(job_id=job_id, cameo_uri=person.uri)
    if existing is not None:
        return ConsentPending(existing.id)
    asked = await CameoUse.filter(job_id=job_id).count() + await CameoRequestOut.filter(job_id=job_id).count()
    if asked >= MAX_CAMEOS_PER_VIDEO:
        raise ConsentRefused(f"a video may show at most {MAX_CAMEOS_PER_VIDEO} cameos")
    try:
        doc = await resolve.fetch_document(node, person.uri)
        cameo = documents.parse_cameo(doc)
        owner = await resolve.fetch_actor(node, cameo.owner)
    except (resolve.ResolveError, FetchError, documents.DocumentError) as exc:
        raise ConsentRefused(f"{person.label} cannot be used: its owner's node does not confirm it ({exc})") from None
    problem = _cameo_proof_problem(doc, owner)
    if problem:
        log.warning("cameo %s refused: %s", person.uri, problem)
        raise ConsentRefused(f"{person.label} cannot be used: {problem}")
    row_id = new_id()
    row = await CameoRequestOut.create(
        id=row_id, job_id=job_id, creator=requester, cameo_uri=cameo.id, owner_uri=owner.uri,
        request_uri=node.urls.activity(requester.username, "cameo_requests", row_id),
        post_uri=node.urls.generation(job_id), prompt=prompt)
    return ConsentPending(row.id)


async def _person_cameo_of(node: Node, actor_uri: str) -> str | None:
    """The person cameo a remote account lists in its `cameos` collection (an @mention of a person
    with a verified cameo asks that cameo's owner), or None."""
    if not await Account.filter(uri=actor_uri, domain__not_isnull=True).exists():
        return None
    try:
        collection_url = documents.id_of((await resolve.fetch_document(node, actor_uri)).get("cameos"))
        if not collection_url or host_of(collection_url) != host_of(actor_uri):
            return None
        items = (await resolve.fetch_document(node, collection_url)).get("orderedItems")
        for url in (items if isinstance(items, list) else [])[:10]:
            if isinstance(url, str) and CAMEO_URL.fullmatch(url) and host_of(url) == host_of(actor_uri):
                doc = await resolve.fetch_document(node, url)
                if doc.get("cameoKind") == "person" and documents.id_of(doc.get("attributedTo")) == actor_uri:
                    return url
    except (resolve.ResolveError, FetchError) as exc:
        log.info("the cameos of %s could not be read: %s", actor_uri, exc)
    return None


def owner_key(owner: Account) -> ResolvedKey | None:
    if owner.ed25519_key_id and owner.ed25519_public_multikey:
        return ResolvedKey(owner.ed25519_key_id, owner.uri, owner.ed25519_public_multikey)
    return None


def _cameo_proof_problem(doc: dict[str, Any], owner: Account) -> str | None:
    key = owner_key(owner)
    if key is None:
        return "its owner publishes no signing key"
    if proof_verification_method(doc) != key.id:
        return "the cameo is not signed by its owner's key"
    try:
        verify_proof(doc, key.public_key())
    except (ProofError, ValueError) as exc:
        return f"the cameo's proof does not verify ({exc})"
    return None


async def send_requests(node: Node, job_id: int) -> None:
    """The generation exists: send its CameoRequests (one per remote cameo), before rendering."""
    for row in await CameoRequestOut.filter(job_id=job_id, sent_at=None).prefetch_related("creator"):
        owner = await Account.get(uri=row.owner_uri)  # stored when its cameo was checked (remote_consent)
        request = CameoRequest(id=row.request_uri, actor=row.creator.uri, cameo=row.cameo_uri, owner=owner.uri,
                               instrument=row.post_uri, prompt=row.prompt)
        await _publish_to(node, row.creator, documents.cameo_request(request), [owner])
        row.sent_at = datetime.now(timezone.utc)
        await row.save(update_fields=["sent_at"])


async def abandon(job_id: int) -> None:
    """The generation was not created: its unsent requests go (nothing was sent yet)."""
    await CameoRequestOut.filter(job_id=job_id, sent_at=None).delete()


async def outstanding(job_id: int) -> bool:
    return await CameoRequestOut.filter(job_id=job_id, state="pending").exists()


def remote_reference_path(node: Node, grant_id: str) -> Path:
    """Where the reference sheet fetched for one remote grant is kept (private, deleted after the job)."""
    return private_dir(node) / f"remote-{hashlib.sha256(grant_id.encode()).hexdigest()[:32]}.reference.png"


async def report_use(node: Node, row: CameoRequestOut, state: str, obj: str) -> None:
    """Tell a cameo's owner what became of the use (`Add{object: post, target: grant, useState}`)."""
    owner = await resolve.fetch_actor(node, row.owner_uri)
    doc = documents.activity("Add", _activity_id(node, row.creator, "cameo_reports"), row.creator.uri, obj,
                             to=[owner.uri], target=row.grant_uri, useState=state)
    await _publish_to(node, row.creator, doc, [owner])


async def on_generation_updated(node: Node, job: GenerationJob, **_: Any) -> None:
    """A job with remote grants ended: its fetched references go, and each owner hears the result."""
    if job.state not in ("done", "failed", "cancelled"):
        return
    for row in await CameoRequestOut.filter(job_id=job.id, state="granted").prefetch_related("creator"):
        remote_reference_path(node, row.grant_uri).unlink(missing_ok=True)
        await report_use(node, row, "rendered" if job.state == "done" else "failed", row.post_uri)


async def on_status_created(node: Node, status: Status, **_: Any) -> None:
    """A video with remote grants was posted: each owner learns which Note shows them."""
    if not status.local:
        return
    job_ids = await (MediaAttachment.filter(status_id=status.id, generation_id__not_isnull=True)
                     .values_list("generation_id", flat=True))
    if not job_ids:
        return
    for row in await CameoRequestOut.filter(job_id__in=list(job_ids), state="granted").prefetch_related("creator"):
        await report_use(node, row, "posted", status.uri)
    # A local use whose deleted video is posted again is no longer deleted (a remote one: by "posted").
    await CameoUse.filter(job_id__in=list(job_ids), request_uri=None, remote_state="deleted").update(
        remote_state=None, status_uri=None)


def register(node: Node) -> None:
    node.on("generation.updated", on_generation_updated)
    node.on("status.created", on_status_created)
    node.on("status.removed", on_status_removed, details=True)
