"""The one JSON reader for bodies from outside: inbox POSTs, API requests, fetched documents.

What it guards against, each of which made the standard library raise something other than a
``ValueError`` deep inside a request (a 500):

- nesting: ``json.loads`` recurses once per level and raises ``RecursionError`` at about a
  thousand; orjson stops at 1,024 levels, and code that walks a document afterwards recurses
  too. Depth is bounded *before* parsing, by a scan that runs in C;
- integers longer than Python's 4,300-digit conversion limit (a ``ValueError`` that is not a
  ``JSONDecodeError``);
- invalid UTF-8.

orjson parses first (fast; integers beyond 64 bits come back as floats); what it refuses but
JSON allows (lone surrogate escapes such as ``"\\ud800"``) is read by ``json``. Callers that store
text refuse lone surrogates themselves, with their own answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# Far deeper than any ActivityStreams document or Mastodon API body (both under ten levels).
MAX_DEPTH = 64

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class JSONRefused(ValueError):
    """The body is not JSON we read; ``reason`` is safe to send back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def too_deep(body: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """True if arrays and objects nest more than ``max_depth`` levels (up to twice that may pass),
    or their brackets do not pair up (no parser should then walk into them).

    Cheap: a body with fewer brackets than ``max_depth`` cannot nest deeper, which answers for
    nearly every body with two ``bytes.count``; otherwise strings are cut out and innermost
    ``[]``/``{}`` pairs removed, one level (or two) per pass, ``max_depth`` passes at most.
    """
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(brackets):
            return True
        brackets = shorter
    return bool(brackets)


def parse_json(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``body``, or ``JSONRefused``; never ``RecursionError`` or a digit-limit error."""
    if isinstance(body, str):
        try:
            body = body.encode("utf-8")
        except UnicodeEncodeError:
            raise JSONRefused("body is not valid UTF-8") from None
    if too_deep(body, max_depth):
        raise JSONRefused(f"JSON nests deeper than {max_depth} levels or its brackets do not pair up")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise JSONRefused("body is not valid UTF-8") from None
    except ValueError as exc:  # JSONDecodeError, and integers beyond the digit limit
        raise JSONRefused(f"body is not valid JSON: {str(exc)[:200]}") from None
