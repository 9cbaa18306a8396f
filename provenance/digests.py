"""File digests and their FEP-1311 `digestMultibase` form.

Media attachments carry `digestMultibase` so a receiving node can check that the file it
fetched is the one the author published before it even looks at the C2PA manifest.
"""
from __future__ import annotations

import hashlib
from os import PathLike

from provenance.multibase import decode_base58btc, encode_base58btc

# Multihash header for sha2-256 with a 32-byte digest.
_SHA256_MULTIHASH = bytes([0x12, 0x20])
_SHA256_SIZE = 32


def sha256_file(path: str | PathLike[str]) -> bytes:
    """SHA-256 of a file, read in chunks so large videos never sit in memory."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").digest()


def digest_multibase(sha256_digest: bytes) -> str:
    """FEP-1311 `digestMultibase`: base58btc multibase of the sha2-256 multihash."""
    if len(sha256_digest) != _SHA256_SIZE:
        raise ValueError(f"a SHA-256 digest has {_SHA256_SIZE} bytes, got {len(sha256_digest)}")
    return encode_base58btc(_SHA256_MULTIHASH + sha256_digest)


def parse_digest_multibase(text: str) -> bytes:
    """Inverse of digest_multibase; ValueError unless it is exactly a sha2-256 multihash."""
    raw = decode_base58btc(text)
    if raw[:2] != _SHA256_MULTIHASH or len(raw) != 2 + _SHA256_SIZE:
        raise ValueError("digestMultibase must be a sha2-256 multihash (0x12 0x20 + 32 bytes)")
    return raw[2:]
