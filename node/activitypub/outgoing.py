"""What our users do, sent to the servers that should hear of it.

Listeners on the node's events build the activity (internaltoas.py / federation.documents), add an
FEP-8b32 proof with the actor's Ed25519 key, store it as an `OutboxActivity` (so its id
dereferences and retries resend the same bytes), and queue one `Delivery` per target inbox after
shared-inbox de-duplication. Only local actors' actions are sent; what remote actors did arrived
from their servers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tortoise.transactions import in_transaction

from federation import documents as ap
from federation.delivery import Recipient, inboxes
from node.activitypub import blocked_domains, internaltoas
from node.activitypub.delivery import enqueue
from node.context import Node
from node.ids import new_id
from node.models import Account, Block, Delivery, Favourite, Follow, Mention, OutboxActivity, Report, Status
from provenance.proofs import create_proof

log = logging.getLogger(__name__)


def recipient(account: Account) -> Recipient:
    return Recipient(inbox=account.inbox_uri or "", shared_inbox=account.shared_inbox_uri)


async def follower_recipients(account: Account) -> list[Recipient]:
    rows = await Follow.filter(target_id=account.id, account__domain__not_isnull=True,
                               account__deleted_at=None).values("account__inbox_uri", "account__shared_inbox_uri")
    return [Recipient(r["account__inbox_uri"] or "", r["account__shared_inbox_uri"]) for r in rows]


def sign(account: Account, doc: dict[str, Any]) -> dict[str, Any]:
    """Add the FEP-8b32 proof that lets relays and fetchers verify the activity on its own."""
    if account.ed25519_private_pem and account.ed25519_key_id:
        return create_proof(doc, account.ed25519_private_pem, account.ed25519_key_id)
    return doc


async def publish(node: Node, account: Account | None, doc: dict[str, Any], targets: Iterable[Recipient], *,
                  public: bool, audience: Iterable[str] = ()) -> OutboxActivity:
    """Store a signed activity and queue its deliveries (one per distinct inbox).

    ``account`` None: the instance actor sends it (HTTP-signed with its RSA key; it has no Ed25519 key).
    Nothing goes to suspended domains.
    """
    signed = sign(account, doc) if account is not None else doc
    destinations = [inbox for inbox in inboxes(targets, exclude_origin=node.config.domain)
                    if not blocked_domains.suspends(ap.origin(inbox))]
    async with in_transaction():
        activity = await OutboxActivity.create(uri=signed["id"], account=account, type=signed["type"],
                                               document=signed, public=public, audience=list(audience))
        rows = [Delivery(activity_id=activity.id, inbox=inbox, domain=ap.origin(inbox)) for inbox in destinations]
        if rows:
            await Delivery.bulk_create(rows, batch_size=500)
    if rows:
        # The rows are committed (the sweeper would find them); queueing a big fan-out need not
        # hold up the user's request.
        task = asyncio.create_task(enqueue(node, [r.id for r in rows]))
        _queueing.add(task)
        task.add_done_callback(_queued)
    return activity


_queueing: set[asyncio.Task] = set()


async def queued() -> None:
    """Wait until every delivery queued so far is in Redis (for short-lived processes: the CLI)."""
    await asyncio.gather(*_queueing, return_exceptions=True)


def _queued(task: asyncio.Task) -> None:
    _queueing.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("queueing deliveries failed; the sweeper queues them once Redis answers", exc_info=task.exception())


def activity_id(node: Node, account: Account, kind: str) -> str:
    return node.urls.activity(account.username, kind, new_id())


# --------------------------------------------------------------------------- listeners


async def on_status_created(node: Node, status: Status) -> None:
    account = status.account
    if not status.local or account.domain is not None or status.reblog_of_id:
        return
    doc = await internaltoas.create(node, status)
    addressed = await addressees(doc["object"])
    await publish(node, account, doc, await _post_recipients(status, addressed),
                  public=status.visibility in ("public", "unlisted"), audience=[a.uri for a in addressed])


async def on_status_updated(node: Node, status: Status) -> None:
    """An edit: `Update` with the post rendered as for `Create` (now with `updated`), to the Create's
    audience and, as Mastodon's StatusReachFinder, remote accounts that boosted or liked it."""
    account = status.account
    if not status.local or account.domain is not None or status.reblog_of_id:
        return
    note = await internaltoas.note(node, status)
    doc = ap.activity("Update", activity_id(node, account, "updates"), account.uri, note, to=note["to"],
                      cc=note["cc"], published=status.edited_at)
    addressed = await addressees(note)
    targets = await _post_recipients(status, addressed)
    boosters = await (Status.filter(reblog_of_id=status.id, deleted_at=None, account__domain__not_isnull=True)
                      .prefetch_related("account"))
    likers = await Favourite.filter(status_id=status.id, account__domain__not_isnull=True).prefetch_related("account")
    targets += [recipient(row.account) for row in [*boosters, *likers]]
    await publish(node, account, doc, targets, public=status.visibility in ("public", "unlisted"),
                  audience=[a.uri for a in addressed])


