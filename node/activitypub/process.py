"""Processing stored inbox items into the node's services, one at a time, in arrival order.

The inbox stored each item after verifying it (federation.inbox); here a background task drains
`pending` rows. A handler either does its work (`done`), decides there is nothing to do
(`ignored`, with the reason), or fails (`error`, with the reason) — nothing is silently dropped,
and an item survives restarts because the row is the truth.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from collections.abc import Awaitable
from typing import Any

from federation import documents as ap
from federation.fetcher import FetchError
from node import redis_keys
from node.activitypub import astointernal, blocked_domains, cameo_inbox, context_fetch, resolve
from node.activitypub.errors import Ignored, ResolveError
from node.activitypub.outgoing import answer_follow
from node.activitypub.runtime import federation
from node.context import Node
from node.errors import ApiError
from node.models import Account, Block, Favourite, Follow, FollowRequest, MediaAttachment, Status
from node.services import account_deletion, cameo_answers, inbox_items, migration, reports, social
from node.services.inbox_items import ClaimedItem
from node.services import statuses as status_service
from node.services.visibility import can_see
from node.text import html_to_text, sanitize_html

log = logging.getLogger(__name__)

# What a suspended actor may still do (Mastodon's activity_allowed_while_suspended?): take things
# back, and update itself (how its server tells us it is no longer suspended).
ALLOWED_WHILE_SUSPENDED = frozenset({"Delete", "Reject", "Undo", "Update"})
# Items claimed at once, and the most Creates stored in one transaction.
BATCH = 200
CREATE_RUN = 100
# An item of these types may change its actor's row: the next item looks the actor up again.
CHANGES_ACTOR = frozenset({"Update", "Delete", "Move"})
IDLE_POLL_SECONDS = 2.0
STUCK_AFTER = timedelta(minutes=5)
STUCK_CHECK_SECONDS = 60
# While the inbox is busy, processing waits for a LULL without POSTs, but never more than MAX_DEFER.
LULL = 0.02
MAX_DEFER = 0.5
# Mastodon's ActivityPub::Activity::Move::PROCESSING_COOLDOWN: one Move per actor is taken up in this time.
MOVE_PROCESSING_COOLDOWN = timedelta(days=7)


# --------------------------------------------------------------------------- the loop


async def process_item(node: Node, item: ClaimedItem, actors: dict[str, Account]) -> None:
    """One item through its handler; its state and reason are set on ``item`` (saved per batch)."""

    async def handle() -> None:
        actor = await _actor(node, item, actors)
        try:
            await HANDLERS[item.type](node, actor, item.document)
        finally:
            if item.type in CHANGES_ACTOR:
                actors.pop(item.actor_uri, None)

    await _settle(item, handle())


async def _actor(node: Node, item: ClaimedItem, actors: dict[str, Account]) -> Account:
    """The item's actor, looked up once per batch (``actors``), or Ignored when it may not act."""
    if blocked_domains.suspends(ap.origin(item.actor_uri)):
        raise Ignored("the actor's domain is suspended by this server")
    actor = actors.get(item.actor_uri)
    if actor is None:
        actor = actors[item.actor_uri] = await resolve.fetch_actor(node, item.actor_uri)
    if actor.deleted_at is not None and item.type != "Delete":
        raise Ignored("actor is deleted")
    if actor.suspended_at is not None and item.type not in ALLOWED_WHILE_SUSPENDED:
        raise Ignored("actor is suspended " + ("by its server" if actor.suspended_remotely else "by this server"))
    return actor


async def _settle(item: ClaimedItem, work: Awaitable[Any]) -> None:
    """Run ``work`` for ``item`` and set its outcome: done, or as ``_failed`` says."""
    try:
        await work
    except Exception as exc:
        _failed(item, exc)
    else:
        _finish(item, "done", None)


