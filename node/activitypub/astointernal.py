"""ActivityStreams → our rows: remote posts stored as `Status` rows with their media, mentions and
hashtags (the direction GoToSocial's typeutils calls astointernal; the other way is
node.activitypub.internaltoas). The rows are inserted by node.services.statuses, as our own posts are.

`ingest_remote_media` is the one place a remote attachment becomes a `MediaAttachment`: it records
what the author published (URL, size, duration, blurhash, poster, digest) and, for videos, fetches
the file, checks it against the published `digestMultibase` (FEP-1311), verifies its C2PA provenance
and keeps a local copy. A file that cannot be fetched is not an error: the attachment keeps its
remote URL (fediverse-pasture and many real posts point at media that does not resolve).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
from datetime import datetime, timezone
from typing import Any

from tortoise.exceptions import IntegrityError

from federation import documents as ap
from federation.documents import RemoteMedia
from federation.fetcher import FetchError
from node.activitypub import blocked_domains, context_fetch
from node.activitypub.errors import Ignored, MediaRefused
from node.activitypub.runtime import federation
from node.context import Node
from node.ids import new_id
from node.media.files import MediaError, keep, new_media_path, poster, probe
from node.models import Account, MediaAttachment, Status
from node.serializers import provenance_json
from node.services import cameo_ingest, parental
from node.services import statuses as status_service
from node.text import html_to_text, sanitize_html
from node.trust import verify_file
from provenance.digests import parse_digest_multibase

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- posts


async def store_remote_status(node: Node, author: Account, doc: dict[str, Any], *,
                              ancestry: tuple[str, ...] = ()) -> Status:
    """A remote post as a Status row, with media, mentions and tags; notifies and streams like ours.

    It is stored at once with the context we have; what is missing — an unknown parent (up the
    thread; ``ancestry`` holds the replies below this post while a thread is fetched upwards) and
    unknown mentioned actors — is queued (node.activitypub.context_fetch) and fetched in the background
    (node.activitypub.context_jobs), so a slow host never holds the inbox.
    """
    note = checked_note(author, doc)
    existing = await Status.get_or_none(uri=note.id)
    if existing is not None:
        return existing
    below = (*ancestry, note.id)
    parent = await context_fetch.known_parent(note, below)
    remix_source = await Status.get_or_none(uri=note.remix_of) if note.remix_of else None
    mentioned, unknown_mentions = await context_fetch.known_mentions(node, note.mentions)
    visibility = ap.visibility(note.to, note.cc, author.followers_uri)
    if visibility == "direct":  # not delivered to teens whose guardian keeps this author out
        mentioned = await parental.direct_recipients(author, mentioned)
    media, _ = await _ingest_attachments(node, author, note, {})
    grants = await cameo_ingest.check_post_grants(node, author, note, media)
    status = _new_status(author, note, parent, remix_source)

    async def within() -> None:
        await context_fetch.link_waiting_replies(status)
        await cameo_ingest.remember_post_grants(node, status, grants)

    try:
        await status_service.insert_status(status, media=media, mentioned=mentioned, tags=note.hashtags,
                                           within=within)
    except IntegrityError:
        return await Status.get(uri=note.id)
    status.account = author
    await _link_after_commit(status, note, parent, below)
    await status_service.after_status_created(node, status, mentioned, note.hashtags, parent)
    await context_fetch.fetch_missing(node, status, below, unknown_mentions)
    return status


async def _link_after_commit(status: Status, note: ap.RemoteNote, parent: Status | None,
                             below: tuple[str, ...]) -> None:
    """A post and its reply stored at the same moment (an inbox batch and a context fetch) each
    commit without seeing the other, leaving the reply unlinked for good. Looking again after the
    commit closes that window: whichever of the two commits second sees the first."""
    await context_fetch.link_waiting_replies(status)
    if parent is None and note.in_reply_to:
        parent_now = await context_fetch.known_parent(note, below)
        if parent_now is not None:
            await context_fetch.link_waiting_replies(parent_now)


async def _link_all_after_commit(statuses: list[Status], notes: list[ap.RemoteNote],
                                 parents: list[Status | None]) -> None:
    """_link_after_commit for a run of posts stored together: one query for the replies waiting on any
    of them, one for the parents that were not stored when the run was read (then each found parent
    links its waiting replies, these among them)."""
    await context_fetch.link_all_waiting_replies(statuses)
    missing = {note.in_reply_to for note, parent in zip(notes, parents) if parent is None and note.in_reply_to}
    if missing:
        for parent in await Status.filter(uri__in=list(missing)):
            await context_fetch.link_waiting_replies(parent)


def checked_note(author: Account, doc: dict[str, Any]) -> ap.RemoteNote:
    """The post a document holds, if ``author`` may have it stored (else Ignored)."""
    note = ap.parse_note(doc)
    if note.attributed_to != author.uri:
        raise Ignored("post is attributed to someone else than the actor")
    if author.suspended_at is not None:
        raise Ignored("author is suspended by this server")
    return note


def _new_status(author: Account, note: ap.RemoteNote, parent: Status | None, remix_source: Status | None) -> Status:
    """The (unsaved) row of a remote post."""
    status = Status(**_status_values(author, note, parent, remix_source))
    status.account, status.in_reply_to, status.remix_of = author, parent, remix_source
    return status


def _status_values(author: Account, note: ap.RemoteNote, parent: Status | None,
                   remix_source: Status | None) -> dict[str, Any]:
    """The column values of a remote post's new row."""
    summary = html_to_text(note.summary).strip() if note.summary else ""
    # Dated when its author published it (as Mastodon), never later than now: a post fetched a year
    # after it was written shows its own date, and a date in the future cannot pin it to the top.
    now = datetime.now(timezone.utc)
    created_at = min(note.published, now) if note.published else now
    return status_service.status_values(
        id=new_id(), created_at=created_at, account_id=author.id, uri=note.id, url=(note.url or note.id)[:2048],
        content=sanitize_html(note.content_html), spoiler_text=summary[:500], sensitive=note.sensitive or bool(summary),
        visibility=ap.visibility(note.to, note.cc, author.followers_uri), language=note.language, local=False,
        in_reply_to_id=parent.id if parent else None, in_reply_to_account_id=parent.account_id if parent else None,
        in_reply_to_uri=note.in_reply_to, remix_of_id=remix_source.id if remix_source else None,
        remix_of_uri=note.remix_of, remixable=note.remixable)


