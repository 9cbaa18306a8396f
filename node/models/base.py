"""Shared model pieces."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from node.ids import new_id


class SnowflakeModel(Model):
    """Rows whose primary key orders by creation time (see node.ids)."""

    id = fields.BigIntField(primary_key=True, generated=False, default=new_id)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True