async def addressees(note: dict[str, Any]) -> list[Account]:
    """The actors a Note of ours names in `to`/`cc`: the mentioned accounts and the owners of the
    cameos its videos show (node.services.cameo_documents). Each is sent the post, as Mastodon
    delivers to mentioned accounts."""
    uris = [u for u in [*note.get("to", []), *note.get("cc", [])] if u != ap.AS_PUBLIC]
    return await Account.filter(uri__in=uris, deleted_at=None) if uris else []


async def _post_recipients(status: Status, addressed: list[Account]) -> list[Recipient]:
    """Who receives one of our posts: its addressed audience (followers unless direct, the remote
    actors its Note names) and, for public and unlisted posts only, the parent's author and the remix
    source's author. A followers-only or direct reply reaches the parent's author only if it follows
    or is addressed: nobody is sent what the post's audience excludes."""
    account = status.account
    targets = [] if status.visibility == "direct" else await follower_recipients(account)
    targets += [recipient(a) for a in addressed if a.domain]
    if status.visibility in ("public", "unlisted"):
        targets += await _parent_and_source_authors(status)
    return targets


async def _parent_and_source_authors(status: Status) -> list[Recipient]:
    """The remote authors of the post it replies to and of the video it remixes."""
    targets = []
    if status.in_reply_to_account_id:
        parent_author = await Account.get_or_none(id=status.in_reply_to_account_id)
        if parent_author is not None and parent_author.domain:
            targets.append(recipient(parent_author))
    if status.remix_of_id:
        source = await Status.get_or_none(id=status.remix_of_id).prefetch_related("account")
        if source is not None and source.account.domain:
            targets.append(recipient(source.account))
    return targets


async def _status_targets(node: Node, status: Status) -> list[Recipient]:
    """Everyone who may hold a copy of the post: who `_post_recipients` sent it to (the actors its
    Create named are kept with it: a deleted post's videos, and so its cameo owners, are gone)."""
    targets = [] if status.visibility == "direct" else await follower_recipients(status.account)
    mentioned = await Mention.filter(status_id=status.id, account__domain__not_isnull=True).prefetch_related("account")
    targets += [recipient(m.account) for m in mentioned]
    named = await (OutboxActivity.filter(uri=node.urls.status_activity(status.account.username, status.id))
                   .values_list("audience", flat=True))
    if named and named[0]:
        targets += [recipient(a) for a in await Account.filter(uri__in=named[0], domain__not_isnull=True,
                                                                deleted_at=None)]
    if status.visibility in ("public", "unlisted"):
        targets += await _parent_and_source_authors(status)
    if status.reblog_of_id:
        original = await Status.get_or_none(id=status.reblog_of_id).prefetch_related("account")
        if original is not None and original.account.domain:
            targets.append(recipient(original.account))
    return targets


async def on_status_deleted(node: Node, status: Status) -> None:
    account = await status.account
    if account.domain is not None:
        return
    status.account = account
    doc = ap.activity("Delete", activity_id(node, account, "deletes"), account.uri,
                      ap.embedded(ap.tombstone(status.uri, "Note")), to=[ap.AS_PUBLIC])
    await publish(node, account, doc, await _status_targets(node, status), public=True)


