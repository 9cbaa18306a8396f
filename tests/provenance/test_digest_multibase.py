from __future__ import annotations

import hashlib

import base58
import pytest

from provenance.digests import digest_multibase, parse_digest_multibase, sha256_file


def test_sha256_file_matches_hashlib_on_a_multi_chunk_file(tmp_path):
    data = bytes(range(256)) * 20_000  # 5 MB, several read chunks
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).digest()


def test_digest_multibase_is_base58btc_sha256_multihash():
    digest = hashlib.sha256(b"vitascope").digest()
    text = digest_multibase(digest)
    assert text.startswith("zQm")  # 0x12 0x20 always encodes as "Qm" in base58btc
    assert base58.b58decode(text[1:]) == bytes([0x12, 0x20]) + digest
    assert parse_digest_multibase(text) == digest


def test_digest_multibase_known_value_for_empty_input():
    # sha256("") = e3b0c442…; its multihash in base58btc is a well-known constant.
    assert digest_multibase(hashlib.sha256(b"").digest()) == "zQmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "z",
        "mEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ",  # base64 multibase, not base58btc
        "z" + base58.b58encode(bytes([0x11, 0x14]) + b"\0" * 20).decode(),  # sha1 multihash
        "z" + base58.b58encode(bytes([0x12, 0x20]) + b"\0" * 31).decode(),  # digest too short
        "zQm0OIl",  # characters outside the base58 alphabet
    ],
)
def test_parse_digest_multibase_rejects_anything_else(text):
    with pytest.raises(ValueError):
        parse_digest_multibase(text)


def test_digest_multibase_rejects_wrong_length():
    with pytest.raises(ValueError):
        digest_multibase(b"\0" * 20)
