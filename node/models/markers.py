"""Read positions in timelines, synced between a user's clients."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class Marker(SnowflakeModel):
    user = fields.ForeignKeyField("models.User", related_name="markers", on_delete=fields.CASCADE)
    timeline = fields.CharField(max_length=32)  # home | notifications
    last_read_id = fields.CharField(max_length=32)
    version = fields.IntField(default=1)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "markers"
        unique_together = (("user", "timeline"),)
