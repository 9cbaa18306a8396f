"""Follow suggestions an account dismissed (`DELETE /api/v1/suggestions/:id`)."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class SuggestionDismissal(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="suggestion_dismissals", on_delete=fields.CASCADE)
    target = fields.ForeignKeyField("models.Account", related_name="dismissed_as_suggestion", on_delete=fields.CASCADE)

    class Meta:
        table = "suggestion_dismissals"
        unique_together = (("account", "target"),)
