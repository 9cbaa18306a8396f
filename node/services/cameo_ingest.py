"""Every node's check of the cameo grants of the remote video posts it stores (issue 14): each
grant on the Note and in the video's C2PA claim must hold for that very video and still be live.
A received revocation takes the posts that depend on it down at once; the others are
re-dereferenced every `provenance.cameo_grant_recheck_seconds`.

It fetches through the node's safe fetcher only (no actor storing): the activitypub modules that
store remote posts call it, below those that resolve actors.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from federation import documents
from federation.fetcher import FetchError
from node.activitypub.errors import ResolveError
from node.activitypub.runtime import federation
from node.context import Node
from node.models import Account, MediaAttachment, Status
from node.models.cameos import CameoGrantCheck
from node.services.statuses import mark_deleted
from provenance.consent import ResolvedKey, host_of, verify_video_grants
from provenance.proofs import proof_verification_method

log = logging.getLogger(__name__)


async def _fetch(node: Node, url: str) -> dict[str, Any]:
    """A signed GET of a document whose id is where it was served from."""
    fetched = await federation(node).fetcher.fetch_json(url, signed=True)
    if fetched.document.get("id") != url or documents.origin(fetched.url) != documents.origin(url):
        raise ResolveError(f"{url}: the document served there has another id")
    return fetched.document


async def _proof_key(node: Node, key_id: str) -> ResolvedKey | None:
    """The Ed25519 key a proof names, with the actor that lists it in `assertionMethod`."""
    holder = await Account.get_or_none(ed25519_key_id=key_id)
    if holder is not None and holder.ed25519_public_multikey:
        return ResolvedKey(key_id, holder.uri, holder.ed25519_public_multikey)
    try:
        actor = documents.parse_actor(await _fetch(node, key_id.split("#", 1)[0]))
    except (ResolveError, FetchError, documents.DocumentError):
        return None
    if actor.ed25519_key_id != key_id or not actor.ed25519_multikey:
        return None
    return ResolvedKey(key_id, actor.id, actor.ed25519_multikey)


def _generation_url(author_uri: str, job_id: Any) -> str | None:
    """The draft a renderer's grants are bound to: its generation, whose id its C2PA claim carries."""
    parts = urlsplit(author_uri)
    if not isinstance(job_id, str) or not job_id.isdigit() or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/api/v1/vitascope/generations/{job_id}"


async def check_post_grants(node: Node, author: Account, note: documents.RemoteNote,
                            media: list[MediaAttachment]) -> list[tuple[str, str]]:
    """Every grant of an ingested video post, on the Note (`cameoGrant`, dereferenced now: a
    revoked one answers 404/410) and in each video's C2PA claim: hosted by its owner's node,
    signed by the owner's key, bound to the generation that made this very video and to the
    post's author, the same grant on both sides, not expired. A post that fails is refused
    (documents.DocumentError) or, with provenance.unverified_media = "mark", kept with its media
    marked; the reason is logged. Returns the (grant, owner) pairs the stored post depends on."""
    videos = [m for m in media if isinstance(m.provenance, dict) and m.provenance.get("verified")]
    claimed = [(m, g) for m in videos for g in m.provenance.get("cameo_grants") or []]
    if not note.cameo_grants and not claimed:
        return []
    note_grants: list[Any] = []
    problems: list[str] = []
    for grant_id in note.cameo_grants:
        try:
            note_grants.append(await _fetch(node, grant_id))
        except (ResolveError, FetchError) as exc:
            gone = getattr(exc, "status", None) in (404, 410)
            problems.append(f"{grant_id}: {'revoked' if gone else 'could not be fetched'} ({exc})")
            note_grants.append({"id": grant_id})
    keys: dict[str, ResolvedKey] = {}
    for grant in [*note_grants, *(g for _, g in claimed)]:
        key_id = proof_verification_method(grant) if isinstance(grant, dict) else None
        if key_id and key_id not in keys and host_of(key_id):
            found = await _proof_key(node, key_id)
            if found is not None:
                keys[key_id] = found
    posts = {_generation_url(author.uri, m.provenance.get("job_id")) for m in videos if claimed or note.cameo_grants}
    post_id = posts.pop() if len(posts) == 1 else None
    if post_id is None:
        problems.append("the post's videos do not name one generation the grants could be bound to")
    verdicts = verify_video_grants(note_grants, [g for _, g in claimed], keys.get, post_id=post_id or "",
                                   author=author.uri)
    problems += [f"{v.grant_id}: {v.describe()}" for v in verdicts if not v.ok]
    if not problems:
        return [(v.grant.id, v.grant.owner) for v in verdicts if v.grant is not None]
    reason = "cameo consent: " + "; ".join(problems)
    log.warning("post %s by %s: %s", note.id, author.uri, reason)
    if node.config["provenance.unverified_media"] == "refuse":
        await _drop_media(node, media)
        raise documents.DocumentError(f"refused: {reason}"[:2000])
    for item in videos:
        item.provenance = {**item.provenance, "verified": False, "state": "cameo_consent", "reason": reason[:2000]}
        await item.save(update_fields=["provenance"])
    return []