async def on_reblog_created(node: Node, status: Status) -> None:
    account = status.account
    if account.domain is not None:
        return
    doc = await internaltoas.announce(node, status)
    await publish(node, account, doc, await _status_targets(node, status), public=True)


async def on_reblog_deleted(node: Node, status: Status, account: Account) -> None:
    if account.domain is not None:
        return
    status.account = account
    original = await Status.get_or_none(id=status.reblog_of_id).prefetch_related("account")
    if original is None:
        return
    inner = ap.activity("Announce", status.uri, account.uri, original.uri)
    doc = ap.activity("Undo", activity_id(node, account, "undos"), account.uri, inner, to=[ap.AS_PUBLIC])
    await publish(node, account, doc, await _status_targets(node, status), public=True)


def like_id(node: Node, account: Account, favourite_id: int) -> str:
    return node.urls.activity(account.username, "likes", favourite_id)


async def on_favourite_created(node: Node, favourite) -> None:
    account = await favourite.account
    status = await Status.get(id=favourite.status_id).prefetch_related("account")
    if account.domain is not None or status.account.domain is None:
        return
    doc = ap.activity("Like", like_id(node, account, favourite.id), account.uri, status.uri, to=[status.account.uri])
    await publish(node, account, doc, [recipient(status.account)], public=True)


async def on_favourite_deleted(node: Node, favourite, status: Status, account: Account) -> None:
    author = await status.account
    if account.domain is not None or author.domain is None:
        return
    inner = ap.activity("Like", like_id(node, account, favourite.id), account.uri, status.uri)
    doc = ap.activity("Undo", activity_id(node, account, "undos"), account.uri, inner, to=[author.uri])
    await publish(node, account, doc, [recipient(author)], public=True)


async def on_follow_requested(node: Node, request, account: Account, target: Account) -> None:
    if account.domain is not None or target.domain is None:
        return
    await publish(node, account, ap.follow(request.uri, account.uri, target.uri), [recipient(target)], public=True)


def _their_follow(follow_uri: str | None, follower: Account, target: Account) -> dict[str, Any] | str:
    """The Follow we answer: by its id when it had one (a remote follow always does)."""
    follow = {"id": follow_uri, "type": "Follow", "actor": follower.uri, "object": target.uri}
    return follow if follow_uri else {k: v for k, v in follow.items() if k != "id"}


async def answer_follow(node: Node, kind: str, follow_uri: str | None, follower: Account, target: Account) -> None:
    """Accept or Reject (``kind``) a follow of our ``target``, to the follower."""
    doc = ap.activity(kind, activity_id(node, target, kind.lower() + "s"), target.uri,
                      _their_follow(follow_uri, follower, target), to=[follower.uri])
    await publish(node, target, doc, [recipient(follower)], public=True)


async def on_follow_accepted(node: Node, follow, account: Account, target: Account) -> None:
    if account.domain is None or target.domain is not None:
        return
    await answer_follow(node, "Accept", follow.uri, account, target)


async def on_follow_rejected(node: Node, request, account: Account, target: Account) -> None:
    if account.domain is None or target.domain is not None:
        return
    await answer_follow(node, "Reject", request.uri, account, target)


async def on_follow_removed(node: Node, follow, account: Account, target: Account) -> None:
    """A local user removed a remote follower: Mastodon sends Reject{Follow} for that."""
    if account.domain is None or target.domain is not None:
        return
    await answer_follow(node, "Reject", follow.uri, account, target)


async def on_follow_undone(node: Node, uri: str | None, account: Account, target: Account) -> None:
    if account.domain is not None or target.domain is None:
        return
    doc = ap.activity("Undo", activity_id(node, account, "undos"), account.uri,
                      ap.follow(uri or activity_id(node, account, "follows"), account.uri, target.uri), to=[target.uri])
    await publish(node, account, doc, [recipient(target)], public=True)


