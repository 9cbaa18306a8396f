"""Federation bookkeeping: received activities, activities we sent and their deliveries, peers' health,
and reports (from other servers and from our users). Each row is the truth for a piece of background
work, so a restart of the node or of Redis loses nothing."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from node.models.base import SnowflakeModel

INBOX_STATES = ("pending", "processing", "done", "ignored", "error")
DELIVERY_STATES = ("pending", "delivered", "failed", "skipped")


class InboxItem(SnowflakeModel):
    """An authenticated activity from a peer, stored before we answered 202 and processed later."""

    # Duplicates are refused by `activity_key`, the first 8 bytes of SHA-256(activity_id) as a signed
    # 64-bit integer (node.activitypub.inbox_store.activity_key): a unique index on the ids themselves
    # (long URLs, in random order) cost a third of each insert on SQLite.
    activity_key = fields.BigIntField(unique=True)
    activity_id = fields.CharField(max_length=2048)
    actor_uri = fields.CharField(max_length=2048)
    type = fields.CharField(max_length=64)
    document = fields.JSONField()
    signer = fields.CharField(max_length=2048, null=True)
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    claimed_at = fields.DatetimeField(null=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_items"


class OutboxActivity(SnowflakeModel):
    """An activity we sent, exactly as signed, so its id dereferences and retries resend the same bytes."""

    uri = fields.CharField(max_length=2048, unique=True)
    account = fields.ForeignKeyField("models.Account", related_name="outbox_activities", null=True,
                                     on_delete=fields.CASCADE)  # None: the instance actor
    type = fields.CharField(max_length=32)
    document = fields.JSONField()
    public = fields.BooleanField(default=False)
    # Actor ids (besides the public) allowed to fetch it with a signed GET.
    audience = fields.JSONField(default=list)

    class Meta:
        table = "outbox_activities"


class Delivery(SnowflakeModel):
    """One activity to one inbox, with its retry state."""

    activity = fields.ForeignKeyField("models.OutboxActivity", related_name="deliveries", on_delete=fields.CASCADE)
    inbox = fields.CharField(max_length=2048)
    domain = fields.CharField(max_length=255, db_index=True)
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    first_attempt_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    scheme = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "deliveries"


class DomainHealth(Model):
    """What we know about a peer domain: its signature scheme and whether it answers."""

    domain = fields.CharField(max_length=255, primary_key=True)
    signature_scheme = fields.CharField(max_length=16, null=True)
    failing_since = fields.DatetimeField(null=True)
    failures = fields.IntField(default=0)
    unavailable = fields.BooleanField(default=False)
    last_success_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "domain_health"


REPORT_CATEGORIES = ("spam", "legal", "violation", "other")


class Report(SnowflakeModel):
    """A Flag from another server, or a local user's report: for the admins to review and resolve."""

    account = fields.ForeignKeyField("models.Account", related_name="reports_made", on_delete=fields.CASCADE)
    target_account = fields.ForeignKeyField("models.Account", related_name="reports_received",
                                            on_delete=fields.CASCADE)
    status_ids = fields.JSONField(default=list)
    comment = fields.TextField(default="")
    category = fields.CharField(max_length=16, default="other")
    # The Flag's id: theirs for a report from another server, ours when we forwarded it.
    uri = fields.CharField(max_length=2048, null=True, unique=True)
    # A local user asked us to send the report to the target's server as well.
    forwarded = fields.BooleanField(default=False)
    assigned_account = fields.ForeignKeyField("models.Account", related_name="reports_assigned", null=True,
                                              on_delete=fields.SET_NULL)
    action_taken_at = fields.DatetimeField(null=True)
    action_taken_by_account = fields.ForeignKeyField("models.Account", related_name="reports_resolved", null=True,
                                                     on_delete=fields.SET_NULL)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "reports"
