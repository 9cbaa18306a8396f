"""Lists (Mastodon's List) and direct conversations (Mastodon's Conversation)."""

from __future__ import annotations

from typing import Any

from node.context import Node
from node.models import Account, Conversation, UserList
from node.serializers.accounts import account_counts, account_json
from node.serializers.statuses import statuses_json


def list_json(lst: UserList) -> dict[str, Any]:
    return {"id": str(lst.id), "title": lst.title, "replies_policy": lst.replies_policy, "exclusive": lst.exclusive}


async def conversations_json(node: Node, viewer: Account, rows: list[Conversation]) -> list[dict[str, Any]]:
    """Mastodon's Conversation: the other participants (the viewer alone when it wrote to itself),
    unread, and the last status as the viewer sees it."""
    await Conversation.fetch_for_list(rows, "last_status")
    wanted = {i for r in rows for i in r.participant_ids}
    people = {a.id: a for a in await Account.filter(id__in=wanted)} if wanted else {}
    counts = await account_counts([viewer, *people.values()])
    rendered = {a.id: account_json(node, a, counts[a.id]) for a in [viewer, *people.values()]}
    statuses = [r.last_status for r in rows if r.last_status is not None]
    last = {s["id"]: s for s in await statuses_json(node, viewer, statuses)} if statuses else {}
    return [{"id": str(r.id), "unread": r.unread,
             "accounts": [rendered[i] for i in r.participant_ids if i in rendered] or [rendered[viewer.id]],
             "last_status": last.get(str(r.last_status_id))} for r in rows]
