"""Account migration as Mastodon does it (ActivityPub `Move`).

Moving takes two steps by the same person. On the NEW account they add the old one as an alias, so
the new actor lists the old one in `alsoKnownAs`. On the OLD account they start the migration: it
gets `movedTo`, an Update and a Move go to its followers (node.activitypub.outgoing, on
`account.updated` and `account.moved`), and its followers here follow the new account at once.
A Move we receive is checked the same way (`refusal`, on the target fetched afresh) before our
users who followed the old account follow the new one (`follow_move`).
As on Mastodon, an account that moved may not move again for COOLDOWN; the API asks for the
user's password first (node.api.migration).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from tortoise.expressions import Q

from node.activitypub import resolve
from node.context import Node
from node.errors import ApiError, unprocessable
from node.models import Account, Block, Follow, Mute
from node.serializers import full_acct
from node.services import lists, social
from node.services.notifications import notify

log = logging.getLogger(__name__)

MAX_ALIASES = 20
# Mastodon's AccountMigration::COOLDOWN_PERIOD: no new move until 30 days after the last one was made
# (a move started within it is refused), so followers cannot be bounced from account to account.
COOLDOWN = timedelta(days=30)


async def find_account(node: Node, acct: str) -> Account:
    """A user@host (or @user@host) typed by a user: ours, or looked up with WebFinger."""
    acct = (acct or "").strip().lstrip("@")
    username, _, domain = acct.partition("@")
    if not username or len(acct) > 300:
        raise unprocessable("acct must look like user@host")
    account = await resolve.resolve_account(node, acct if domain else f"{acct}@{node.config.domain}")
    if account is None or account.suspended_at is not None:
        raise unprocessable(f"account {acct} could not be found")
    return account


# --------------------------------------------------------------------------- aliases (on the new account)


async def aliases(account: Account) -> list[tuple[str, Account | None]]:
    """The account's aliases (actor ids), each with its account where this node knows it."""
    uris = list(account.also_known_as or [])
    known = {a.uri: a for a in await Account.filter(uri__in=uris)} if uris else {}
    return [(uri, known.get(uri)) for uri in uris]


async def add_alias(node: Node, account: Account, acct: str) -> Account:
    """Say that ``account`` is also the account ``acct`` (which may then move here); that account."""
    old = await find_account(node, acct)
    if old.id == account.id:
        raise unprocessable("an account cannot be its own alias")
    current = list(account.also_known_as or [])
    if old.uri not in current:
        if len(current) >= MAX_ALIASES:
            raise unprocessable(f"at most {MAX_ALIASES} aliases")
        account.also_known_as = [*current, old.uri]
        await account.save(update_fields=["also_known_as"])
        await node.emit("account.updated", account=account)
    return old


async def remove_alias(node: Node, account: Account, acct: str) -> None:
    """Forget an alias, named as user@host (or by its actor id); known accounts only, no lookup."""
    acct = (acct or "").strip().lstrip("@")
    current = list(account.also_known_as or [])
    uri = acct if acct in current else None
    if uri is None:
        username, _, domain = acct.partition("@")
        domain = None if domain.lower() in ("", node.config.domain) else domain.lower()
        known = await Account.get_or_none(username__iexact=username, domain=domain) if username else None
        uri = known.uri if known is not None and known.uri in current else None
    if uri is None:
        raise ApiError(404, f"{acct} is not an alias of this account")
    account.also_known_as = [u for u in current if u != uri]
    await account.save(update_fields=["also_known_as"])
    await node.emit("account.updated", account=account)


# --------------------------------------------------------------------------- moving (from the old account)


def refusal(node: Node, source: Account, target: resolve.FreshActor) -> str | None:
    """Why ``source`` may not move to ``target`` (None when it may): the rules for sending and receiving."""
    account = target.account
    if account.id == source.id:
        return "an account cannot move to itself"
    if account.deleted_at is not None or account.suspended_at is not None:
        return f"{full_acct(node, account)} is deleted or suspended"
    if source.uri not in target.also_known_as:
        return (f"{full_acct(node, account)} does not list {source.uri} in alsoKnownAs: add the old account "
                f"as an alias on the new one first")
    if target.moved_to:
        return f"{full_acct(node, account)} has itself moved (to {target.moved_to})"
    return None


def cooldown_refusal(account: Account, now: datetime) -> str | None:
    """Why ``account`` may not move yet (None when it may): it moved less than COOLDOWN ago."""
    if account.moved_at is None or now >= account.moved_at + COOLDOWN:
        return None
    return (f"this account moved less than {COOLDOWN.days} days ago (on {account.moved_at:%Y-%m-%d %H:%M} UTC); "
            f"it may move again from {account.moved_at + COOLDOWN:%Y-%m-%d %H:%M} UTC")


