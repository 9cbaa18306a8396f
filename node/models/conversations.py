"""Direct conversations (Mastodon's AccountConversation): per local account, one row per thread of
direct statuses with the same participants."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class Conversation(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="conversations", on_delete=fields.CASCADE)
    # The thread: the id of its first status (statuses have no thread column; see
    # node.services.conversations.thread_root).
    root_id = fields.BigIntField()
    # The other participants' account ids, sorted, and the same joined by commas for look-ups.
    participant_ids = fields.JSONField(default=list)
    participants_key = fields.CharField(max_length=2048)
    status_ids = fields.JSONField(default=list)
    last_status = fields.ForeignKeyField("models.Status", related_name="conversation_rows", null=True,
                                         on_delete=fields.SET_NULL)
    unread = fields.BooleanField(default=False)

    class Meta:
        table = "conversations"
        indexes = (("account_id", "root_id"),)