async def _drop_media(node: Node, media: list[MediaAttachment]) -> None:
    for item in media:
        for rel in (item.file_path, item.preview_path):
            if rel:
                (node.config.media_dir / rel).unlink(missing_ok=True)
    await MediaAttachment.filter(id__in=[m.id for m in media], status_id=None).delete()


async def remember_post_grants(node: Node, status: Status, grants: list[tuple[str, str]]) -> None:
    """The stored post depends on these grants: re-checked by the TTL, dropped on revocation."""
    due = datetime.now(timezone.utc) + timedelta(seconds=node.config["provenance.cameo_grant_recheck_seconds"])
    await CameoGrantCheck.bulk_create([CameoGrantCheck(status_id=status.id, grant_uri=grant, owner_uri=owner,
                                                       recheck_at=due) for grant, owner in grants])


async def revoked_grant_received(node: Node, actor: Account, grant_id: str) -> bool:
    """A cameo owner's `Delete{grant}` reached us: the remote posts we hold that depend on it go."""
    checks = await CameoGrantCheck.filter(grant_uri=grant_id, owner_uri=actor.uri)
    if checks:
        await _take_down_remote(node, checks, f"revoked by {actor.uri}")
    return bool(checks)


async def _take_down_remote(node: Node, checks: list[CameoGrantCheck], reason: str) -> None:
    for check in checks:
        status = await Status.get_or_none(id=check.status_id, deleted_at=None)
        if status is not None:
            log.info("post %s taken down: grant %s %s", status.uri, check.grant_uri, reason)
            await mark_deleted(node, status)
    await CameoGrantCheck.filter(id__in=[c.id for c in checks]).delete()


async def recheck_grants(node: Node, limit: int = 100) -> int:
    """Dereference the grants due again; a revoked one (404/410, or a Tombstone) takes its posts down.
    A grant that cannot be fetched now is tried again at the next round. Returns how many were due."""
    now = datetime.now(timezone.utc)
    due = await CameoGrantCheck.filter(recheck_at__lte=now).order_by("recheck_at").limit(limit)
    later = now + timedelta(seconds=node.config["provenance.cameo_grant_recheck_seconds"])
    for check in due:
        try:
            doc = await _fetch(node, check.grant_uri)
            revoked = documents.type_of(doc) == "Tombstone"
        except (ResolveError, FetchError) as exc:
            revoked = getattr(exc, "status", None) in (404, 410)
            if not revoked:
                log.info("grant %s could not be re-checked: %s", check.grant_uri, exc)
        if revoked:
            await _take_down_remote(node, [check], "is no longer in force")
        else:
            await CameoGrantCheck.filter(id=check.id).update(recheck_at=later)
    return len(due)


async def run_rechecks(node: Node) -> None:
    """Background task: re-check due grants every few seconds (cheap when none is due)."""
    period = min(30.0, float(node.config["provenance.cameo_grant_recheck_seconds"]))
    while True:
        try:
            await recheck_grants(node)
        except Exception:
            log.exception("re-checking cameo grants failed")
        await asyncio.sleep(period)
