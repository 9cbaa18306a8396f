"""What users see happen when statuses are created, edited, boosted or favourited: notifications,
live streaming events and direct conversations. Listeners on node events (as GoToSocial's
`processing/workers/surface*.go`), registered by `register` when the node's services start
(node.app.start_services), before federation's: they run inside the emitting call, so a client sees
its notifications and streams when the API call returns, before anything is delivered, and what
they raise reaches the caller."""

from __future__ import annotations

from node.context import Node
from node.models import Account, Favourite, Status
from node.serializers import status_json
from node.services import conversations
from node.services.notifications import notify
from node.services.statuses import status_streams


async def on_status_created(node: Node, status: Status, mentioned: list[Account], tags: list[str],
                            parent: Status | None, listening: list[str] | None) -> None:
    """Mentioned users, the local author of the parent and of the remixed post are notified; the
    status goes to the streams that show it and, when direct, into its conversations."""
    author = status.account
    for a in mentioned:
        await notify(node, a, author, "mention", status)
    if (parent is not None and parent.account_id != author.id and parent.account.domain is None
            and parent.account not in mentioned):
        await notify(node, parent.account, author, "mention", status)
    if status.remix_of_id:
        source = await Status.get_or_none(id=status.remix_of_id).prefetch_related("account")
        if source is not None:
            await notify(node, source.account, author, "remix", status)
    if listening is None:
        listening = await node.listened(await status_streams(status, tags))
    if listening:  # rendering costs a dozen queries: only for someone who will see it
        await node.stream(listening, "update", await status_json(node, None, status))
    if status.visibility == "direct":
        await conversations.add_status(node, status, mentioned)


async def on_status_updated(node: Node, status: Status, tags: list[str], mentioned: list[Account]) -> None:
    """What Mastodon does after an edit: newly mentioned users and local boosters are notified
    (`mention`, `update`) and `status.update` goes to the streams that show the post."""
    author = status.account
    for a in mentioned:
        await notify(node, a, author, "mention", status)
    boosts = await Status.filter(reblog_of_id=status.id, deleted_at=None, account__domain=None).prefetch_related("account")
    for boost in boosts:
        await notify(node, boost.account, author, "update", status)
    listening = await node.listened(await status_streams(status, tags))
    if listening:
        await node.stream(listening, "status.update", await status_json(node, None, status))


async def on_reblog_created(node: Node, status: Status) -> None:
    """The boosted post's author is notified; the boost (``status``, with `account` and `reblog_of`
    loaded) goes to the streams that show it."""
    original = status.reblog_of
    await notify(node, await original.account, status.account, "reblog", original)
    listening = await node.listened(await status_streams(status, []))
    if listening:
        await node.stream(listening, "update", await status_json(node, None, status))


async def on_favourite_created(node: Node, favourite: Favourite) -> None:
    status = await favourite.status
    await notify(node, await status.account, await favourite.account, "favourite", status)


def register(node: Node) -> None:
    """Listen before any other listener registers (federation's, generation's)."""
    node.on("status.created", on_status_created, details=True)
    node.on("status.updated", on_status_updated, details=True)
    node.on("reblog.created", on_reblog_created)
    node.on("favourite.created", on_favourite_created)
