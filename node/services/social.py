"""Follows (with requests for locked accounts), blocks and mutes."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from node.context import Node
from node.errors import ApiError, not_found
from node.ids import new_id
from node.models import Account, Block, Follow, FollowRequest, Mute, SuggestionDismissal
from node.services.lists import forget_memberships
from node.services.notifications import notify


async def follow(node: Node, account: Account, target: Account, *, reblogs: bool = True, notify_posts: bool = False,
                 uri: str | None = None) -> None:
    """Follow now if the target is an unlocked local account, else leave a request.

    Remote targets always get a request: federation turns it into a Follow and their Accept
    (node.activitypub.outgoing) completes it.
    """
    if target.id == account.id:
        raise ApiError(403, "You cannot follow yourself")
    if (await Block.filter(account_id=target.id, target_id=account.id).exists()
            or await Block.filter(account_id=account.id, target_id=target.id).exists()):
        raise ApiError(403, "This action is not allowed")
    existing = await Follow.get_or_none(account_id=account.id, target_id=target.id)
    if existing is not None:
        existing.show_reblogs, existing.notify = reblogs, notify_posts
        await existing.save(update_fields=["show_reblogs", "notify"])
        return
    if await FollowRequest.filter(account_id=account.id, target_id=target.id).exists():
        return
    rid = new_id()
    uri = node.urls.activity(account.username, "follows", rid) if account.domain is None else uri
    if target.domain is None and not target.locked:
        try:
            await Follow.create(id=rid, account=account, target=target, uri=uri, show_reblogs=reblogs, notify=notify_posts)
        except IntegrityError:
            return
        await notify(node, target, account, "follow")
    else:
        try:
            req = await FollowRequest.create(id=rid, account=account, target=target, uri=uri, show_reblogs=reblogs,
                                             notify=notify_posts)
        except IntegrityError:
            return
        if target.domain is None:
            await notify(node, target, account, "follow_request")
        await node.emit("follow.requested", request=req, account=account, target=target)


async def accept_request(node: Node, request: FollowRequest) -> Follow:
    async with in_transaction():
        follow_row = await Follow.create(account_id=request.account_id, target_id=request.target_id, uri=request.uri,
                                         show_reblogs=request.show_reblogs, notify=request.notify)
        await request.delete()
    account, target = await Account.get(id=request.account_id), await Account.get(id=request.target_id)
    if target.domain is None:
        await notify(node, target, account, "follow")
    await node.emit("follow.accepted", follow=follow_row, account=account, target=target)
    return follow_row


async def authorize(node: Node, target: Account, requester_id: int) -> None:
    req = await FollowRequest.get_or_none(account_id=requester_id, target_id=target.id)
    if req is None:
        raise not_found()
    await accept_request(node, req)


async def reject(node: Node, target: Account, requester_id: int) -> None:
    req = await FollowRequest.get_or_none(account_id=requester_id, target_id=target.id)
    if req is None:
        raise not_found()
    await end_follows(followers=[requester_id], targets=[target.id])
    await node.emit("follow.rejected", request=req, account=await Account.get(id=requester_id), target=target)


async def unfollow(node: Node, account: Account, target: Account) -> None:
    follows, requests = await end_follows(followers=[account.id], targets=[target.id])
    ended = follows + requests
    if ended:
        await node.emit("follow.undone", uri=ended[0].uri, account=account, target=target)


async def end_follows(*, followers: list[int] | None = None,
                      targets: list[int] | None = None) -> tuple[list[Follow], list[FollowRequest]]:
    """The one place follows end (unfollow, refusal, block, suspension, an actor's deletion, a
    move): follows and follow requests from ``followers`` to ``targets`` (None: anyone) go, and the
    list memberships they carried with them. Returns (follows, requests) that went; telling other
    servers is the caller's business."""
    if followers is None and targets is None:
        raise ValueError("end_follows needs followers, targets or both")
    ended: list[list] = []
    async with in_transaction():
        for model in (Follow, FollowRequest):
            query = model.all()
            if followers is not None:
                query = query.filter(account_id__in=followers)
            if targets is not None:
                query = query.filter(target_id__in=targets)
            rows = list(await query)
            for start in range(0, len(rows), 500):
                await model.filter(id__in=[r.id for r in rows[start:start + 500]]).delete()
            ended.append(rows)
        await forget_memberships(followers, targets)
    return ended[0], ended[1]


async def block(node: Node, account: Account, target: Account, *, uri: str | None = None) -> None:
    if target.id == account.id:
        raise ApiError(403, "You cannot block yourself")
    async with in_transaction():
        await end_follows(followers=[account.id], targets=[target.id])
        await end_follows(followers=[target.id], targets=[account.id])
        rid = new_id()
        blk, created = await Block.get_or_create(
            account=account, target=target,
            defaults={"id": rid, "uri": node.urls.activity(account.username, "blocks", rid) if account.domain is None else uri})
    if created:
        await node.emit("block.created", block=blk, account=account, target=target)


async def unblock(node: Node, account: Account, target: Account) -> None:
    blk = await Block.get_or_none(account_id=account.id, target_id=target.id)
    if blk is not None:
        await blk.delete()
        await node.emit("block.deleted", block=blk, account=account, target=target)


async def mute(account: Account, target: Account, notifications: bool = True) -> None:
    if target.id == account.id:
        raise ApiError(403, "You cannot mute yourself")
    row, created = await Mute.get_or_create(account=account, target=target, defaults={"notifications": notifications})
    if not created and row.notifications != notifications:
        row.notifications = notifications
        await row.save(update_fields=["notifications"])


async def unmute(account: Account, target: Account) -> None:
    await Mute.filter(account_id=account.id, target_id=target.id).delete()


async def dismiss_suggestion(account: Account, target: Account) -> None:
    """`DELETE /api/v1/suggestions/:id`: never suggest this account to this one again."""
    await SuggestionDismissal.get_or_create(account_id=account.id, target_id=target.id)
