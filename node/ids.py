"""Time-ordered 64-bit ids (like Mastodon's snowflakes), so ordering by id is ordering by time
and max_id/since_id/min_id pagination works on one indexed column."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last = 0  # the newest id issued for the clock (or a time not before it): the next one is above it
_backdated: dict[int, int] = {}  # millisecond before _last's → the lowest sequence issued in it
_node_bits = int.from_bytes(os.urandom(1), "big") & 0x3F
_SEQ = 0x3FF


def new_id(at_ms: int | None = None) -> int:
    """48 bits of milliseconds, 6 random process bits, 10 bits of sequence; unique in the process
    whatever the order of calls. Ids for the clock, or for a time not before the newest id's, only
    ever grow (sequence counting up, the next millisecond once 1,024 are used). An id for an earlier
    `at_ms` (backdated, e.g. an import) keeps that millisecond and takes its sequence from the top
    down (the clock's count up from 0), remembered per millisecond, so it never repeats and never
    moves the clock's ids back."""
    global _last
    with _lock:
        ms = at_ms if at_ms is not None else int(time.time() * 1000)
        if at_ms is not None and ms < _last >> 16:
            seq = _backdated.get(ms, _SEQ + 1) - 1
            if seq < 0:
                raise OverflowError(f"more than 1,024 backdated ids in millisecond {ms}")
            _backdated[ms] = seq
            return (ms << 16) | (_node_bits << 10) | seq
        candidate = (ms << 16) | (_node_bits << 10)
        if candidate <= _last:
            candidate = _last + 1 if _last & _SEQ != _SEQ else (((_last >> 16) + 1) << 16) | (_node_bits << 10)
        _last = candidate
        return candidate


def set_process_bits(bits: int) -> None:
    """Use ``bits`` (0–63) as this process's id bits instead of random ones: the parent of several web
    processes gives each its own, so that two of them never issue the same id in one millisecond."""
    global _node_bits
    _node_bits = bits & 0x3F


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
