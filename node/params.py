"""Request parameters as Mastodon clients send them: query string, form, multipart or JSON.

Values are validated here so handlers get the right types or a 4xx — never a 500 from a
client's typo. What no column can hold is refused here, once, for every route: `\\x00` (PostgreSQL
cannot store it) and lone surrogates such as a JSON `"\\ud800"` (no UTF-8 encoder can write them) in
any key or value; ids and integers outside the signed 64-bit range of the columns; JSON nested
deeper than `federation.jsonparse.MAX_DEPTH`; malformed forms.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from federation.jsonparse import MAX_DEPTH, JSONRefused, parse_json
from node import ids
from node.errors import ApiError, not_found, unprocessable

log = logging.getLogger(__name__)
T = TypeVar("T")
# Routes that take uploads: limits.max_upload_bytes, upload_timeout_seconds, max_concurrent_uploads.
# Exact paths (a cameo's policy or a generation's status is no upload), plus media/:id (a thumbnail).
UPLOAD_PATHS = frozenset({"/api/v1/media", "/api/v2/media", "/api/v1/accounts/update_credentials",
                          "/api/v1/vitascope/cameos", "/api/v1/vitascope/generations"})
UPLOAD_PREFIXES = ("/api/v1/media/",)


def is_upload_path(path: str) -> bool:
    return path.rstrip("/") in UPLOAD_PATHS or path.startswith(UPLOAD_PREFIXES)

_TRUE = ("1", "true", "on", "yes", "t")
_FALSE = ("0", "false", "off", "no", "f", "")
_INT64 = (-(2**63), 2**63 - 1)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Params:
    def __init__(self, data: dict[str, Any], files: dict[str, web.FileField] | None = None):
        self.data = data
        self.files = files or {}

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def str(self, key: str, default: str | None = None, *, required: bool = False, max_len: int = 100_000) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise unprocessable(f"{key} is missing")
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise unprocessable(f"{key} must be a string")
        if len(value) > max_len:
            raise unprocessable(f"{key} is too long (maximum is {max_len} characters)")
        return value

    def bool(self, key: str, default: bool | None = None) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, str)) and str(value).strip().lower() in _TRUE:
            return True
        if isinstance(value, (int, str)) and str(value).strip().lower() in _FALSE:
            return False
        raise unprocessable(f"{key} must be a boolean")

    def int(self, key: str, default: int | None = None, *, minimum: int | None = None,
            maximum: int | None = None, clamp: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise unprocessable(f"{key} must be an integer")
        if isinstance(value, str) and len(value.strip()) > 20:
            raise unprocessable(f"{key} must be an integer")  # before int(): no 4,300-digit work
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
            raise unprocessable(f"{key} must be an integer") from None
        if minimum is not None and number < minimum:
            if clamp:
                return minimum
            raise unprocessable(f"{key} must be at least {minimum}")
        if maximum is not None and number > maximum:
            if clamp:
                return maximum
            raise unprocessable(f"{key} must be at most {maximum}")
        if not _INT64[0] <= number <= _INT64[1]:  # what an unbounded `offset` would pass to SQL
            raise unprocessable(f"{key} is out of range")
        return number

    def float(self, key: str, default: float | None = None) -> float | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise unprocessable(f"{key} must be a number") from None
        if not math.isfinite(number):
            raise unprocessable(f"{key} must be a finite number")
        return number

    def list(self, key: str) -> list[str]:
        """Arrays arrive as `key[]=a&key[]=b`, `key=a,b` (rare) or a JSON array."""
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            items = value
        elif isinstance(value, (str, int)):
            items = [value]
        else:
            raise unprocessable(f"{key} must be an array")
        out = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise unprocessable(f"{key} must be an array of strings")
            out.append(str(item))
        return out

    def id(self, key: str, *, required: bool = False) -> int | None:
        value = self.data.get(key)
        if value in (None, ""):
            if required:
                raise unprocessable(f"{key} is missing")
            return None
        return parse_id(value, key)

    def cursor(self, key: str) -> int | None:
        """A pagination cursor (max_id, since_id, min_id): an id, or 422 — not a 404, as no record
        was asked for."""
        value = self.data.get(key)
        if value in (None, ""):
            return None
        number = ids.parse(value)
        if number is None:
            raise unprocessable(f"{key} must be an id")
        return number

    def dict(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise unprocessable(f"{key} must be an object")
        return value


def parse_id(value: Any, what: str = "id") -> int:
    """Ids are strings of digits in the API; anything else (``²``, 2**63 and beyond) is simply not found."""
    number = ids.parse(value)
    if number is None:
        raise not_found()
    return number


def _check_text(value: Any, key: str = "") -> None:
    """422 for a NUL or a lone surrogate anywhere in ``value`` (its depth is bounded by the JSON reader)."""
    if isinstance(value, str):
        if not value.isascii() or "\x00" in value:
            if (bad := _UNSTORABLE.search(value)) is not None:
                what = "a NUL character" if bad.group() == "\x00" else "an unpaired surrogate"
                raise unprocessable(f"{_shorten(key) or 'a value'} contains {what}")
    elif isinstance(value, list):
        for v in value:
            _check_text(v, key)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k, key)
            _check_text(v, k)


def _shorten(text: str, limit: int = 64) -> str:
    """A client's key as we quote it back: short, whatever it sent."""
    return text if len(text) <= limit else text[:limit] + "…"


