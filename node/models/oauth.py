"""OAuth 2 clients, authorization codes and access tokens."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class OAuthApplication(SnowflakeModel):
    name = fields.CharField(max_length=255)
    website = fields.CharField(max_length=2048, null=True)
    redirect_uris = fields.TextField()  # newline-separated
    scopes = fields.CharField(max_length=1024, default="read")
    client_id = fields.CharField(max_length=64, unique=True)
    client_secret = fields.CharField(max_length=64)

    class Meta:
        table = "oauth_applications"


class OAuthCode(SnowflakeModel):
    application = fields.ForeignKeyField("models.OAuthApplication", related_name="codes", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="oauth_codes", on_delete=fields.CASCADE)
    code = fields.CharField(max_length=64, unique=True)
    redirect_uri = fields.CharField(max_length=2048)
    scopes = fields.CharField(max_length=1024)
    code_challenge = fields.CharField(max_length=128, null=True)
    code_challenge_method = fields.CharField(max_length=16, null=True)
    expires_at = fields.DatetimeField()
    used = fields.BooleanField(default=False)

    class Meta:
        table = "oauth_codes"


class OAuthToken(SnowflakeModel):
    application = fields.ForeignKeyField("models.OAuthApplication", related_name="tokens", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name="tokens", null=True, on_delete=fields.CASCADE)
    token = fields.CharField(max_length=64, unique=True)
    scopes = fields.CharField(max_length=1024)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_tokens"
