"""OAuth 2 as Mastodon clients use it: apps, authorization codes (with PKCE), tokens.

Token and code generation and PKCE come from authlib; the flows are the small set Mastodon
clients need (authorization_code, password, client_credentials) over our async models.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from node.auth import grants, valid_scopes
from node.errors import ApiError, unprocessable
from node.models import OAuthApplication, OAuthCode, OAuthToken, User

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_TTL = timedelta(minutes=10)


class OAuthError(ApiError):
    """RFC 6749 error response: {"error": code, "error_description": text}."""

    def __init__(self, code: str, description: str, status: int = 400):
        super().__init__(status, code, error_description=description)


def parse_redirect_uris(value: str) -> list[str]:
    uris = [u.strip() for u in value.replace("\r", "").split("\n") if u.strip()]
    if not uris:
        raise unprocessable("redirect_uris is missing")
    for uri in uris:
        if uri != OOB and ("://" not in uri or uri.startswith(("javascript:", "data:"))):
            raise unprocessable(f"redirect_uris: {uri!r} is not an absolute URI")
    return uris


async def create_application(name: str, redirect_uris: list[str], scopes: str, website: str | None) -> OAuthApplication:
    if not name or len(name) > 255:
        raise unprocessable("client_name is missing or too long")
    if valid_scopes(scopes) is None:
        raise unprocessable(f"scopes: unknown scope in {scopes!r}")
    return await OAuthApplication.create(name=name, redirect_uris="\n".join(redirect_uris), scopes=scopes,
                                         website=website, client_id=generate_token(43), client_secret=generate_token(43))


async def app_for(client_id: str | None) -> OAuthApplication:
    app = await OAuthApplication.get_or_none(client_id=client_id or "")
    if app is None:
        raise OAuthError("invalid_client", "Client authentication failed due to unknown client", 401)
    return app


def check_scopes(app: OAuthApplication, requested: str | None) -> str:
    scopes = requested or app.scopes
    parts = valid_scopes(scopes)
    if parts is None or not all(grants(app.scopes, s) for s in parts):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    return " ".join(parts)


def check_redirect(app: OAuthApplication, redirect_uri: str | None) -> str:
    allowed = app.redirect_uris.split("\n")
    uri = redirect_uri or allowed[0]
    if uri not in allowed:
        raise OAuthError("invalid_redirect_uri", "The redirect uri included is not valid.")
    return uri


async def issue_code(app: OAuthApplication, user: User, redirect_uri: str, scopes: str,
                     challenge: str | None, method: str | None) -> str:
    if challenge and (method or "plain") not in ("S256", "plain"):
        raise OAuthError("invalid_request", "Unsupported code_challenge_method")
    code = generate_token(43)
    await OAuthCode.create(application=app, user=user, code=code, redirect_uri=redirect_uri, scopes=scopes,
                           code_challenge=challenge, code_challenge_method=(method or "plain") if challenge else None,
                           expires_at=datetime.now(timezone.utc) + CODE_TTL)
    return code


async def issue_token(app: OAuthApplication, user: User | None, scopes: str) -> OAuthToken:
    return await OAuthToken.create(application=app, user=user, token=generate_token(43), scopes=scopes)


def _check_secret(app: OAuthApplication, secret: str | None, *, required: bool) -> None:
    if secret is None and not required:
        return
    if not hmac.compare_digest(app.client_secret, secret or ""):
        raise OAuthError("invalid_client", "Client authentication failed", 401)


async def exchange_code(app: OAuthApplication, secret: str | None, code: str | None, redirect_uri: str | None,
                        verifier: str | None) -> OAuthToken:
    row = await OAuthCode.get_or_none(code=code or "", application=app).prefetch_related("user")
    now = datetime.now(timezone.utc)
    if row is None or row.used or row.expires_at < now:
        raise OAuthError("invalid_grant", "The provided authorization grant is invalid, expired, revoked, or was issued to another client.")
    if redirect_uri and redirect_uri != row.redirect_uri:
        raise OAuthError("invalid_grant", "The redirect uri does not match the one used to authorize.")
    if row.code_challenge:
        if not verifier:
            raise OAuthError("invalid_grant", "code_verifier is required")
        expected = create_s256_code_challenge(verifier) if row.code_challenge_method == "S256" else verifier
        if not hmac.compare_digest(expected, row.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match")
    else:
        _check_secret(app, secret, required=True)
    # Single use, even under concurrent exchange attempts.
    claimed = await OAuthCode.filter(id=row.id, used=False).update(used=True)
    if not claimed:
        raise OAuthError("invalid_grant", "The authorization code was already used.")
    return await issue_token(app, row.user, row.scopes)


async def revoke(app: OAuthApplication, secret: str | None, token_value: str | None) -> None:
    _check_secret(app, secret, required=False)
    await OAuthToken.filter(token=token_value or "", application=app, revoked_at=None).update(
        revoked_at=datetime.now(timezone.utc))