async def on_block_created(node: Node, block, account: Account, target: Account) -> None:
    if account.domain is not None or target.domain is None:
        return
    doc = ap.activity("Block", block.uri, account.uri, target.uri, to=[target.uri])
    await publish(node, account, doc, [recipient(target)], public=False, audience=[target.uri])


async def on_block_deleted(node: Node, block, account: Account, target: Account) -> None:
    if account.domain is not None or target.domain is None:
        return
    inner = ap.activity("Block", block.uri, account.uri, target.uri)
    doc = ap.activity("Undo", activity_id(node, account, "undos"), account.uri, inner, to=[target.uri])
    await publish(node, account, doc, [recipient(target)], public=False, audience=[target.uri])


async def on_account_updated(node: Node, account: Account) -> None:
    if account.domain is not None:
        return
    doc = ap.activity("Update", activity_id(node, account, "updates"), account.uri,
                      ap.embedded(await internaltoas.person(node, account)), to=[ap.AS_PUBLIC])
    await publish(node, account, doc, await follower_recipients(account), public=True)


async def on_account_moved(node: Node, account: Account, target: Account) -> None:
    """Mastodon's Move (MoveDistributionWorker): to the followers, who follow the target, and to the
    servers of those who block the account, who may carry the block over."""
    if account.domain is not None:
        return
    doc = ap.activity("Move", activity_id(node, account, "moves"), account.uri, account.uri, target=target.uri,
                      to=[node.urls.followers(account.username)])
    blockers = await Block.filter(target_id=account.id, account__domain__not_isnull=True).prefetch_related("account")
    targets = await follower_recipients(account) + [recipient(row.account) for row in blockers]
    await publish(node, account, doc, targets, public=True)


async def account_deleted(node: Node, account: Account) -> None:
    """Tell everyone who knew the account that it is gone (Delete{actor}, signed by its kept key)."""
    doc = ap.activity("Delete", activity_id(node, account, "deletes"), account.uri, account.uri, to=[ap.AS_PUBLIC])
    known = await Account.filter(domain__not_isnull=True, deleted_at=None).values("inbox_uri", "shared_inbox_uri")
    await publish(node, account, doc, [Recipient(r["inbox_uri"] or "", r["shared_inbox_uri"]) for r in known],
                  public=True)


async def on_report_created(node: Node, report: Report) -> None:
    """A forwarded report: a Flag to the target's server, from the instance actor (as Mastodon sends it),
    so the reporter stays anonymous to that server."""
    if not report.forwarded or not report.uri:
        return
    target = await Account.get(id=report.target_account_id)
    if target.domain is None:
        return
    uris = await Status.filter(id__in=report.status_ids, account_id=target.id).values_list("uri", flat=True)
    doc = ap.activity("Flag", report.uri, node.urls.instance_actor, [target.uri, *uris], content=report.comment)
    await publish(node, None, doc, [recipient(target)], public=False, audience=[target.uri])


LISTENERS: dict[str, Callable[..., Awaitable[None]]] = {
    "status.created": on_status_created,
    "status.updated": on_status_updated,
    "status.deleted": on_status_deleted,
    "reblog.created": on_reblog_created,
    "reblog.deleted": on_reblog_deleted,
    "favourite.created": on_favourite_created,
    "favourite.deleted": on_favourite_deleted,
    "follow.requested": on_follow_requested,
    "follow.accepted": on_follow_accepted,
    "follow.rejected": on_follow_rejected,
    "follow.removed": on_follow_removed,
    "follow.undone": on_follow_undone,
    "block.created": on_block_created,
    "block.deleted": on_block_deleted,
    "account.updated": on_account_updated,
    "account.moved": on_account_moved,
    "account.deleted": account_deleted,
    "report.created": on_report_created,
}


def _logged(event: str, listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """The user's action has committed; a failure to federate it is logged loudly, not turned into a 500."""

    async def run(node: Node, **payload: Any) -> None:
        try:
            await listener(node, **payload)
        except Exception:
            log.exception("could not federate %s", event)

    return run


def register(node: Node) -> None:
    for event, listener in LISTENERS.items():
        node.on(event, _logged(event, listener))