def _failed(item: ClaimedItem, exc: Exception) -> None:
    """Ignored (nothing to do, or a document we cannot use) or error, with the reason on the row;
    an error is logged with its traceback."""
    if isinstance(exc, (Ignored, ap.DocumentError)):
        _finish(item, "ignored", str(exc))
        log.info("inbox item %s (%s from %s) ignored: %s", item.id, item.type, item.actor_uri, exc)
    else:
        log.error("inbox item %s (%s from %s) failed", item.id, item.type, item.actor_uri, exc_info=exc)
        _finish(item, "error", f"{type(exc).__name__}: {exc}"[:2000])


def _finish(item: ClaimedItem, state: str, error: str | None) -> None:
    item.state, item.error = state, error
    item.attempts += 1
    item.processed_at = datetime.now(timezone.utc)


async def _yield_to_inbox(node: Node) -> None:
    """Ingest first: while POSTs keep arriving, wait for a lull (at most MAX_DEFER per step)."""
    runtime = federation(node)
    waited = 0.0
    while time.monotonic() - runtime.last_inbox_post < LULL and waited < MAX_DEFER:
        await asyncio.sleep(LULL)
        waited += LULL


async def process_pending(node: Node, limit: int = BATCH) -> int:
    """Claim up to ``limit`` pending items and process them in arrival order; returns how many.

    Runs of Creates with embedded posts are stored together (process_creates); every other item
    goes through its handler alone, in its place. Outcomes are written in one statement at the end
    (a process that dies before leaves the batch "processing", and it is claimed again after
    STUCK_AFTER: every handler is idempotent).
    """
    items = await inbox_items.claim_pending(limit)
    actors: dict[str, Account] = {}
    start = 0
    while start < len(items):
        await _yield_to_inbox(node)
        end = start
        while end < len(items) and end - start < CREATE_RUN and _embedded_create(items[end]):
            end += 1
        if end - start > 1:
            await process_creates(node, items[start:end], actors)
        else:
            end = start + 1
            await process_item(node, items[start], actors)
        start = end
    if items:
        await inbox_items.record_outcomes(items)
    return len(items)


def _embedded_create(item: ClaimedItem) -> bool:
    return item.type == "Create" and isinstance(item.document.get("object"), dict)


async def run_processor(node: Node) -> None:
    """Background task: drain pending items; woken by the inbox, polling as a fallback.

    A wake-up from a busy inbox waits for a lull before querying, so a burst of POSTs does not
    cost a query per POST; items claimed by a process that died go back to the queue on start
    and every STUCK_CHECK_SECONDS.
    """
    wakeup = federation(node).inbox_wakeup
    processed = 0
    next_stuck_check = 0.0
    while True:
        wakeup.clear()
        try:
            if time.monotonic() >= next_stuck_check:
                await inbox_items.release_stuck(datetime.now(timezone.utc) - STUCK_AFTER)
                next_stuck_check = time.monotonic() + STUCK_CHECK_SECONDS
            await _yield_to_inbox(node)
            processed = await process_pending(node)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("inbox processor failed; retrying shortly")
            processed = 0
        if processed == 0:
            try:
                await asyncio.wait_for(wakeup.wait(), timeout=IDLE_POLL_SECONDS)
            except TimeoutError:
                pass


# --------------------------------------------------------------------------- helpers


async def local_account(node: Node, reference: Any) -> Account | None:
    uri = ap.id_of(reference)
    if not uri or not node.urls.is_local(uri):
        return None
    return await Account.get_or_none(uri=uri, domain=None, deleted_at=None)


async def local_account_or_ignore(node: Node, reference: Any) -> Account:
    account = await local_account(node, reference)
    if account is None:
        raise Ignored("object is not one of our accounts")
    return account


def _object(doc: dict[str, Any]) -> Any:
    if "object" not in doc:
        raise Ignored("activity has no object")
    return doc["object"]


# --------------------------------------------------------------------------- Follow / Accept / Reject


