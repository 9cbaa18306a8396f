"""Web Push subscriptions (one per access token, as Mastodon) and the pushes a notification queues."""

from __future__ import annotations

from datetime import datetime

from node import redis_keys
from node.activitypub.runtime import sweep_soon
from node.context import Node
from node.models import Follow, Notification, OAuthToken, PushDelivery, WebPushSubscription
from node.models.notifications import TYPES
from node.models.push import POLICIES
from node.serializers.notifications import OWN_TYPES
from node.supervise import REDIS_LOST


def _truthy(value) -> bool:
    """Rails' boolean cast, which Mastodon applies to each alert."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "f", "false", "off", "no")
    return bool(value)


def clean_data(data: dict) -> tuple[dict[str, bool], str] | str:
    """(alerts, policy) from the request's `data`, or the reason it is refused. Unknown alert types are
    dropped, as Mastodon's permit list does."""
    alerts = data.get("alerts") or {}
    if not isinstance(alerts, dict):
        return "data[alerts] must be an object"
    policy = data.get("policy") or "all"
    if policy not in POLICIES:
        return f"data[policy] must be one of {', '.join(POLICIES)}"
    return {kind: _truthy(value) for kind, value in alerts.items() if kind in TYPES}, policy


async def subscribe(token: OAuthToken, *, endpoint: str, p256dh: str, auth: str, standard: bool,
                    alerts: dict[str, bool], policy: str) -> WebPushSubscription:
    """Replace the token's subscription (Mastodon: a new POST drops the old one)."""
    await WebPushSubscription.filter(token_id=token.id).delete()
    return await WebPushSubscription.create(user_id=token.user_id, token=token, endpoint=endpoint, key_p256dh=p256dh,
                                            key_auth=auth, standard=standard, alerts=alerts, policy=policy)


async def update(subscription: WebPushSubscription, *, alerts: dict[str, bool], policy: str) -> WebPushSubscription:
    """PUT replaces `data` as a whole, as Mastodon's update does."""
    subscription.alerts, subscription.policy = alerts, policy
    await subscription.save(update_fields=["alerts", "policy", "updated_at"])
    return subscription


async def unsubscribe(token: OAuthToken) -> None:
    await WebPushSubscription.filter(token_id=token.id).delete()


async def remove(subscription: WebPushSubscription) -> None:
    """The push service said the subscription is gone: drop it and its pending pushes."""
    await WebPushSubscription.filter(id=subscription.id).delete()


async def _policy_allows(subscription: WebPushSubscription, note: Notification) -> bool:
    recipient_id = note.account_id  # type: ignore[attr-defined]
    sender_id = note.from_account_id  # type: ignore[attr-defined]
    if subscription.policy == "none":
        return False
    if subscription.policy == "followed":
        return await Follow.filter(account_id=recipient_id, target_id=sender_id).exists()
    if subscription.policy == "follower":
        return await Follow.filter(account_id=sender_id, target_id=recipient_id).exists()
    return True


def alert_type(kind: str) -> str:
    """The Mastodon type a notification is pushed as, and the alert that asks for it: our own types
    (cameo uses) are `mention`s, as the Mastodon API shows them (node.serializers.notifications)."""
    return "mention" if kind in OWN_TYPES else kind


async def queue(node: Node, note: Notification) -> None:
    """Queue a push of a notification the recipient was shown (never a filtered one) to each of the
    recipient's subscriptions whose alerts and policy want it."""
    rows = []
    alert = alert_type(note.type)
    for subscription in await WebPushSubscription.filter(user__account_id=note.account_id):  # type: ignore[attr-defined]
        if subscription.alerts.get(alert) and await _policy_allows(subscription, note):
            rows.append(await PushDelivery.create(subscription=subscription, notification=note))
    try:
        await enqueue(node, [row.id for row in rows])
    except REDIS_LOST:
        pass  # the rows are kept: the delivery sweeper queues them as soon as Redis answers again


def job_id(row_id: int, attempts: int) -> str:
    return f"push:{row_id}:{attempts}"


async def enqueue(node: Node, row_ids: list[int], *, attempts: int = 0, at: datetime | None = None) -> None:
    """Queue the rows' `web_push` jobs (node.web_push runs them) on the delivery queue; when Redis
    refuses, the delivery sweeper is woken to queue them as soon as it answers again."""
    if node.arq is None:
        return
    try:
        for row_id in row_ids:
            await node.arq.enqueue_job("web_push", row_id, _job_id=job_id(row_id, attempts),
                                       _queue_name=redis_keys.DELIVERY_QUEUE, _defer_until=at)
    except Exception:
        sweep_soon()
        raise
