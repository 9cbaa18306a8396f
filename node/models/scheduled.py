"""Statuses written now and published later (Mastodon's ScheduledStatus)."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class ScheduledStatus(SnowflakeModel):
    """What `POST /api/v1/statuses` got with a `scheduled_at`: kept until the publishing loop claims
    it (`claimed_at`), publishes it and deletes the row."""

    account = fields.ForeignKeyField("models.Account", related_name="scheduled_statuses", on_delete=fields.CASCADE)
    scheduled_at = fields.DatetimeField(db_index=True)
    params = fields.JSONField(default=dict)  # the status parameters, as Mastodon's `params`
    claimed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "scheduled_statuses"