async def handle_follow(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    target = await local_account_or_ignore(node, _object(doc))
    follow_uri = doc.get("id") if isinstance(doc.get("id"), str) else None
    existing = await Follow.get_or_none(account_id=actor.id, target_id=target.id)
    if existing is not None:
        # They follow already (their Accept got lost, or they re-followed): answer again.
        if follow_uri and existing.uri != follow_uri:
            existing.uri = follow_uri
            await existing.save(update_fields=["uri"])
        await answer_follow(node, "Accept", follow_uri, actor, target)
        return
    if target.suspended_at is not None:  # no new followers while suspended (its follows stay)
        await answer_follow(node, "Reject", follow_uri, actor, target)
        raise Ignored("the account is suspended by this server")
    try:
        await social.follow(node, actor, target, uri=follow_uri)
    except ApiError:
        await answer_follow(node, "Reject", follow_uri, actor, target)
        raise Ignored("follow not allowed (blocked)") from None
    if await Follow.filter(account_id=actor.id, target_id=target.id).exists():
        await answer_follow(node, "Accept", follow_uri, actor, target)
    # else: a locked account has a request to authorize; Accept/Reject follow from its decision.


async def _our_follow_request(node: Node, actor: Account, follow_ref: Any) -> tuple[FollowRequest | None, Follow | None]:
    """Our follow of ``actor`` named by an Accept/Reject: by id, or by (follower, actor)."""
    follow_id = ap.id_of(follow_ref)
    if follow_id:
        request = await FollowRequest.get_or_none(uri=follow_id, target_id=actor.id)
        follow = await Follow.get_or_none(uri=follow_id, target_id=actor.id)
        if request or follow:
            return request, follow
    follower_ref = follow_ref.get("actor") if isinstance(follow_ref, dict) else None
    follower = await local_account(node, follower_ref)
    if follower is None:
        return None, None
    return (await FollowRequest.get_or_none(account_id=follower.id, target_id=actor.id),
            await Follow.get_or_none(account_id=follower.id, target_id=actor.id))


async def handle_accept(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    if await cameo_answers.receive_answer(node, actor, doc):
        return
    request, _ = await _our_follow_request(node, actor, _object(doc))
    if request is None:
        raise Ignored("no pending follow request matches")
    await social.accept_request(node, request)


async def handle_reject(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    if await cameo_answers.receive_answer(node, actor, doc):
        return
    request, follow = await _our_follow_request(node, actor, _object(doc))
    if request is not None:
        await social.reject(node, actor, request.account_id)
    elif follow is not None:
        await social.unfollow(node, await Account.get(id=follow.account_id), actor)
    else:
        raise Ignored("no follow matches")


# --------------------------------------------------------------------------- Undo


async def handle_undo(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    inner = _object(doc)
    inner_id = ap.id_of(inner)
    if isinstance(inner, dict) and ap.id_of(inner.get("actor")) not in (None, actor.uri):
        raise Ignored("cannot undo another actor's activity")
    if inner_id:
        follow = (await Follow.get_or_none(uri=inner_id, account_id=actor.id)
                  or await FollowRequest.get_or_none(uri=inner_id, account_id=actor.id))
        if follow is not None:
            await social.unfollow(node, actor, await Account.get(id=follow.target_id))
            return
        favourite = await Favourite.get_or_none(uri=inner_id, account_id=actor.id)
        if favourite is not None:
            await status_service.unfavourite(node, actor, await Status.get(id=favourite.status_id))
            return
        boost = await Status.get_or_none(uri=inner_id, account_id=actor.id, reblog_of_id__not_isnull=True,
                                         deleted_at=None)
        if boost is not None:
            await status_service.unreblog(node, actor, await Status.get(id=boost.reblog_of_id))
            return
        block = await Block.get_or_none(uri=inner_id, account_id=actor.id)
        if block is not None:
            await social.unblock(node, actor, await Account.get(id=block.target_id))
            return
    kind = ap.type_of(inner)
    target_ref = inner.get("object") if isinstance(inner, dict) else None
    if kind == "Follow" and (target := await local_account(node, target_ref)):
        await social.unfollow(node, actor, target)
    elif kind == "Like" and (status := await Status.get_or_none(uri=ap.id_of(target_ref) or "")):
        await status_service.unfavourite(node, actor, status)
    elif kind == "Announce" and (status := await Status.get_or_none(uri=ap.id_of(target_ref) or "")):
        await status_service.unreblog(node, actor, status)
    elif kind == "Block" and (target := await local_account(node, target_ref)):
        await social.unblock(node, actor, target)
    else:
        raise Ignored("nothing to undo")


# --------------------------------------------------------------------------- posts


async def handle_create(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    obj = _object(doc)
    if isinstance(obj, str):
        try:
            obj = await resolve.fetch_document(node, obj)
        except (FetchError, ResolveError) as exc:
            raise Ignored(f"object could not be fetched: {exc}") from None
    await astointernal.store_remote_status(node, await _post_author(node, actor, obj), obj)


async def _post_author(node: Node, actor: Account, obj: Any) -> Account:
    """Who wrote the post a Create carries: the actor, or for a relayed post its author."""
    if ap.type_of(obj) not in ap.NOTE_TYPES:
        raise Ignored(f"Create of {ap.type_of(obj)} is not supported")
    if ap.origin(obj.get("id")) != ap.origin(actor.uri) and ap.id_of(obj.get("attributedTo")) != actor.uri:
        # The inbox confirmed the object at its origin: it is its author's post, relayed.
        return await resolve.actor_for(node, obj.get("attributedTo"))
    return actor


async def process_creates(node: Node, items: list[ClaimedItem], actors: dict[str, Account]) -> None:
    """A run of Creates with embedded posts, stored with a few statements for all of them.

    Each post is checked as handle_create checks it. Those that need more than their document and
    what is stored already — media to fetch, a parent or remix source in this same run, a second
    copy of a post, recipients to check (direct posts) — then go through handle_create alone, in
    order, after the others; those already stored are done. The rest are inserted in one
    transaction; if it fails, each goes through handle_create alone, so a bad post fails only itself.
    """
    checked: list[tuple[ClaimedItem, Account, ap.RemoteNote]] = []
    for item in items:
        try:
            actor = await _actor(node, item, actors)
            author = await _post_author(node, actor, item.document["object"])
            checked.append((item, author, astointernal.checked_note(author, item.document["object"])))
        except Exception as exc:
            _failed(item, exc)
    try:
        alone = await _store_run(node, checked)
    except Exception:  # nothing was stored: each post alone, so the one that cannot be fails by itself
        log.warning("storing %d posts together failed; storing them one by one", len(checked), exc_info=True)
        alone = [item for item, _, _ in checked if item.state == "processing"]
    for item in alone:
        await process_item(node, item, actors)


async def _store_run(node: Node, checked: list[tuple[ClaimedItem, Account, ap.RemoteNote]]) -> list[ClaimedItem]:
    """Stores the checked posts that can go together (their items done); returns the others' items."""
    in_run = {note.id for _, _, note in checked}
    stored = set(await Status.filter(uri__in=list(in_run)).values_list("uri", flat=True)) if in_run else set()
    together: list[tuple[ClaimedItem, Account, ap.RemoteNote]] = []
    alone: list[ClaimedItem] = []
    seen: set[str] = set()
    for item, author, note in checked:
        if (note.id in seen or note.attachments or note.in_reply_to in in_run or note.remix_of in in_run
                or ap.visibility(note.to, note.cc, author.followers_uri) == "direct"):
            alone.append(item)
        elif note.id not in stored:
            together.append((item, author, note))
        seen.add(note.id)
    created = (await astointernal.store_remote_statuses(node, [(author, note) for _, author, note in together])
               if together else [])
    for item, _, note in checked:
        if note.id in stored and item not in alone:
            _finish(item, "done", None)  # as handle_create finds it stored
    try:
        listening: list[list[str] | None] = await status_service.new_statuses_listening(
            node, [(status, note.hashtags) for (_, _, note), (status, *_) in zip(together, created)])
    except Exception:  # the posts are stored: each looks its listeners up itself, failing alone
        log.warning("looking up the listeners of %d posts together failed", len(created), exc_info=True)
        listening = [None] * len(created)
    for (item, _, note), (status, mentioned, unknown, parent), streams in zip(together, created, listening):
        await _settle(item, _after_post_stored(node, status, note, mentioned, unknown, parent, streams))
    return alone


async def _after_post_stored(node: Node, status: Status, note: ap.RemoteNote, mentioned: list[Account],
                             unknown: list[str], parent: Status | None, listening: list[str] | None) -> None:
    await status_service.after_status_created(node, status, mentioned, note.hashtags, parent, listening=listening)
    await context_fetch.fetch_missing(node, status, (note.id,), unknown)


async def handle_update(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    obj = _object(doc)
    if not isinstance(obj, dict):
        raise Ignored("Update needs an embedded object")
    kind = ap.type_of(obj)
    if kind in ap.ACTOR_TYPES:
        if obj.get("id") != actor.uri:
            raise Ignored("cannot update another actor")
        await resolve.upsert_actor(node, ap.parse_actor(obj))
        return
    if kind not in ap.NOTE_TYPES:
        raise Ignored(f"Update of {kind} is not supported")
    status = await Status.get_or_none(uri=obj.get("id"), account_id=actor.id, deleted_at=None)
    if status is None:
        raise Ignored("unknown post")
    note = ap.parse_note(obj)
    if note.attributed_to != actor.uri:
        raise Ignored("cannot update another actor's post")
    if note.updated and status.edited_at and note.updated < status.edited_at:
        raise Ignored("older than the edit we have")
    media, added = await astointernal.edited_media(node, actor, status, note)
    summary = html_to_text(note.summary).strip()
    mentioned = await Account.filter(uri__in=list(dict.fromkeys(note.mentions))[:100], deleted_at=None)
    status.account = actor
    try:  # the edit is kept as a revision (GET /history), as for our own posts
        changed = await status_service.save_edit(node, status, actor, fields={
            "content": sanitize_html(note.content_html), "spoiler_text": summary[:500],
            "sensitive": note.sensitive or bool(summary), "language": note.language or status.language},
            media=media, tags=note.hashtags, mentioned=list(mentioned),
            edited_at=note.updated or datetime.now(timezone.utc))
    except Exception:
        await MediaAttachment.filter(id__in=[m.id for m in added], status_id=None).delete()
        raise
    if not changed:
        raise Ignored("the update changes nothing")


async def handle_delete(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    object_id = ap.id_of(_object(doc))
    if object_id == actor.uri:
        await account_deletion.delete_actor(node, actor)
        return
    if await cameo_answers.grant_deleted(node, actor, doc):
        return
    status = await Status.get_or_none(uri=object_id or "", account_id=actor.id, deleted_at=None)
    if status is None:
        raise Ignored("unknown object")
    await status_service.mark_deleted(node, status)


# --------------------------------------------------------------------------- reactions


async def handle_like(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    status = await Status.get_or_none(uri=ap.id_of(_object(doc)) or "", deleted_at=None)
    if status is None or not await can_see(actor, status):
        raise Ignored("unknown post")
    await status_service.favourite(node, actor, status, uri=doc.get("id"))


async def handle_announce(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    object_id = ap.id_of(_object(doc))
    if not object_id:
        raise Ignored("Announce without object")
    status = await resolve.fetch_status(node, object_id)
    if status is None or status.deleted_at is not None or not await can_see(actor, status):
        raise Ignored("announced post is unknown or not visible")
    visibility = ap.visibility(ap.ids_of(doc.get("to")), ap.ids_of(doc.get("cc")), actor.followers_uri)
    if visibility not in ("public", "unlisted"):
        visibility = "private"
    try:
        await status_service.reblog(node, actor, status, visibility, uri=doc.get("id"))
    except ApiError as exc:
        raise Ignored(exc.message) from None


async def handle_block(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    target = await local_account_or_ignore(node, _object(doc))
    await social.block(node, actor, target, uri=doc.get("id"))


async def handle_flag(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    """A report from another server: stored for our admins, who are notified (unless an admin
    rejects reports from that server)."""
    if blocked_domains.rejects_reports(actor.domain):
        raise Ignored(f"reports from {actor.domain} are rejected by this server")
    targets: list[Account] = []
    statuses: list[Status] = []
    for object_id in ap.ids_of(doc.get("object")):
        account = await local_account(node, object_id)
        if account is not None:
            targets.append(account)
            continue
        status = await Status.get_or_none(uri=object_id, local=True)
        if status is not None:
            statuses.append(status)
    if not targets and statuses:
        targets.append(await Account.get(id=statuses[0].account_id))
    if not targets:
        raise Ignored("report names none of our accounts")
    comment = doc.get("content") if isinstance(doc.get("content"), str) else ""
    report = await reports.file_report(node, actor, targets[0], statuses, html_to_text(comment)[:5000],
                                       uri=doc.get("id"))
    log.info("report %s from %s about %s", report.id, actor.uri, targets[0].uri)


async def handle_move(node: Node, actor: Account, doc: dict[str, Any]) -> None:
    """Mastodon's Move: the actor moved to `target`, and our users who followed it follow the target.

    Only an account can move itself, and only to an account that, fetched afresh from its server,
    names it in alsoKnownAs and has not moved on (services.migration.refusal). As Mastodon
    (ActivityPub::Activity::Move), a Move taken up holds the actor's `move_in_progress` key in Redis for
    MOVE_PROCESSING_COOLDOWN, so another Move from it in that time is ignored, to whatever target; a
    refused (or failed) one lets the key go. A replay after that finds it moved already and no
    followers left: ignored, nothing changes.
    """
    if ap.id_of(_object(doc)) != actor.uri:
        raise Ignored("a Move must move the actor that sends it")
    target_uri = ap.id_of(doc.get("target"))
    if not target_uri:
        raise Ignored("Move without a target")
    key = redis_keys.move_in_progress(actor.id)
    if not await node.redis.set(key, target_uri, nx=True, ex=MOVE_PROCESSING_COOLDOWN):
        raise Ignored(f"already moved: a Move from this account was taken up less than "
                      f"{MOVE_PROCESSING_COOLDOWN.days} days ago, and another is ignored until then")
    try:
        try:
            target = await resolve.fresh_actor(node, target_uri)
        except (ResolveError, FetchError) as exc:
            raise Ignored(f"move target could not be fetched: {exc}") from None
        reason = migration.refusal(node, actor, target)
        if reason:
            raise Ignored(reason)
        already, moved = await migration.follow_move(node, actor, target.account)
    except BaseException:  # refused, or failed (it may be retried): not taken up
        await node.redis.delete(key)
        raise
    if already and not moved:
        raise Ignored(f"already moved to {target.account.uri}; no followers here left to move")
    log.info("%s moved to %s: %d local followers follow it now", actor.uri, target.account.uri, moved)


HANDLERS = {
    "Follow": handle_follow,
    "Accept": handle_accept,
    "Reject": handle_reject,
    "Undo": handle_undo,
    "Create": handle_create,
    "Update": handle_update,
    "Delete": handle_delete,
    "Like": handle_like,
    "Announce": handle_announce,
    "Block": handle_block,
    "Flag": handle_flag,
    "Move": handle_move,
    "CameoRequest": cameo_inbox.handle_cameo_request,
    "Add": cameo_inbox.handle_add,
}
# The activity types the inbox accepts (federation.inbox): those with a handler.
HANDLED_TYPES = frozenset(HANDLERS)
