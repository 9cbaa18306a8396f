"""Lists: a user's own groupings of accounts it follows, each with its own timeline (Mastodon's)."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

REPLIES_POLICIES = ("followed", "list", "none")


class UserList(SnowflakeModel):
    """`exclusive`: the members' posts show in this list only, not in the owner's home timeline."""

    account = fields.ForeignKeyField("models.Account", related_name="lists", on_delete=fields.CASCADE)
    title = fields.CharField(max_length=255)
    replies_policy = fields.CharField(max_length=16, default="list")
    exclusive = fields.BooleanField(default=False)

    class Meta:
        table = "lists"


class ListAccount(SnowflakeModel):
    list = fields.ForeignKeyField("models.UserList", related_name="list_accounts", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="in_lists", on_delete=fields.CASCADE)

    class Meta:
        table = "list_accounts"
        unique_together = (("list", "account"),)
