"""Relations between accounts and from accounts to statuses."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class Follow(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="following_rel", on_delete=fields.CASCADE)
    target = fields.ForeignKeyField("models.Account", related_name="followers_rel", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True)
    show_reblogs = fields.BooleanField(default=True)
    notify = fields.BooleanField(default=False)

    class Meta:
        table = "follows"
        unique_together = (("account", "target"),)


class FollowRequest(SnowflakeModel):
    """A follow waiting for a locked account (or a remote server) to accept it."""

    account = fields.ForeignKeyField("models.Account", related_name="outgoing_requests", on_delete=fields.CASCADE)
    target = fields.ForeignKeyField("models.Account", related_name="incoming_requests", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True)
    show_reblogs = fields.BooleanField(default=True)
    notify = fields.BooleanField(default=False)

    class Meta:
        table = "follow_requests"
        unique_together = (("account", "target"),)


class Block(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="blocks", on_delete=fields.CASCADE)
    target = fields.ForeignKeyField("models.Account", related_name="blocked_by", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True)

    class Meta:
        table = "blocks"
        unique_together = (("account", "target"),)


class Mute(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="mutes", on_delete=fields.CASCADE)
    target = fields.ForeignKeyField("models.Account", related_name="muted_by", on_delete=fields.CASCADE)
    notifications = fields.BooleanField(default=True)

    class Meta:
        table = "mutes"
        unique_together = (("account", "target"),)


class Favourite(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="favourites", on_delete=fields.CASCADE)
    status = fields.ForeignKeyField("models.Status", related_name="favourites", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True)

    class Meta:
        table = "favourites"
        unique_together = (("account", "status"),)


class Bookmark(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="bookmarks", on_delete=fields.CASCADE)
    status = fields.ForeignKeyField("models.Status", related_name="bookmarks", on_delete=fields.CASCADE)

    class Meta:
        table = "bookmarks"
        unique_together = (("account", "status"),)
