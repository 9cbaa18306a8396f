"""Request parameters as Mastodon clients send them: query string, form, multipart or JSON.

Values are validated here so handlers get the right types or a 4xx — never a 500 from a
client's typo. `\\x00` in any string is refused outright (PostgreSQL cannot store it).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from node.errors import ApiError, unprocessable

_TRUE = ("1", "true", "on", "yes", "t")
_FALSE = ("0", "false", "off", "no", "f", "")


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
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise unprocessable(f"{key} must be an integer") from None
        if minimum is not None and number < minimum:
            if clamp:
                return minimum
            raise unprocessable(f"{key} must be at least {minimum}")
        if maximum is not None and number > maximum:
            if clamp:
                return maximum
            raise unprocessable(f"{key} must be at most {maximum}")
        return number

    def float(self, key: str, default: float | None = None) -> float | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise unprocessable(f"{key} must be a number") from None

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

    def dict(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise unprocessable(f"{key} must be an object")
        return value


def parse_id(value: Any, what: str = "id") -> int:
    """Ids are strings of digits in the API; anything else is simply not found."""
    if isinstance(value, bool):
        raise ApiError(404, "Record not found")
    text = str(value)
    if not text.isdigit() or len(text) > 19:
        raise ApiError(404, "Record not found")
    return int(text)


def _check_nul(value: Any, key: str = "") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise unprocessable(f"{key or 'a value'} contains a NUL character")
    elif isinstance(value, list):
        for v in value:
            _check_nul(v, key)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_nul(k, key)
            _check_nul(v, k)


def _add(data: dict[str, Any], key: str, value: Any) -> None:
    """Fold Rails-style `a[]` and `a[b]` keys into lists and dicts."""
    if key.endswith("[]"):
        data.setdefault(key[:-2], [])
        if not isinstance(data[key[:-2]], list):
            data[key[:-2]] = [data[key[:-2]]]
        data[key[:-2]].append(value)
    elif "[" in key and key.endswith("]"):
        outer, inner = key[:-1].split("[", 1)
        bucket = data.setdefault(outer, {})
        if isinstance(bucket, dict):
            if inner.endswith("]["):
                bucket.setdefault(inner[:-2], []).append(value)
            elif "][" in inner:
                idx, field = inner.split("][", 1)
                bucket.setdefault(idx, {})[field] = value
            else:
                bucket[inner] = value
    else:
        data[key] = value


async def read_params(request: web.Request, *, allow_files: bool = False) -> Params:
    """Merge the query string with the body, whatever its encoding."""
    data: dict[str, Any] = {}
    for key, value in request.query.items():
        _add(data, key, value)
    files: dict[str, web.FileField] = {}
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json" or ctype.endswith("+json"):
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise ApiError(400, "Malformed JSON in request body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "The request body must be a JSON object")
                data.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.post()
            except ValueError as exc:
                raise ApiError(400, f"Malformed form body: {exc}") from None
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    if not allow_files:
                        raise unprocessable(f"{key}: file uploads are not accepted here")
                    files[key] = value
                else:
                    _add(data, key, value)
        elif ctype not in ("", "application/octet-stream", "text/plain"):
            raise ApiError(415, f"Unsupported content type {ctype}")
    _check_nul(data)
    return Params(data, files)
