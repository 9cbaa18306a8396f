"""Accounts (local and remote actors) and the login identity of local users."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class Account(SnowflakeModel):
    """An actor: local when `domain` is None. Remote rows are a cache of their actor document."""

    username = fields.CharField(max_length=64)
    domain = fields.CharField(max_length=255, null=True)
    display_name = fields.CharField(max_length=100, default="")
    note = fields.TextField(default="")
    locked = fields.BooleanField(default=False)
    bot = fields.BooleanField(default=False)
    discoverable = fields.BooleanField(default=True)
    fields_json = fields.JSONField(default=list)
    avatar_path = fields.CharField(max_length=255, null=True)
    header_path = fields.CharField(max_length=255, null=True)
    avatar_remote_url = fields.CharField(max_length=2048, null=True)
    header_remote_url = fields.CharField(max_length=2048, null=True)
    # ActivityPub identity; for local accounts these are derived from the base URL but stored so
    # that ids never change if routes do.
    uri = fields.CharField(max_length=2048, unique=True)
    url = fields.CharField(max_length=2048, null=True)
    inbox_uri = fields.CharField(max_length=2048, null=True)
    shared_inbox_uri = fields.CharField(max_length=2048, null=True)
    outbox_uri = fields.CharField(max_length=2048, null=True)
    followers_uri = fields.CharField(max_length=2048, null=True)
    featured_uri = fields.CharField(max_length=2048, null=True)
    actor_type = fields.CharField(max_length=32, default="Person")
    public_key_id = fields.CharField(max_length=2048, null=True)
    public_key_pem = fields.TextField(null=True)
    private_key_pem = fields.TextField(null=True)
    ed25519_key_id = fields.CharField(max_length=2048, null=True)
    ed25519_public_multikey = fields.CharField(max_length=128, null=True)
    ed25519_private_pem = fields.TextField(null=True)
    fetched_at = fields.DatetimeField(null=True)
    suspended_at = fields.DatetimeField(null=True)
    # True when `suspended_at` came from the account's own server (its actor says `suspended`, as
    # Mastodon's suspension_origin remote): an actor saying otherwise lifts it. Our own suspensions
    # (an admin's, a domain block's) are never lifted by what the actor says.
    suspended_remotely = fields.BooleanField(default=False)
    # Moderation (Mastodon's): silenced posts reach followers only; sensitized media show as sensitive.
    silenced_at = fields.DatetimeField(null=True)
    sensitized_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    last_status_at = fields.DatetimeField(null=True)
    # Account migration (ActivityPub Move, as Mastodon does it): the account this one moved to, and
    # the actor ids it says it also is (a local user's aliases; a remote actor's alsoKnownAs).
    moved_to = fields.ForeignKeyField("models.Account", related_name="moved_from", null=True,
                                      on_delete=fields.SET_NULL)
    also_known_as = fields.JSONField(default=list)
    # When this (local) account last moved (Mastodon's AccountMigration#created_at): it may not move
    # again within node.services.migration.COOLDOWN.
    moved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "accounts"
        unique_together = (("username", "domain"),)

    @property
    def local(self) -> bool:
        return self.domain is None

    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


class User(SnowflakeModel):
    """Login identity of a local account."""

    account = fields.OneToOneField("models.Account", related_name="user", on_delete=fields.CASCADE)
    email = fields.CharField(max_length=255, null=True, unique=True)
    password_hash = fields.CharField(max_length=255)
    admin = fields.BooleanField(default=False)
    approved = fields.BooleanField(default=True)
    disabled = fields.BooleanField(default=False)
    locale = fields.CharField(max_length=16, default="en")
    last_sign_in_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"
