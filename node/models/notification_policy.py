"""Per account: which notifications from strangers are accepted, filtered into requests or dropped."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

POLICY_VALUES = ("accept", "filter", "drop")
POLICY_FIELDS = ("for_not_following", "for_not_followers", "for_new_accounts", "for_private_mentions",
                 "for_limited_accounts")


class NotificationPolicy(SnowflakeModel):
    account = fields.OneToOneField("models.Account", related_name="notification_policy", on_delete=fields.CASCADE)
    for_not_following = fields.CharField(max_length=8, default="accept")
    for_not_followers = fields.CharField(max_length=8, default="accept")
    for_new_accounts = fields.CharField(max_length=8, default="accept")
    for_private_mentions = fields.CharField(max_length=8, default="accept")
    for_limited_accounts = fields.CharField(max_length=8, default="filter")

    class Meta:
        table = "notification_policies"


class NotificationRequest(SnowflakeModel):
    """The filtered notifications one sender caused a recipient, waiting to be accepted or dismissed."""

    account = fields.ForeignKeyField("models.Account", related_name="notification_requests", on_delete=fields.CASCADE)
    from_account = fields.ForeignKeyField("models.Account", related_name="sent_notification_requests",
                                          on_delete=fields.CASCADE)
    last_status = fields.ForeignKeyField("models.Status", related_name="notification_requests", null=True,
                                         on_delete=fields.SET_NULL)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_requests"
        unique_together = (("account", "from_account"),)


class NotificationPermission(SnowflakeModel):
    """A sender whose request the recipient accepted: its notifications are never filtered again."""

    account = fields.ForeignKeyField("models.Account", related_name="notification_permissions", on_delete=fields.CASCADE)
    from_account = fields.ForeignKeyField("models.Account", related_name="granted_notification_permissions",
                                          on_delete=fields.CASCADE)

    class Meta:
        table = "notification_permissions"
        unique_together = (("account", "from_account"),)
