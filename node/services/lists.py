"""Lists (Mastodon's): titles, members, replies policy, exclusivity, and which list timelines show a
new status."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from node.errors import not_found, unprocessable
from node.models import Account, Follow, FollowRequest, ListAccount, Status, UserList
from node.models.lists import REPLIES_POLICIES

PER_ACCOUNT_LIMIT = 50  # as Mastodon's List::PER_ACCOUNT_LIMIT


def _title(value: str | None) -> str:
    if value is None or not value.strip():
        raise unprocessable("title can't be blank")
    if len(value) > 255:
        raise unprocessable("title is too long (maximum is 255 characters)")
    return value.strip()


def _policy(value: str) -> str:
    if value not in REPLIES_POLICIES:
        raise unprocessable(f"replies_policy must be one of {', '.join(REPLIES_POLICIES)}")
    return value


async def create_list(account: Account, *, title: str | None, replies_policy: str | None,
                      exclusive: bool | None) -> UserList:
    title, policy = _title(title), _policy(replies_policy or "list")
    if await UserList.filter(account_id=account.id).count() >= PER_ACCOUNT_LIMIT:
        raise unprocessable(f"you can have at most {PER_ACCOUNT_LIMIT} lists")
    return await UserList.create(account=account, title=title, replies_policy=policy, exclusive=bool(exclusive))


async def update_list(lst: UserList, *, title: str | None, replies_policy: str | None,
                      exclusive: bool | None) -> UserList:
    """Only the fields given change."""
    if title is not None:
        lst.title = _title(title)
    if replies_policy is not None:
        lst.replies_policy = _policy(replies_policy)
    if exclusive is not None:
        lst.exclusive = exclusive
    await lst.save()
    return lst


async def delete_list(lst: UserList) -> None:
    await lst.delete()


async def add_accounts(lst: UserList, account_ids: list[int]) -> None:
    """Add accounts the owner follows (or asked to follow), all or none, as Mastodon's ListAccount:
    an unknown account is a 404, one not followed or already listed a 422."""
    accounts = {a.id: a for a in await Account.filter(id__in=account_ids, deleted_at=None)}
    if any(i not in accounts for i in account_ids):
        raise not_found()
    others = [i for i in account_ids if i != lst.account_id]
    followed = set(await Follow.filter(account_id=lst.account_id, target_id__in=others).values_list("target_id", flat=True))
    followed |= set(await FollowRequest.filter(account_id=lst.account_id, target_id__in=others)
                    .values_list("target_id", flat=True))
    if any(i not in followed for i in others):
        raise unprocessable("Account must be followed before it can be added to a list")
    try:
        async with in_transaction():
            for account_id in dict.fromkeys(account_ids):
                await ListAccount.create(list=lst, account_id=account_id)
    except IntegrityError:
        raise unprocessable("Account has already been taken") from None


async def remove_accounts(lst: UserList, account_ids: list[int]) -> None:
    await ListAccount.filter(list_id=lst.id, account_id__in=account_ids).delete()


async def forget_memberships(owner_ids: list[int] | None, member_ids: list[int] | None) -> None:
    """Called when follows end (node.services.social.end_follows): the members go from their owners'
    lists, as Mastodon's ListAccount goes with its Follow. None: any owner, or any member; an
    owner's own place in its lists stays."""
    query = ListAccount.all()
    if owner_ids is not None:
        query = query.filter(list__account_id__in=owner_ids)
    if member_ids is not None:
        query = query.filter(account_id__in=member_ids)
    rows = await query.values_list("id", "account_id", "list__account_id")
    gone = [row_id for row_id, member, owner in rows if member != owner]
    for start in range(0, len(gone), 500):
        await ListAccount.filter(id__in=gone[start:start + 500]).delete()


async def carry_memberships(owner_id: int, source_id: int, target_id: int) -> None:
    """An account the owner follows moved and the owner now follows (or asked to follow) where it
    went: the new account takes its place in the owner's lists, as Mastodon's MoveWorker."""
    list_ids = await (ListAccount.filter(list__account_id=owner_id, account_id=source_id)
                      .values_list("list_id", flat=True))
    for list_id in list_ids:
        await ListAccount.get_or_create(list_id=list_id, account_id=target_id)


def exclusive_members(owner_id: int):
    """The accounts whose posts go to one of the owner's exclusive lists instead of its home timeline
    (never the owner itself, who may be in its own lists), as a query to use as a subquery."""
    return (ListAccount.filter(list__account_id=owner_id, list__exclusive=True).exclude(account_id=owner_id)
            .values("account_id"))


async def exclusive_owner_ids(author_id: int) -> set[int]:
    """The owners of exclusive lists the author is in: its posts stay out of their home streams."""
    return set(await ListAccount.filter(account_id=author_id, list__exclusive=True)
               .values_list("list__account_id", flat=True))


def shows_reply(lst: UserList, status: Status, followed: set[int], members: set[int]) -> bool:
    """Mastodon's FeedManager#filter_from_list?: a reply to someone else shows when it answers the
    owner, or (policy `followed`) someone the owner follows, or (policy `list`) a list member."""
    target = status.in_reply_to_account_id
    if target is None or target == status.account_id or target == lst.account_id:
        return True
    if lst.replies_policy == "followed":
        return target in followed
    if lst.replies_policy == "list":
        return target in members
    return False


async def member_lists(account_id: int) -> list[UserList]:
    """The lists the account is a member of."""
    return await UserList.filter(list_accounts__account_id=account_id)


async def list_streams(status: Status, author_lists: list[UserList] | None = None) -> list[str]:
    """`list:<id>` for each list whose timeline shows this status (its author, or its booster, is a
    member the owner follows; direct statuses never); ``author_lists``: member_lists of its author,
    when looked up already."""
    if status.visibility == "direct":
        return []
    lists = author_lists if author_lists is not None else await member_lists(status.account_id)
    if not lists:
        return []
    owners = {lst.account_id for lst in lists}
    following = set(await Follow.filter(account_id__in=owners, target_id=status.account_id)
                    .values_list("account_id", flat=True))
    streams = []
    for lst in lists:
        if lst.account_id not in following:
            continue
        if status.reblog_of_id is None and status.in_reply_to_account_id not in (None, status.account_id,
                                                                                 lst.account_id):
            target = status.in_reply_to_account_id
            followed = set(await Follow.filter(account_id=lst.account_id, target_id=target)
                           .values_list("target_id", flat=True))
            members = set(await ListAccount.filter(list_id=lst.id, account_id=target)
                          .values_list("account_id", flat=True))
            if not shows_reply(lst, status, followed, members):
                continue
        streams.append(f"list:{lst.id}")
    return streams
