"""Time-ordered 64-bit ids (like Mastodon's snowflakes), so ordering by id is ordering by time
and max_id/since_id/min_id pagination works on one indexed column."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_seq = 0
_node_bits = int.from_bytes(os.urandom(1), "big") & 0x3F


def new_id(at_ms: int | None = None) -> int:
    """48 bits of milliseconds, 6 random process bits, 10 bits of sequence."""
    global _last_ms, _seq
    with _lock:
        now = at_ms if at_ms is not None else int(time.time() * 1000)
        if now <= _last_ms and at_ms is None:
            now = _last_ms
            _seq = (_seq + 1) & 0x3FF
            if _seq == 0:
                now += 1
        else:
            _seq = 0
        _last_ms = max(_last_ms, now)
        return (now << 16) | (_node_bits << 10) | _seq



MAX_ID = 2**63 - 1  # ids live in signed 64-bit columns (BIGINT, SQLite INTEGER)


def parse(value: object) -> int | None:
    """The id a client or peer wrote, or None if it cannot name a row: ASCII digits only (``²`` and
    ``١٢٣`` pass ``str.isdigit``), within the signed 64-bit range the columns hold."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_ID else None
