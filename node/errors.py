"""API errors in Mastodon's shape: {"error": "..."} with the right status, never a 500 for bad input."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from tortoise.exceptions import ValidationError

from node.logs import Throttled
from node.supervise import REDIS_LOST

log = logging.getLogger(__name__)
_redis_away = Throttled(log)
# How soon a client told that Redis is away should try again (the node reconnects within seconds).
REDIS_AWAY_RETRY_AFTER_S = 5


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, close: bool = False,
                 **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.close = close  # the connection cannot be reused (a body left half-read)
        self.extra = extra

    def response(self) -> web.Response:
        body = {"error": self.message, **self.extra}
        response = web.json_response(body, status=self.status, headers=self.headers)
        if self.close:
            response.force_close()
        return response


def not_found(what: str = "Record") -> ApiError:
    """Mastodon's 404, for what does not exist and for what the viewer may not know exists."""
    return ApiError(404, f"{what} not found")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, f"Validation failed: {message}")


def forbidden(message: str = "This action is not allowed") -> ApiError:
    return ApiError(403, message)


_REASONS = {400: "Bad request", 401: "The access token is invalid", 403: "This action is not allowed",
            404: "Record not found", 405: "Method not allowed", 413: "Request entity too large",
            415: "Unsupported media type", 429: "Too many requests"}


def error_response(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The answer to a failed request: JSON for the API and clean pages elsewhere; real bugs logged.

    Re-raises what aiohttp answers better itself (redirects, error pages of the web UI).
    """
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, web.HTTPException):
        if exc.status < 400 or not _wants_json(request):
            raise exc
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else _REASONS.get(exc.status, exc.reason)
        if exc.status == 404 and request.match_info.route.resource is None:
            message = "This API endpoint does not exist"  # no route matched: not a missing record
        return web.json_response({"error": message}, status=exc.status, headers=_keep_headers(exc))
    if isinstance(exc, REDIS_LOST):
        # Redis away (restarting, failing over): what needs it (queueing a generation, a stream) is
        # unavailable for a moment, not broken; everything else still answers.
        _redis_away.warning("Redis is unreachable: answering 503 (%s %s: %s)", request.method, request.path, exc)
        headers = {"Retry-After": str(REDIS_AWAY_RETRY_AFTER_S)}
        if _wants_json(request):
            return web.json_response({"error": "Service temporarily unavailable; try again shortly"}, status=503,
                                     headers=headers)
        raise web.HTTPServiceUnavailable(headers=headers, text="Service temporarily unavailable; try again shortly")
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return web.json_response({"error": "Malformed request body"}, status=400)
    if isinstance(exc, ValidationError):
        # The ORM checks every value against its column (length, range) before any SQL, in look-ups
        # as in writes: a 65-character client_id or a 3,000-character tag fits no row. Its message
        # quotes the whole value; only the field's name goes back.
        field = str(exc).split(":", 1)[0][:64]
        return web.json_response({"error": f"Validation failed: {field} does not fit (too long or out of range)"},
                                 status=422)
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    if _wants_json(request):
        return web.json_response({"error": "Internal server error"}, status=500)
    raise exc


def _wants_json(request: web.Request) -> bool:
    p = request.path
    return p.startswith(("/api/", "/oauth/token", "/oauth/revoke", "/oauth/userinfo", "/.well-known/", "/nodeinfo", "/users/",
                         "/inbox", "/actor", "/statuses/")) or "json" in request.headers.get("Accept", "")


def _keep_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after", "www-authenticate")}
