"""Deleting an account: a remote actor that deleted itself (its Delete{actor} reached our inbox), or a
local one (`vitascope delete-account`).

Apart from accounts.py: Web Push imports accounts.py, and deletion needs the status and follow
services, which notify (and so push); here it closes no import circle.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tortoise.transactions import in_transaction

from node.context import Node
from node.models import Account, Favourite, Notification, Status
from node.services import social
from node.services import statuses as status_service


async def delete_actor(node: Node, actor: Account) -> None:
    """An actor deleted itself: its posts become tombstones and its relations go."""
    actor.deleted_at = datetime.now(timezone.utc)
    await actor.save(update_fields=["deleted_at"])
    for status in await Status.filter(account_id=actor.id, deleted_at=None):
        await status_service.mark_deleted(node, status)
    async with in_transaction():
        await social.end_follows(followers=[actor.id])
        await social.end_follows(targets=[actor.id])
        await Favourite.filter(account_id=actor.id).delete()
        await Notification.filter(from_account_id=actor.id).delete()


async def delete_account(node: Node, account: Account) -> None:
    """A local account: deleted as a remote actor is, and suspended; `account.deleted` tells every
    server that knew it (Delete{actor}, signed with the key it keeps)."""
    await delete_actor(node, account)
    account.suspended_at = datetime.now(timezone.utc)
    await account.save(update_fields=["suspended_at"])
    await node.emit("account.deleted", account=account)
