"""Filters v2 (Mastodon's CustomFilter): keywords and single statuses a user does not want to see, in
the contexts it names, with a warning, hidden, or with media blurred."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")


class Filter(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="filters", on_delete=fields.CASCADE)
    title = fields.CharField(max_length=255)
    context = fields.JSONField(default=list)
    action = fields.CharField(max_length=8, default="warn")
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "custom_filters"


class FilterKeyword(SnowflakeModel):
    custom_filter = fields.ForeignKeyField("models.Filter", related_name="keywords", on_delete=fields.CASCADE)
    keyword = fields.CharField(max_length=512)
    whole_word = fields.BooleanField(default=True)

    class Meta:
        table = "custom_filter_keywords"


class FilterStatus(SnowflakeModel):
    custom_filter = fields.ForeignKeyField("models.Filter", related_name="statuses", on_delete=fields.CASCADE)
    status = fields.ForeignKeyField("models.Status", related_name="filtered_by", on_delete=fields.CASCADE)

    class Meta:
        table = "custom_filter_statuses"
        unique_together = (("custom_filter", "status"),)