async def store_remote_statuses(node: Node, posts: list[tuple[Account, ap.RemoteNote]]
                                ) -> list[tuple[Status, list[Account], list[str], Status | None]]:
    """Insert (author, post) pairs none of which is stored yet and none with media, with their mentions
    and tags, in one transaction: (status, mentioned accounts, unknown mentioned actors, parent) for each."""
    notes = [note for _, note in posts]
    parent_uris = [note.in_reply_to for note in notes if note.in_reply_to]
    parents = ({s.uri: s for s in await Status.filter(uri__in=parent_uris).prefetch_related("account")}
               if parent_uris else {})
    remix_uris = [note.remix_of for note in notes if note.remix_of]
    remixes = {s.uri: s for s in await Status.filter(uri__in=remix_uris)} if remix_uris else {}
    hrefs = {href for note in notes for href in list(dict.fromkeys(note.mentions))[:context_fetch.MAX_MENTIONS]}
    known = {a.uri: a for a in await Account.filter(uri__in=list(hrefs))} if hrefs else {}
    new = []
    context = []
    for author, note in posts:
        mentioned, unknown = context_fetch.sort_mentions(node, note.mentions, known)
        parent = parents.get(note.in_reply_to) if note.in_reply_to else None
        remix_source = remixes.get(note.remix_of) if note.remix_of else None
        new.append((_status_values(author, note, parent, remix_source), author, mentioned, note.hashtags))
        context.append((mentioned, unknown, parent, remix_source))
    statuses = await status_service.insert_statuses(new, within=context_fetch.link_all_waiting_replies)
    await _link_all_after_commit(statuses, notes, [parent for _, _, parent, _ in context])
    created = []
    for status, (mentioned, unknown, parent, remix_source) in zip(statuses, context):
        if parent is not None or remix_source is not None:
            status.in_reply_to, status.remix_of = parent, remix_source
        created.append((status, mentioned, unknown, parent))
    return created


async def edited_media(node: Node, author: Account, status: Status,
                        note: ap.RemoteNote) -> tuple[list[MediaAttachment], list[MediaAttachment]]:
    """(all, newly stored) attachments of an edited remote post: those it had are kept by URL, new
    ones are fetched and verified as on Create, and a refused one refuses the whole edit."""
    had = {m.remote_url: m for m in await MediaAttachment.filter(status_id=status.id)}
    return await _ingest_attachments(node, author, note, had)


async def _ingest_attachments(node: Node, author: Account, note: ap.RemoteNote, had: dict[str, MediaAttachment]
                              ) -> tuple[list[MediaAttachment], list[MediaAttachment]]:
    """(all, newly stored) media of a remote post; ``had`` (by URL) are kept as they are. Only
    verified AI video enters timelines: one refused file refuses the whole post, with the reason."""
    media: list[MediaAttachment] = []
    added: list[MediaAttachment] = []
    for attachment in note.attachments[:4]:
        if attachment.url in had:
            media.append(had[attachment.url])
            continue
        try:
            stored = await ingest_remote_media(node, author, attachment)
        except MediaRefused as exc:
            await MediaAttachment.filter(id__in=[m.id for m in added]).delete()
            raise Ignored(f"refused {attachment.url}: {exc}") from None
        if stored is not None:
            media.append(stored)
            added.append(stored)
    return media, added


