"""Creating notifications and pushing them to the recipient's stream."""

from __future__ import annotations

from node.context import Node
from node.models import Account, Block, Follow, Mute, Notification, Status
from node.serializers import notifications_json
from node.services import push
from node.services.notification_policy import hold, verdict
from node.services.visibility import can_see


async def notify(node: Node, recipient: Account, sender: Account, kind: str, status: Status | None = None) -> Notification | None:
    """Notify a local account, unless it is its own action, it muted/blocked the sender, it may not
    see the status (a followers-only reply it is not mentioned in; a direct remix of its post) or its
    notification policy drops it (or holds it back as a notification request)."""
    if recipient.domain is not None or recipient.id == sender.id or sender.suspended_at is not None:
        return None
    if (sender.silenced_at is not None and not kind.startswith("admin.")
            and not await Follow.filter(account_id=recipient.id, target_id=sender.id).exists()):
        return None  # a silenced account reaches its followers (and the admins) only
    if await Block.filter(account_id=recipient.id, target_id=sender.id).exists():
        return None
    if await Mute.filter(account_id=recipient.id, target_id=sender.id, notifications=True).exists():
        return None
    if status is not None and not await can_see(recipient, status):
        return None
    decided = await verdict(recipient, sender, kind, status)
    if decided == "drop":
        return None
    note = await Notification.create(account=recipient, from_account=sender, type=kind, status=status,
                                     filtered=decided == "filter")
    if note.filtered:  # shown only through its notification request, never streamed
        await hold(recipient, sender, status)
        return note
    rendered = await notifications_json(node, recipient, [note])
    if rendered:  # none when a `hide` filter of the recipient removes its status: neither streamed nor pushed
        await node.stream([f"user:{recipient.id}", f"user:notification:{recipient.id}"], "notification", rendered[0])
        await push.queue(node, note)
    return note


async def dismiss_group(recipient: Account, ids: list[int]) -> None:
    """Dismiss a notification group (v2): all its notifications."""
    await Notification.filter(account_id=recipient.id, id__in=ids).delete()
