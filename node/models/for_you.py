"""What the For You ranking learns from: each viewer's signals on a status (watch time, completion,
share, "not interested"), their sum per status, and each account's steering preferences."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class StatusViewerSignal(SnowflakeModel):
    """One viewer's history with one status: what the player reported and what the viewer said."""

    status = fields.ForeignKeyField("models.Status", related_name="viewer_signals", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="status_signals", on_delete=fields.CASCADE)
    plays = fields.IntField(default=0)
    watched_ms = fields.BigIntField(default=0)  # summed over plays, each capped at the video's duration
    completed = fields.BooleanField(default=False)
    shared = fields.BooleanField(default=False)
    not_interested = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "status_viewer_signals"
        unique_together = (("status", "account"),)


class StatusEngagement(SnowflakeModel):
    """Per status, the sum of its viewers' signals: distinct viewers, viewers who watched to the
    end, watch time and distinct sharers — so one viewer replaying or re-sharing counts once."""

    status = fields.OneToOneField("models.Status", related_name="engagement", on_delete=fields.CASCADE)
    viewers = fields.IntField(default=0)
    completions = fields.IntField(default=0)
    watched_ms = fields.BigIntField(default=0)
    shares = fields.IntField(default=0)

    class Meta:
        table = "status_engagement"


class ForYouPreference(SnowflakeModel):
    """An account's steering: plain words it wants more and less of, and whether its For You is
    personalised at all."""

    account = fields.OneToOneField("models.Account", related_name="for_you_preference", on_delete=fields.CASCADE)
    more = fields.TextField(default="")
    less = fields.TextField(default="")
    personalized = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "for_you_preferences"