# --------------------------------------------------------------------------- media


async def _download_video(node: Node, media: RemoteMedia) -> tuple[str, dict] | None:
    """Fetch and store the video; (relative path, probed facts) or None when it cannot be had."""
    try:
        data = await federation(node).fetcher.get_bytes(media.url, max_bytes=node.config["federation.max_fetch_bytes"],
                                                        accept="video/mp4, video/*;q=0.9")
    except FetchError as exc:
        log.info("remote media %s not fetched: %s", media.url, exc.reason)
        return None
    if media.digest_multibase:
        try:
            expected = parse_digest_multibase(media.digest_multibase)
        except ValueError as exc:
            raise MediaRefused(f"malformed digestMultibase: {exc}") from exc
        if hashlib.sha256(data).digest() != expected:
            raise MediaRefused("file does not match its digestMultibase")
    path, rel = new_media_path(node.config.media_dir, ".mp4")
    tmp = path.with_suffix(".part")
    await asyncio.to_thread(tmp.write_bytes, data)
    try:
        facts = await asyncio.to_thread(probe, tmp)
    except MediaError as exc:
        tmp.unlink(missing_ok=True)
        log.info("remote media %s is not a readable video: %s", media.url, exc)
        return None
    os.replace(tmp, path)
    preview = path.with_suffix(".jpg")
    try:
        blur = await asyncio.to_thread(poster, path, preview)
    except MediaError:
        blur = None
    return rel, {"facts": facts, "preview": rel[:-4] + ".jpg" if blur else None, "blurhash": blur}


async def _check_provenance(node: Node, account: Account, media: RemoteMedia, rel: str) -> dict:
    """The C2PA verdict of a downloaded video; raises MediaRefused when policy says refuse."""
    path = node.config.media_dir / rel
    verdict = await verify_file(node, path, account.domain, first_seen=datetime.now(timezone.utc))
    if media.manifest_id and verdict.manifest_id and media.manifest_id != verdict.manifest_id:
        verdict = dataclasses.replace(
            verdict, ok=False, reason=f"manifest {verdict.manifest_id} is not the {media.manifest_id} the post names")
    if not verdict.ok and node.config["provenance.unverified_media"] == "refuse":
        _remove(node, rel)
        raise MediaRefused(f"provenance: {verdict.reason or verdict.state}")
    return provenance_json(verdict)


def _remove(node: Node, rel: str) -> None:
    for suffix in (".mp4", ".jpg"):
        (node.config.media_dir / rel).with_suffix(suffix).unlink(missing_ok=True)


async def ingest_remote_media(node: Node, account: Account, media: RemoteMedia) -> MediaAttachment | None:
    """A remote attachment as a MediaAttachment (not yet tied to a status).

    Videos must be the file the post names (digestMultibase) and carry a valid C2PA manifest
    declaring AI origin from a node we trust (the origin's CA is pinned on first use); otherwise
    MediaRefused — or, with provenance.unverified_media = "mark", kept with an unverified mark.
    Other attachment kinds (images from other software) keep only their remote URL. Media of a
    domain whose media an admin rejects (a domain block's reject_media) are never downloaded.
    """
    stored = None
    provenance = None
    if media.kind == "video" and blocked_domains.rejects_media(account.domain):
        if node.config["provenance.unverified_media"] == "refuse":
            raise MediaRefused(f"media from {account.domain} are rejected by this server")
        provenance = {"verified": False, "state": "rejected", "reason": f"media from {account.domain} are rejected"}
    elif media.kind == "video":
        stored = await _download_video(node, media)
        if stored is not None:
            provenance = await _check_provenance(node, account, media, stored[0])
            await keep(node.store, node.config.media_dir, stored[0], stored[1]["preview"])
        elif node.config["provenance.unverified_media"] == "refuse":
            raise MediaRefused("provenance: the video could not be fetched for verification")
        else:
            provenance = {"verified": False, "state": "missing", "reason": "the video could not be fetched"}
    fields = dict(
        account=account, type=media.kind, remote_url=media.url, preview_remote_url=media.poster_url,
        content_type=media.media_type or "application/octet-stream", width=media.width, height=media.height,
        duration=media.duration, blurhash=media.blurhash, description=media.description,
        focus_x=media.focal_point[0], focus_y=media.focal_point[1], manifest_id=media.manifest_id,
        provenance=provenance,
    )
    if stored is not None:
        rel, extra = stored
        facts = extra["facts"]
        fields.update(file_path=rel, preview_path=extra["preview"], file_size=facts.size, width=facts.width,
                      height=facts.height, duration=facts.duration, fps=facts.fps, has_audio=facts.has_audio,
                      sha256=facts.sha256, blurhash=media.blurhash or extra["blurhash"])
    return await MediaAttachment.create(**fields)
