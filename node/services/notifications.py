"""Creating notifications and pushing them to the recipient's stream."""

from __future__ import annotations

from node.context import Node
from node.models import Account, Block, Follow, Mute, Notification, Status


async def notify(node: Node, recipient: Account, sender: Account, kind: str, status: Status | None = None) -> Notification | None:
    """Notify a local account, unless it is its own action or it muted/blocked the sender."""
    if recipient.domain is not None or recipient.id == sender.id or sender.suspended_at is not None:
        return None
    if sender.silenced_at is not None and not kind.startswith("admin.") and \
            not await Follow.filter(account_id=recipient.id, target_id=sender.id).exists():
        return None  # a silenced account reaches its followers (and the admins) only
    if await Block.filter(account_id=recipient.id, target_id=sender.id).exists():
        return None
    if await Mute.filter(account_id=recipient.id, target_id=sender.id, notifications=True).exists():
        return None
    note = await Notification.create(account=recipient, from_account=sender, type=kind, status=status)
    from node.serializers import notifications_json

    payload = (await notifications_json(node, recipient, [note]))[0]
    await node.stream([f"user:{recipient.id}", f"user:notification:{recipient.id}"], "notification", payload)
    return note
