"""Multibase base58btc, the one text encoding the fediverse specs we follow use for bytes.

FEP-1311 digests, FEP-521a Multikeys and eddsa-jcs-2022 proof values are all a 'z' prefix
followed by base58btc; keeping the codec in one place keeps the error handling identical.
"""
from __future__ import annotations

import base58

BASE58BTC_PREFIX = "z"


def encode_base58btc(data: bytes) -> str:
    return BASE58BTC_PREFIX + base58.b58encode(data).decode("ascii")


def decode_base58btc(text: str) -> bytes:
    """Decode a 'z…' multibase string; ValueError on any other base or bad characters."""
    if not isinstance(text, str) or not text.startswith(BASE58BTC_PREFIX) or len(text) < 2:
        raise ValueError("expected a multibase base58btc string starting with 'z'")
    try:
        return base58.b58decode(text[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"invalid base58btc: {exc}") from exc
