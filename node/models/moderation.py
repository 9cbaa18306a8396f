"""Admin decisions: about whole remote servers (Mastodon's domain blocks) and single accounts
(Mastodon's strikes, AccountWarning)."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

SEVERITIES = ("silence", "suspend", "noop")


class DomainBlock(SnowflakeModel):
    """A limit on a remote domain and its subdomains.

    suspend: nothing is accepted from it, fetched from it or sent to it, its accounts are suspended;
    silence: its accounts are silenced (out of public timelines, seen by their followers only);
    noop: only the media/report rejections apply. Accounts limited by a block carry its
    `created_at` as their `suspended_at`/`silenced_at` (as Mastodon), so lifting the block lifts
    exactly those limits and keeps an admin's own actions on single accounts.
    """

    domain = fields.CharField(max_length=255, unique=True)
    severity = fields.CharField(max_length=16, default="silence")
    reject_media = fields.BooleanField(default=False)
    reject_reports = fields.BooleanField(default=False)
    private_comment = fields.TextField(null=True)
    public_comment = fields.TextField(null=True)
    obfuscate = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "domain_blocks"


class AccountWarning(SnowflakeModel):
    """A strike: one admin action on an account (Mastodon's AccountWarning).

    Kept so the account's user (and other admins) can see what was decided and why. `status_ids`
    are the posts of the report the action came from (None without a report, as Mastodon)."""

    target_account = fields.ForeignKeyField("models.Account", related_name="strikes", on_delete=fields.CASCADE)
    account = fields.ForeignKeyField("models.Account", related_name="issued_warnings", null=True,
                                     on_delete=fields.SET_NULL)  # the acting admin
    action = fields.CharField(max_length=16)
    text = fields.TextField(default="")
    report = fields.ForeignKeyField("models.Report", related_name="warnings", null=True, on_delete=fields.SET_NULL)
    status_ids = fields.JSONField(null=True)

    class Meta:
        table = "account_warnings"
