from __future__ import annotations

import base58
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from provenance.keys import (
    ed25519_multikey,
    generate_ed25519_private_pem,
    generate_rsa_private_pem,
    load_private_key,
    load_public_key,
    parse_ed25519_multikey,
    public_pem,
)

# Public key of the W3C vc-di-eddsa test vectors (TestVectors/keyPair.json).
W3C_MULTIKEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_rsa_keys_are_2048_bit_and_round_trip_through_pem():
    private_pem = generate_rsa_private_pem()
    private_key = load_private_key(private_pem)
    assert isinstance(private_key, RSAPrivateKey) and private_key.key_size == 2048
    public_key = load_public_key(public_pem(private_pem))
    assert isinstance(public_key, RSAPublicKey)
    assert public_key.public_numbers() == private_key.public_key().public_numbers()


def test_ed25519_multikey_round_trip_from_every_input_form():
    private_pem = generate_ed25519_private_pem()
    private_key = load_private_key(private_pem)
    assert isinstance(private_key, Ed25519PrivateKey)
    forms = [private_pem, public_pem(private_pem), private_key, private_key.public_key()]
    multikeys = {ed25519_multikey(form) for form in forms}
    assert len(multikeys) == 1
    (multikey,) = multikeys
    assert multikey.startswith("z6Mk")
    assert _raw(parse_ed25519_multikey(multikey)) == _raw(private_key.public_key())


def test_w3c_multikey_parses_and_re_encodes_identically():
    public_key = parse_ed25519_multikey(W3C_MULTIKEY)
    assert ed25519_multikey(public_key) == W3C_MULTIKEY


@pytest.mark.parametrize(
    "text",
    [
        "",
        "6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # no multibase prefix
        "z" + base58.b58encode(bytes([0xE7, 0x01]) + b"\2" * 33).decode(),  # secp256k1-pub codec
        "z" + base58.b58encode(bytes([0xED, 0x01]) + b"\0" * 31).decode(),  # one byte short
        "z6Mk0000",  # not base58
    ],
)
def test_parse_ed25519_multikey_rejects_bad_input(text):
    with pytest.raises(ValueError):
        parse_ed25519_multikey(text)


def test_multikey_refuses_rsa_keys():
    with pytest.raises(ValueError):
        ed25519_multikey(generate_rsa_private_pem())


def test_load_private_key_rejects_garbage():
    with pytest.raises(ValueError):
        load_private_key("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
