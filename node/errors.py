"""API errors in Mastodon's shape: {"error": "..."} with the right status, never a 500 for bad input."""

from __future__ import annotations

import json
import logging

from aiohttp import web

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> web.Response:
        body = {"error": self.message, **self.extra}
        return web.json_response(body, status=self.status, headers=self.headers)


def not_found(what: str = "Record") -> ApiError:
    return ApiError(404, f"{what} not found")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, f"Validation failed: {message}")


def forbidden(message: str = "This action is not allowed") -> ApiError:
    return ApiError(403, message)


_REASONS = {400: "Bad request", 401: "The access token is invalid", 403: "This action is not allowed",
            404: "Record not found", 405: "Method not allowed", 413: "Request entity too large",
            415: "Unsupported media type", 429: "Too many requests"}


@web.middleware
async def error_middleware(request: web.Request, handler):
    """Turn every failure into JSON for the API and clean pages elsewhere; log real bugs."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400 or not _wants_json(request):
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else _REASONS.get(exc.status, exc.reason)
        return web.json_response({"error": message}, status=exc.status, headers=_keep_headers(exc))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": "Malformed request body"}, status=400)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json(request):
            return web.json_response({"error": "Internal server error"}, status=500)
        raise


def _wants_json(request: web.Request) -> bool:
    p = request.path
    return p.startswith(("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo", "/users/",
                         "/inbox", "/actor", "/statuses/")) or "json" in request.headers.get("Accept", "")


def _keep_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after", "www-authenticate")}
