"""Parental controls: a teen account's limits, the guardian who sets them, link requests between
the two, and the feed videos served to the teen today (what the daily limit counts)."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

# Who may send the teen direct messages, or put the teen in a cameo.
AUDIENCES = ("nobody", "mutuals", "everyone")
# The settings a guardian (or an adult for itself) changes, as the API names them.
CONTROLS = ("personalisation", "daily_feed_videos", "direct_messages", "cameo", "generations_per_day", "timezone")


class ParentalControls(SnowflakeModel):
    """The row makes the account a teen account, and its guardian (a local adult) alone may loosen it."""

    account = fields.OneToOneField("models.Account", related_name="parental_controls", on_delete=fields.CASCADE)
    guardian = fields.ForeignKeyField("models.Account", related_name="wards", null=True, on_delete=fields.SET_NULL)
    # The day the teen reaches the adult age (from the date of birth given at sign-up), when the
    # controls stop applying; None when the age is unknown (the account is a teen by its guardian link).
    adult_on = fields.DateField(null=True)
    personalisation = fields.BooleanField(default=False)
    daily_feed_videos = fields.IntField(null=True)  # None: no limit
    direct_messages = fields.CharField(max_length=16, default="mutuals")
    cameo = fields.CharField(max_length=16, default="nobody")
    generations_per_day = fields.IntField(null=True)  # None: the node's own quota only
    # The teen's day (feed and generation limits) starts at midnight in this IANA time zone.
    timezone = fields.CharField(max_length=64, default="UTC")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "parental_controls"


class GuardianRequest(SnowflakeModel):
    """A pending link: asked by one side (``by_guardian``), to be accepted or declined by the other."""

    guardian = fields.ForeignKeyField("models.Account", related_name="guardian_requests_made",
                                      on_delete=fields.CASCADE)
    teen = fields.ForeignKeyField("models.Account", related_name="guardian_requests_received",
                                  on_delete=fields.CASCADE)
    by_guardian = fields.BooleanField()

    class Meta:
        table = "guardian_requests"
        unique_together = (("guardian", "teen"),)


class FeedView(SnowflakeModel):
    """One video status served in the feed of a teen on one (local) day: what the daily limit counts."""

    account = fields.ForeignKeyField("models.Account", related_name="feed_views", on_delete=fields.CASCADE)
    day = fields.DateField()
    status_id = fields.BigIntField()

    class Meta:
        table = "feed_views"
        unique_together = (("account", "day", "status_id"),)