def _add(data: dict[str, Any], key: str, value: Any) -> None:
    """Fold a Rails-style form key into lists and dicts, as Rack reads it: `a[]` appends to a list,
    `a[b]` sets a key of a dict, `a[][b]` starts a new dict in a list when the last one has `b`
    already (so `k[][keyword]=x&k[][keyword]=y` is two objects), `a[0][b]` is a dict keyed "0", "1"…
    A key that would make a value both a scalar and a dict is refused, not guessed."""
    head, _, rest = key.partition("[")
    if not rest or not head:
        data[key] = value
        return
    parts = re.findall(r"\[([^\[\]]*)\]", "[" + rest)
    if "".join(f"[{part}]" for part in parts) != "[" + rest or len(parts) > MAX_DEPTH:
        data[key] = value  # not bracket syntax after all (`a[b`, `a]`): a plain key, as Rack keeps it
        return
    _fold(data, [head, *parts], value, key)


def _fold(container: dict[str, Any], path: list[str], value: Any, key: str) -> None:
    name, rest = path[0], path[1:]
    if not rest:
        container[name] = value
    elif rest[0] == "":
        items = container.setdefault(name, [])
        if not isinstance(items, list):
            items = container[name] = [items]  # `a=x&a[]=y`: both values, as before
        if len(rest) == 1:
            items.append(value)
        else:
            last = items[-1] if items else None
            if isinstance(last, dict) and not _has(last, rest[1:]):
                _fold(last, rest[1:], value, key)
            else:
                fresh: dict[str, Any] = {}
                _fold(fresh, rest[1:], value, key)
                items.append(fresh)
    else:
        bucket = container.setdefault(name, {})
        if not isinstance(bucket, dict):
            raise ApiError(400, f"Malformed form body: {_shorten(key)} mixes a value and a nested one")
        _fold(bucket, rest, value, key)


def _has(container: dict[str, Any], path: list[str]) -> bool:
    """Whether `path` (the rest of an `a[][…]` key) is set in ``container`` already; a path with `[]`
    in it never is, so `a[][tags][]` keeps adding to the same object (Rack's params_hash_has_key?)."""
    value: Any = container
    for part in path:
        if part == "" or not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


async def read_body(request: web.Request, reading: Awaitable[T]) -> T:
    """Await ``reading`` (request.read(), request.post()…) within the body timeouts: the whole body
    within limits.body_timeout_seconds (upload_timeout_seconds for uploads), no pause longer than
    limits.body_idle_timeout_seconds. A stalled or vanished client gets 408 and the connection is
    closed, or, gone already, is let go quietly (no traceback for a client that hung up)."""
    config = request.app["config"]
    stream = request.content
    try:
        if stream.is_eof():  # the whole body is here already (most bodies come with their headers)
            return await reading
        idle = config["limits.body_idle_timeout_seconds"]
        total = config["limits.upload_timeout_seconds" if is_upload_path(request.path)
                       else "limits.body_timeout_seconds"]
        loop = asyncio.get_running_loop()
        give_up = loop.time() + total
        task = asyncio.ensure_future(reading)
        try:
            received = stream.total_bytes
            while True:
                done, _ = await asyncio.wait((task,), timeout=max(0.0, min(idle, give_up - loop.time())))
                if done:
                    return task.result()
                if stream.total_bytes == received or loop.time() >= give_up:
                    log.info("%s %s: request body not received in time (%d bytes)", request.method, request.path,
                             stream.total_bytes)
                    raise ApiError(408, "The request body was not received in time", close=True)
                received = stream.total_bytes
        finally:
            if not task.done():
                task.cancel()
    except (ConnectionError, web.RequestPayloadError) as exc:
        log.info("%s %s: client went away while sending the body: %s", request.method, request.path, exc)
        raise ApiError(400, "The request body was cut short", close=True) from None


async def read_params(request: web.Request, *, allow_files: bool = False) -> Params:
    """Merge the query string with the body, whatever its encoding."""
    data: dict[str, Any] = {}
    for key, value in request.query.items():
        _add(data, key, value)
    files: dict[str, web.FileField] = {}
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json" or ctype.endswith("+json"):
            raw = await read_body(request, request.read())
            if raw.strip():
                try:
                    body = parse_json(raw)
                except JSONRefused as exc:
                    raise ApiError(400, f"Malformed JSON in request body: {exc.reason}") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "The request body must be a JSON object")
                data.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await read_body(request, request.post())
            except (ValueError, HttpProcessingError, AssertionError) as exc:
                # aiohttp's multipart reader raises InvalidHeader/BadHttpMessage (and asserts) on
                # broken parts; a 413 from client_max_size passes through as the HTTPException it is.
                raise ApiError(400, f"Malformed form body: {_shorten(str(exc), 200)}") from None
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    if not allow_files:
                        raise unprocessable(f"{key}: file uploads are not accepted here")
                    files[key] = value
                else:
                    _add(data, key, value)
        elif ctype not in ("", "application/octet-stream", "text/plain"):
            raise ApiError(415, f"Unsupported content type {ctype}")
    _check_text(data)
    return Params(data, files)