async def migrate(node: Node, account: Account, acct: str, *, retarget: bool = True) -> tuple[Account, int]:
    """Move our ``account`` to ``acct``: not within COOLDOWN of its last move, and checked on the
    target as its server shows it now; then `movedTo` is set, its followers elsewhere get an Update
    and a Move, and its followers here follow the new account. Returns (the new account, how many
    local followers moved); 422 with the reason when it may not. ``retarget=False`` (the CLI without
    --force, as tootctl) also refuses to move an account that has moved to another account already."""
    now = datetime.now(timezone.utc)
    if reason := cooldown_refusal(account, now):
        raise unprocessable(reason)
    found = await find_account(node, acct)
    try:
        target = await resolve.fresh_actor(node, found.uri)
    except resolve.ResolveError as exc:
        raise unprocessable(f"{acct} could not be fetched: {exc}") from None
    if account.moved_to_id == target.account.id:
        raise unprocessable(f"this account has already moved to {full_acct(node, target.account)}")
    if account.moved_to_id is not None and not retarget:
        moved_to = await Account.get(id=account.moved_to_id)
        raise unprocessable(f"this account has already moved to {full_acct(node, moved_to)}: moving it to "
                            f"{full_acct(node, target.account)} instead must be forced")
    reason = refusal(node, account, target)
    if reason:
        raise unprocessable(reason)
    # One conditional UPDATE claims the move, so of two started at once (API and CLI) one is made.
    claimed = await (Account.filter(Q(moved_at__isnull=True) | Q(moved_at__lte=now - COOLDOWN), id=account.id)
                     .update(moved_at=now, moved_to_id=target.account.id))
    if not claimed:
        await account.refresh_from_db(fields=["moved_at"])
        raise unprocessable(cooldown_refusal(account, now) or "this account is being moved already")
    account.moved_to, account.moved_at = target.account, now
    await node.emit("account.updated", account=account)
    await node.emit("account.moved", account=account, target=target.account)
    moved = await move_local_followers(node, account, target.account)
    await carry_blocks_and_mutes(node, account, target.account)
    log.info("%s moved to %s; %d local followers moved", account.uri, target.account.uri, moved)
    return target.account, moved


async def follow_move(node: Node, source: Account, target: Account) -> tuple[bool, int]:
    """A Move we accepted: ``source`` now points at ``target``, and our users who followed it follow
    ``target``. Returns (whether it had moved there already, how many followers moved now)."""
    already = source.moved_to_id == target.id
    if not already:
        source.moved_to = target
        await source.save(update_fields=["moved_to_id"])
    moved = await move_local_followers(node, source, target)
    await carry_blocks_and_mutes(node, source, target)
    return already, moved


async def carry_blocks_and_mutes(node: Node, source: Account, target: Account) -> None:
    """As Mastodon's MoveWorker: whoever here blocked or muted ``source`` has ``target`` blocked or
    muted too, so moving is no way around a block (the Block federates as any other)."""
    for row in await (Block.filter(target_id=source.id, account__domain__isnull=True).exclude(account_id=target.id)
                      .prefetch_related("account")):
        await social.block(node, row.account, target)
    for row in await (Mute.filter(target_id=source.id, account__domain__isnull=True).exclude(account_id=target.id)
                      .prefetch_related("account")):
        await social.mute(row.account, target, notifications=row.notifications)


async def move_local_followers(node: Node, source: Account, target: Account) -> int:
    """Mastodon's UnfollowFollowWorker for each of our users following ``source``: follow ``target``
    (keeping reblogs/notify; remote or locked targets get a request, and federation sends the
    Follow), put ``target`` in the lists that held ``source`` (Mastodon's MoveWorker), unfollow
    ``source``, and hear of it in a `move` notification. A follower that may not follow the target
    (a block) keeps following ``source``. Returns how many moved."""
    follows = await (Follow.filter(target_id=source.id, account__domain__isnull=True, account__deleted_at__isnull=True)
                     .exclude(account_id=target.id).prefetch_related("account"))
    moved = 0
    for row in follows:
        follower = row.account
        try:
            await social.follow(node, follower, target, reblogs=row.show_reblogs, notify_posts=row.notify)
        except ApiError as exc:
            log.info("%s stays with %s instead of following %s: %s", follower.uri, source.uri, target.uri,
                     exc.message)
            continue
        await lists.carry_memberships(follower.id, source.id, target.id)
        await social.unfollow(node, follower, source)
        await notify(node, follower, source, "move")
        moved += 1
    return moved
