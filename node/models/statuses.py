"""Statuses (posts, comments = replies, reblogs) and what hangs off them."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

VISIBILITIES = ("public", "unlisted", "private", "direct")


class Status(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="statuses", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, unique=True)
    url = fields.CharField(max_length=2048, null=True)
    text = fields.TextField(default="")  # source text of local statuses
    content = fields.TextField(default="")  # sanitised HTML
    spoiler_text = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    visibility = fields.CharField(max_length=16, default="public")
    language = fields.CharField(max_length=16, null=True)
    local = fields.BooleanField(default=True)
    in_reply_to = fields.ForeignKeyField("models.Status", related_name="replies", null=True, on_delete=fields.SET_NULL)
    in_reply_to_account = fields.ForeignKeyField("models.Account", related_name="replied_by", null=True, on_delete=fields.SET_NULL)
    # Kept for every reply: a reply whose parent arrives later is linked to it by this uri.
    in_reply_to_uri = fields.CharField(max_length=2048, null=True, db_index=True)
    reblog_of = fields.ForeignKeyField("models.Status", related_name="reblogs", null=True, on_delete=fields.CASCADE)
    # Remix: the status whose video this one's video was made from.
    remix_of = fields.ForeignKeyField("models.Status", related_name="remixes", null=True, on_delete=fields.SET_NULL)
    remix_of_uri = fields.CharField(max_length=2048, null=True)
    remixable = fields.BooleanField(default=True)
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    # A remote post: when its `replies` collection was last claimed for reading — by a view of its
    # thread, or by a round walking a thread it is in (Mastodon's fetched_replies_at) — so it is read
    # again only after federation.replies_fetch_cooldown_seconds.
    fetched_replies_at = fields.DatetimeField(null=True)

    class Meta:
        table = "statuses"


class Mention(SnowflakeModel):
    status = fields.ForeignKeyField("models.Status", related_name="mentions", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="mentioned_in", on_delete=fields.CASCADE)

    class Meta:
        table = "mentions"
        unique_together = (("status", "account"),)


class Tag(SnowflakeModel):
    name = fields.CharField(max_length=128, unique=True)  # lower-cased

    class Meta:
        table = "tags"


class StatusTag(SnowflakeModel):
    status = fields.ForeignKeyField("models.Status", related_name="status_tags", on_delete=fields.CASCADE)
    tag = fields.ForeignKeyField("models.Tag", related_name="status_tags", on_delete=fields.CASCADE)

    class Meta:
        table = "status_tags"
        unique_together = (("status", "tag"),)


class IdempotencyKey(SnowflakeModel):
    """Remembers POST /api/v1/statuses Idempotency-Key so a retried request posts once."""

    user = fields.ForeignKeyField("models.User", related_name="idempotency_keys", on_delete=fields.CASCADE)
    key = fields.CharField(max_length=255)
    status = fields.ForeignKeyField("models.Status", related_name="idempotency_keys", on_delete=fields.CASCADE)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("user", "key"),)


class StatusEdit(SnowflakeModel):
    """One revision of a status, kept as Mastodon keeps them.

    The first edit also saves the original (dated when it was posted), then every edit saves its
    result, so the history lists them in order.

    Media are named by id with their descriptions of that moment: a video removed by a later edit
    still shows in the revisions that had it.
    """

    status = fields.ForeignKeyField("models.Status", related_name="edits", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="status_edits", on_delete=fields.CASCADE)
    text = fields.TextField(default="")  # source text (local statuses)
    content = fields.TextField(default="")  # sanitised HTML as shown then
    spoiler_text = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    media_ids = fields.JSONField(default=list)
    media_descriptions = fields.JSONField(default=list)

    class Meta:
        table = "status_edits"
