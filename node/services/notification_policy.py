"""Notification policy (Mastodon 4.3): which notifications from strangers a local account accepts,
holds back as notification requests, or drops; and accepting or dismissing those requests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tortoise.transactions import in_transaction

from node.errors import unprocessable
from node.models import (Account, Follow, Notification, NotificationPermission, NotificationPolicy,
                         NotificationRequest, Status)
from node.models.notification_policy import POLICY_FIELDS, POLICY_VALUES

# What a policy may hold back: interactions anyone can cause (as Mastodon's `filterable` types).
FILTERABLE = {"mention", "status", "reblog", "favourite", "follow", "follow_request", "remix"}
NEW_ACCOUNT_AGE = timedelta(days=30)


async def policy_of(account: Account) -> NotificationPolicy:
    """The account's stored policy, or the defaults (not saved until changed)."""
    return await NotificationPolicy.get_or_none(account_id=account.id) or NotificationPolicy(account_id=account.id)


async def update_policy(account: Account, values: dict[str, str]) -> NotificationPolicy:
    for name, value in values.items():
        if name not in POLICY_FIELDS or value not in POLICY_VALUES:
            raise unprocessable(f"{name} must be one of {', '.join(POLICY_VALUES)}")
    # get_or_create: two first updates at once must not both insert (the second was a 500)
    policy, _ = await NotificationPolicy.get_or_create(account_id=account.id)
    for name, value in values.items():
        setattr(policy, name, value)
    await policy.save()
    return policy


async def verdict(recipient: Account, sender: Account, kind: str, status: Status | None) -> str:
    """"accept", "filter" or "drop" for a notification about to be made; the strictest rule that
    matches wins, and a sender whose request was accepted is always accepted."""
    if kind not in FILTERABLE:
        return "accept"
    policy = await NotificationPolicy.get_or_none(account_id=recipient.id)
    if policy is None or all(getattr(policy, f) == "accept" for f in POLICY_FIELDS):
        return "accept"
    if await NotificationPermission.filter(account_id=recipient.id, from_account_id=sender.id).exists():
        return "accept"
    matched = []
    if not await Follow.filter(account_id=sender.id, target_id=recipient.id).exists():
        matched.append(policy.for_not_followers)
    if not await Follow.filter(account_id=recipient.id, target_id=sender.id).exists():
        # the other rules are about strangers: whom the recipient follows always passes them
        matched.append(policy.for_not_following)
        if sender.created_at > datetime.now(timezone.utc) - NEW_ACCOUNT_AGE:
            matched.append(policy.for_new_accounts)
        if kind == "mention" and status is not None and status.visibility == "direct":
            matched.append(policy.for_private_mentions)
        if sender.silenced_at is not None:
            matched.append(policy.for_limited_accounts)
    for strictest in ("drop", "filter"):
        if strictest in matched:
            return strictest
    return "accept"


async def hold(recipient: Account, sender: Account, status: Status | None) -> None:
    """Record a filtered notification under the sender's notification request."""
    request, created = await NotificationRequest.get_or_create(account_id=recipient.id, from_account_id=sender.id,
                                                               defaults={"last_status": status})
    if not created and status is not None:
        request.last_status = status
        await request.save(update_fields=["last_status_id", "updated_at"])


async def accept_requests(account: Account, ids: list[int]) -> None:
    """Accept: the sender's held notifications join the list, and its later ones pass the policy."""
    async with in_transaction():
        for request in await NotificationRequest.filter(account_id=account.id, id__in=ids):
            await NotificationPermission.get_or_create(account_id=account.id, from_account_id=request.from_account_id)
            await Notification.filter(account_id=account.id, from_account_id=request.from_account_id,
                                      filtered=True).update(filtered=False)
            await request.delete()


async def dismiss_requests(account: Account, ids: list[int]) -> None:
    """Dismiss: the request and the notifications it held are gone."""
    async with in_transaction():
        for request in await NotificationRequest.filter(account_id=account.id, id__in=ids):
            await Notification.filter(account_id=account.id, from_account_id=request.from_account_id,
                                      filtered=True).delete()
            await request.delete()
