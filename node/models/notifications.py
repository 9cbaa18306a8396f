"""Notifications: one row per event a local account should hear about."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
         "admin.sign_up", "admin.report", "remix", "generation", "move", "moderation_warning")


class Notification(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="notifications", on_delete=fields.CASCADE)
    from_account = fields.ForeignKeyField("models.Account", related_name="caused_notifications", on_delete=fields.CASCADE)
    type = fields.CharField(max_length=32)
    status = fields.ForeignKeyField("models.Status", related_name="notifications", null=True, on_delete=fields.CASCADE)
    # moderation_warning: the strike it tells of (its `from_account` is the recipient, as Mastodon).
    account_warning = fields.ForeignKeyField("models.AccountWarning", related_name="notifications", null=True,
                                             on_delete=fields.CASCADE)
    # Held back by the recipient's notification policy: listed only through its notification request.
    filtered = fields.BooleanField(default=False)

    class Meta:
        table = "notifications"
