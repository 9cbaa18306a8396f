"""Read signer certificate chains straight out of a video's embedded C2PA manifest store.

c2pa-python reports who signed (names, serial number) but not the certificates themselves.
To judge a manifest whose leaf certificate has expired we need the actual chain, so this
module walks the few structures involved: the MP4 `uuid` box holding the store, the JUMBF
boxes inside it, and the COSE_Sign1 `x5chain` header of each manifest's signature.
It only extracts; c2pa-rs remains the one that checks signatures and hashes.
"""
from __future__ import annotations

import struct
from typing import BinaryIO

import cbor2
from cryptography import x509

# The uuid box type C2PA uses for an embedded manifest store in ISO BMFF files.
C2PA_BOX_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")
MAX_STORE_BYTES = 32 * 1024 * 1024
MAX_JUMBF_DEPTH = 8
MAX_CHAIN_LENGTH = 10
_COSE_SIGN1_TAG = 18
_COSE_X5CHAIN = 33
_SIGNATURE_LABEL = "c2pa.signature"


class ManifestStoreError(ValueError):
    """The embedded manifest store is absent or not structured as C2PA requires."""


def _boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a byte string into ISO BMFF / JUMBF boxes: [(type, payload)]."""
    out, offset = [], 0
    while offset < len(data):
        if offset + 8 > len(data):
            raise ManifestStoreError("truncated box header")
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        header = 8
        if size == 1:
            if offset + 16 > len(data):
                raise ManifestStoreError("truncated box header")
            size, header = struct.unpack(">Q", data[offset + 8:offset + 16])[0], 16
        elif size == 0:
            size = len(data) - offset
        if size < header or offset + size > len(data):
            raise ManifestStoreError(f"box {kind!r} overruns its container")
        out.append((kind, data[offset + header:offset + size]))
        offset += size
    return out


def _read_store_box(f: BinaryIO) -> bytes:
    """The JUMBF bytes of the top-level C2PA uuid box, read without loading the media data."""
    f.seek(0, 2)
    end = f.tell()
    offset = 0
    while offset + 8 <= end:
        f.seek(offset)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", f.read(8))[0], 16
        elif size == 0:
            size = end - offset
        if size < header:
            raise ManifestStoreError(f"malformed top-level box {kind!r}")
        if kind == b"uuid" and f.read(16) == C2PA_BOX_UUID:
            if size > MAX_STORE_BYTES:
                raise ManifestStoreError("manifest store is larger than allowed")
            body = f.read(size - header - 16)
            # 4 bytes version/flags, a NUL-terminated purpose, then for "manifest" a u64 offset.
            purpose_end = body.find(b"\0", 4)
            if purpose_end < 0:
                raise ManifestStoreError("C2PA box has no purpose string")
            start = purpose_end + 1 + (8 if body[4:purpose_end] == b"manifest" else 0)
            return body[start:]
        offset += size
    raise ManifestStoreError("no C2PA manifest store box in file")


def _jumbf(payload: bytes, depth: int = 0) -> tuple[str | None, list]:
    """Parse a JUMBF superbox payload into (label, children); children are trees or (type, bytes)."""
    if depth > MAX_JUMBF_DEPTH:
        raise ManifestStoreError("JUMBF nesting too deep")
    boxes = _boxes(payload)
    if not boxes or boxes[0][0] != b"jumd" or len(boxes[0][1]) < 17:
        raise ManifestStoreError("JUMBF superbox without description box")
    description = boxes[0][1]
    label = None
    if description[16] & 0x02:
        label_end = description.find(b"\0", 17)
        if label_end < 0:
            raise ManifestStoreError("unterminated JUMBF label")
        label = description[17:label_end].decode("utf-8", errors="strict")
    children = [_jumbf(body, depth + 1) if kind == b"jumb" else (kind, body) for kind, body in boxes[1:]]
    return label, children


def _x5chain(cose_bytes: bytes) -> list[x509.Certificate]:
    cose = cbor2.loads(cose_bytes)
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != _COSE_SIGN1_TAG or len(cose.value) != 4:
        raise ManifestStoreError("signature is not a COSE_Sign1 structure")
    protected_bytes, unprotected = cose.value[0], cose.value[1]
    protected = cbor2.loads(protected_bytes) if protected_bytes else {}
    chain = protected.get(_COSE_X5CHAIN)
    if chain is None and isinstance(unprotected, dict):
        chain = unprotected.get(_COSE_X5CHAIN)
    if isinstance(chain, bytes):
        chain = [chain]
    if not isinstance(chain, list) or not chain or len(chain) > MAX_CHAIN_LENGTH:
        raise ManifestStoreError("signature has no usable x5chain")
    return [x509.load_der_x509_certificate(der) for der in chain]


def read_signer_chains(f: BinaryIO) -> dict[str, list[x509.Certificate]]:
    """Map each manifest label in the file's store to its signer chain (leaf first)."""
    store_label, manifests = _jumbf_from_box(_read_store_box(f))
    if store_label != "c2pa":
        raise ManifestStoreError("outer JUMBF box is not a C2PA manifest store")
    chains: dict[str, list[x509.Certificate]] = {}
    for manifest in manifests:
        if not isinstance(manifest[1], list) or manifest[0] is None:
            continue
        label, parts = manifest
        for part in parts:
            if isinstance(part[1], list) and part[0] == _SIGNATURE_LABEL:
                contents = [body for kind, body in part[1] if kind == b"cbor"]
                if len(contents) != 1:
                    raise ManifestStoreError(f"{label}: signature box without CBOR content")
                chains[label] = _x5chain(contents[0])
    return chains


def manifest_labels(store_bytes: bytes) -> list[str]:
    """Labels of the manifests in a JUMBF store, in order; the active manifest is last."""
    store_label, manifests = _jumbf_from_box(store_bytes)
    if store_label != "c2pa":
        raise ManifestStoreError("outer JUMBF box is not a C2PA manifest store")
    return [m[0] for m in manifests if isinstance(m[1], list) and m[0] is not None]


def _jumbf_from_box(data: bytes) -> tuple[str | None, list]:
    boxes = _boxes(data)
    if len(boxes) != 1 or boxes[0][0] != b"jumb":
        raise ManifestStoreError("manifest store is not a single JUMBF superbox")
    return _jumbf(boxes[0][1])
