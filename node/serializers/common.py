"""What every shape shares: Mastodon's timestamp format."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(value: datetime | None) -> str | None:
    """`2026-12-07T01:02:03.456Z` (UTC, milliseconds), as Mastodon writes times. Called for every
    time of every status and account on a page: written by hand, not by strftime."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    elif value.utcoffset():
        value = value.astimezone(timezone.utc)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond // 1000:03d}Z")
