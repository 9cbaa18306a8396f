"""Bearer-token authentication and OAuth scope checks, declared per handler.

    @scope("write:statuses")
    async def create_status(request): request["user"] ...
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

from aiohttp import web

from node import prepared
from node.errors import ApiError
from node.models import OAuthToken
from node.services.accounts import login_refusal

READ = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
        "notifications", "search", "statuses", "vitascope")
WRITE = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
         "media", "mutes", "notifications", "reports", "statuses", "vitascope")
FOLLOW = {"read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes", "write:mutes"}
ADMIN = ("accounts", "domain_blocks", "reports")
ALL_SCOPES = (["read", "write", "follow", "push", "profile", "admin:read", "admin:write"]
              + [f"read:{s}" for s in READ] + [f"write:{s}" for s in WRITE]
              + [f"admin:read:{s}" for s in ADMIN] + [f"admin:write:{s}" for s in ADMIN])


def valid_scopes(scopes: str) -> list[str] | None:
    parts = scopes.split()
    return parts if parts and all(p in ALL_SCOPES for p in parts) else None


def grants(token_scopes: str | list[str], required: str) -> bool:
    """Whether a token's scopes include `required` ("write" covers "write:statuses", "admin:read"
    covers "admin:read:reports")."""
    have = set(token_scopes.split() if isinstance(token_scopes, str) else token_scopes)
    if required in have:
        return True
    parent = required.rsplit(":", 1)[0]
    if ":" in required and parent in have:
        return True
    if required in FOLLOW and "follow" in have:
        return True
    if required == "profile" and ("read" in have or "read:accounts" in have):
        return True
    return False


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    # Browsers cannot set headers on WebSockets; Mastodon accepts the token in the query there, or as
    # the requested subprotocol (masto.js's default), which node.api.streaming then echoes back.
    return request.query.get("access_token") or websocket_protocol_token(request)


def websocket_protocol_token(request: web.Request) -> str | None:
    """The first subprotocol a WebSocket handshake asks for, which Mastodon reads as the access token."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return None
    first = request.headers.get("Sec-WebSocket-Protocol", "").split(",")[0].strip()
    return first or None


_TOKEN_MARK = "\x00token"  # stands for the token while the query is built; no real token has a NUL
_token_queries: dict[str, tuple[str, list, list]] = {}


async def _token_with_user(value: str) -> OAuthToken | None:
    """`OAuthToken.filter(token=value).select_related("user__account__parental_controls",
    "application").first()`, its SQL built once per database connection and then run with each
    request's token: building it took about 0.7 ms of every authenticated request, more than
    running it. The rows become models as the query set would make them (node.prepared.read). The
    account's parental controls come with it: every feed page asks for them
    (node.services.parental.ration_feed)."""
    db = OAuthToken._choose_db()
    if db.connection_name not in _token_queries:
        query = (OAuthToken.filter(token=_TOKEN_MARK)
                 .select_related("user__account__parental_controls", "application").first())
        query._db = db
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        _token_queries[db.connection_name] = (sql, params, query._select_related_idx)
    sql, params, related = _token_queries[db.connection_name]
    rows = await prepared.read(db, OAuthToken, related, sql, [value if p == _TOKEN_MARK else p for p in params])
    return rows[0] if rows else None


async def load_token(request: web.Request) -> OAuthToken | None:
    """Resolve the request's token once; an invalid one is a 401 even on public endpoints."""
    if "token" in request:
        return request["token"]
    value = bearer_token(request)
    token = None
    if value:
        # One statement with its user, account and application (every authenticated request pays it).
        token = await _token_with_user(value)
        now = datetime.now(timezone.utc)
        if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at < now):
            raise ApiError(401, "The access token is invalid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if token.user is not None and (refusal := login_refusal(token.user)):
            raise ApiError(403, refusal)
    request["token"] = token
    request["user"] = token.user if token else None
    request["account"] = token.user.account if token and token.user else None
    return token


def scope(required: str | None, *, user: bool = True, optional: bool = False):
    """Require a token with `required` scope (and a user behind it unless user=False).

    optional=True: anonymous requests pass; a token, if given, must still be valid.
    """

    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(request: web.Request):
            token = await load_token(request)
            if token is None:
                if optional:
                    return await handler(request)
                raise ApiError(401, "The access token is invalid",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if required and not grants(token.scopes, required):
                raise ApiError(403, "This action is outside the authorized scopes")
            if user and token.user is None and not optional:
                raise ApiError(422, "This method requires an authenticated user")
            return await handler(request)

        wrapper.required_scope = required
        return wrapper

    return decorate
