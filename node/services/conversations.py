"""Direct conversations (Mastodon's AccountConversation): each local participant of a direct status
gets it in a conversation row per thread and set of participants, unread unless it wrote it."""

from __future__ import annotations

from node.context import Node
from node.models import Account, Block, Conversation, Mute, Status
from node.serializers import conversations_json

MAX_THREAD_WALK = 200


async def thread_root(status: Status) -> int:
    """The id of the first status of the thread. A reply to the last status of a known conversation
    (the usual case) takes that conversation's thread in one query; otherwise the parents are walked."""
    if status.in_reply_to_id is None:
        return status.id
    known = await Conversation.filter(last_status_id=status.in_reply_to_id).values_list("root_id", flat=True)
    if known:
        return known[0]
    current, parent = status.id, status.in_reply_to_id
    for _ in range(MAX_THREAD_WALK):
        if parent is None:
            break
        rows = await Status.filter(id=parent).values_list("in_reply_to_id", flat=True)
        if not rows:
            break
        current, parent = parent, rows[0]
    return current


async def add_status(node: Node, status: Status, mentioned: list[Account]) -> None:
    """File a new direct status in the conversations of its local participants (the author and those
    it mentions, except those who block or mute the author), then tell their `direct` streams."""
    author = status.account
    everyone = {author.id: author, **{a.id: a for a in mentioned}}
    owners = [a for a in everyone.values() if a.domain is None and a.deleted_at is None and a.suspended_at is None]
    refusing = set(await Block.filter(account_id__in=[a.id for a in owners], target_id=author.id)
                   .values_list("account_id", flat=True))
    refusing |= set(await Mute.filter(account_id__in=[a.id for a in owners], target_id=author.id)
                    .values_list("account_id", flat=True))
    owners = [a for a in owners if a.id == author.id or a.id not in refusing]
    if not owners:
        return
    root = await thread_root(status)
    rows = []
    for owner in owners:
        others = sorted(i for i in everyone if i != owner.id)
        key = ",".join(map(str, others))
        row = await Conversation.get_or_none(account_id=owner.id, root_id=root, participants_key=key)
        unread = owner.id != author.id
        if row is None:
            row = await Conversation.create(account=owner, root_id=root, participant_ids=others, participants_key=key,
                                            status_ids=[status.id], last_status=status, unread=unread)
        else:
            row.status_ids = [*row.status_ids, status.id]
            row.last_status_id, row.unread = status.id, row.unread or unread
            await row.save(update_fields=["status_ids", "last_status_id", "unread"])
        rows.append(row)
    await stream(node, rows)


async def stream(node: Node, rows: list[Conversation]) -> None:
    """`conversation` events on the owners' `direct` streams (rendered only for those listening)."""
    listening = set(await node.listened([f"direct:{r.account_id}" for r in rows]))
    for row in rows:
        if f"direct:{row.account_id}" in listening:
            owner = await Account.get(id=row.account_id)
            await node.stream([f"direct:{row.account_id}"], "conversation",
                              (await conversations_json(node, owner, [row]))[0])


async def mark_read(row: Conversation) -> None:
    if row.unread:
        row.unread = False
        await row.save(update_fields=["unread"])


async def remove(row: Conversation) -> None:
    """Only the owner's view of the conversation goes; the statuses stay."""
    await row.delete()


async def status_deleted(status: Status) -> None:
    """A deleted status leaves the conversations it ended: their last status becomes the one before,
    and a conversation with nothing left goes (as Mastodon's AccountConversation.remove_status)."""
    for row in await Conversation.filter(last_status_id=status.id):
        remaining = [i for i in row.status_ids if i != status.id]
        alive = set(await Status.filter(id__in=remaining, deleted_at=None).values_list("id", flat=True))
        remaining = [i for i in remaining if i in alive]
        if not remaining:
            await row.delete()
            continue
        row.status_ids, row.last_status_id = remaining, remaining[-1]
        await row.save(update_fields=["status_ids", "last_status_id"])
