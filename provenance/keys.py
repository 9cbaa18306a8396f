"""Key generation, PEM handling and FEP-521a Multikeys.

RSA keys sign HTTP requests (what Mastodon still expects); Ed25519 keys sign FEP-8b32
object proofs and are published as Multikeys in the actor's `assertionMethod`.
"""
from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from provenance.multibase import decode_base58btc, encode_base58btc

# Multicodec "ed25519-pub" (0xed) as an unsigned varint.
_ED25519_PUB_MULTICODEC = bytes([0xED, 0x01])
_ED25519_KEY_SIZE = 32


def _private_pem(key: PrivateKeyTypes) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def generate_rsa_private_pem() -> str:
    """A new RSA-2048 key (PKCS#8 PEM) for HTTP signatures."""
    return _private_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def generate_ed25519_private_pem() -> str:
    """A new Ed25519 key (PKCS#8 PEM) for object integrity proofs."""
    return _private_pem(Ed25519PrivateKey.generate())


def load_private_key(pem: str) -> PrivateKeyTypes:
    """Parse an unencrypted PEM private key; ValueError if it is not one."""
    return serialization.load_pem_private_key(pem.encode("ascii"), password=None)


def load_public_key(pem: str) -> PublicKeyTypes:
    """Parse a PEM SubjectPublicKeyInfo; ValueError if it is not one."""
    return serialization.load_pem_public_key(pem.encode("ascii"))


def public_pem(private_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM that goes into actor documents."""
    return (
        load_private_key(private_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def ed25519_multikey(key: Ed25519PublicKey | Ed25519PrivateKey | str) -> str:
    """FEP-521a `publicKeyMultibase` ("z6Mk…") of an Ed25519 key, or of a PEM holding one."""
    if isinstance(key, str):
        key = load_private_key(key) if "PRIVATE KEY" in key else load_public_key(key)
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"a Multikey needs an Ed25519 key, got {type(key).__name__}")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return encode_base58btc(_ED25519_PUB_MULTICODEC + raw)


def parse_ed25519_multikey(text: str) -> Ed25519PublicKey:
    """Inverse of ed25519_multikey; ValueError for other key types or malformed input."""
    raw = decode_base58btc(text)
    if raw[:2] != _ED25519_PUB_MULTICODEC or len(raw) != 2 + _ED25519_KEY_SIZE:
        raise ValueError("not an Ed25519 Multikey (multicodec 0xed01 + 32 bytes)")
    return Ed25519PublicKey.from_public_bytes(raw[2:])
