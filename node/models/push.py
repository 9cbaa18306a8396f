"""Web Push: one subscription per access token (Mastodon's Web::PushSubscription), and one row per
notification pushed to it, which is the truth for that delivery and its retries."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

POLICIES = ("all", "followed", "follower", "none")
PUSH_STATES = ("pending", "delivered", "failed")


class WebPushSubscription(SnowflakeModel):
    user = fields.ForeignKeyField("models.User", related_name="push_subscriptions", on_delete=fields.CASCADE)
    # Revoking or deleting the token ends its subscription, as in Mastodon.
    token = fields.OneToOneField("models.OAuthToken", related_name="push_subscription", on_delete=fields.CASCADE)
    endpoint = fields.CharField(max_length=2048)
    key_p256dh = fields.CharField(max_length=255)
    key_auth = fields.CharField(max_length=255)
    # RFC 8291 (aes128gcm, `Authorization: vapid`) when true; the older aesgcm draft when false.
    standard = fields.BooleanField(default=False)
    alerts = fields.JSONField(default=dict)  # notification type -> bool
    policy = fields.CharField(max_length=16, default="all")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "web_push_subscriptions"


class PushDelivery(SnowflakeModel):
    """One notification to one subscription, with its retry state (as `Delivery` for federation)."""

    subscription = fields.ForeignKeyField("models.WebPushSubscription", related_name="deliveries",
                                          on_delete=fields.CASCADE)
    notification = fields.ForeignKeyField("models.Notification", related_name="push_deliveries",
                                          on_delete=fields.CASCADE)
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "push_deliveries"
