from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance.certificates import (
    ChainError,
    IdentityError,
    NodeIdentity,
    anchor_chain,
    load_certificates,
)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leaf(identity: NodeIdentity) -> x509.Certificate:
    return load_certificates(identity.signing_chain_pem)[0]


def test_first_call_creates_a_ca_and_leaf_with_private_permissions(tmp_path):
    directory = tmp_path / "c2pa"
    identity = NodeIdentity.load_or_create(directory, "node.example")
    assert _mode(directory) == 0o700
    assert _mode(directory / "ca.pem") == 0o600
    assert _mode(directory / "signer.pem") == 0o600
    assert "PRIVATE KEY" not in (directory / "published-cas.pem").read_text()
    assert identity.published_ca_pems == [identity.ca_pem]
    assert identity.signing_algorithm == "es256"

    ca = load_certificates(identity.ca_pem)[0]
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and ca.public_key().curve.name == "secp256r1"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ca.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == ski.digest
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > timedelta(days=3600)

    leaf = _leaf(identity)
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION
    ]
    assert leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == ski.digest
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "node.example"
    leaf.verify_directly_issued_by(ca)
    assert identity.leaf_not_after - datetime.now(timezone.utc) < timedelta(days=91)
    assert not identity.needs_rotation()


def test_later_calls_load_the_same_identity(tmp_path):
    first = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    second = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    assert second.ca_pem == first.ca_pem
    assert second.signing_chain_pem == first.signing_chain_pem
    assert second.signing_key_pem == first.signing_key_pem


def test_refuses_key_files_readable_by_others(tmp_path):
    NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    (tmp_path / "c2pa" / "signer.pem").chmod(0o644)
    with pytest.raises(IdentityError, match="chmod 600"):
        NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")


def test_needs_rotation_near_the_end_of_the_leaf_lifetime(tmp_path):
    identity = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    assert not identity.needs_rotation(identity.leaf_not_after - timedelta(days=40))
    assert identity.needs_rotation(identity.leaf_not_after - timedelta(days=20))
    assert identity.needs_rotation(identity.leaf_not_after + timedelta(seconds=1))


def test_rotate_leaf_replaces_the_key_under_the_same_ca(tmp_path):
    identity = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    old_key, old_chain, ca_pem = identity.signing_key_pem, identity.signing_chain_pem, identity.ca_pem
    identity.rotate_leaf()
    assert identity.ca_pem == ca_pem
    assert identity.signing_key_pem != old_key and identity.signing_chain_pem != old_chain
    assert old_key not in (tmp_path / "c2pa" / "signer.pem").read_text()  # the old key is gone
    reloaded = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    assert reloaded.signing_key_pem == identity.signing_key_pem
    assert _mode(tmp_path / "c2pa" / "signer.pem") == 0o600


def test_rotate_ca_keeps_every_old_ca_published(tmp_path):
    identity = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    stale = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")  # another process
    first_ca = identity.ca_pem
    identity.rotate_ca()
    stale.rotate_ca()  # must pick up the first rotation, not overwrite it
    reloaded = NodeIdentity.load_or_create(tmp_path / "c2pa", "node.example")
    assert len(reloaded.published_ca_pems) == 3
    assert reloaded.published_ca_pems[0] == first_ca
    assert identity.ca_pem in reloaded.published_ca_pems
    assert reloaded.ca_pem == stale.ca_pem == reloaded.published_ca_pems[-1]
    _leaf(reloaded).verify_directly_issued_by(load_certificates(reloaded.ca_pem)[0])
    assert "PRIVATE KEY" in (tmp_path / "c2pa" / "ca.pem").read_text()
    assert _mode(tmp_path / "c2pa" / "ca.pem") == 0o600


def _external_chain(tmp_path, *, eku=ExtendedKeyUsageOID.EMAIL_PROTECTION):
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Admin CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA384())
    )
    key = ec.generate_private_key(ec.SECP384R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "admin.example")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=10))
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .sign(ca_key, hashes.SHA384())
    )
    chain_path, key_path = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    )
    return chain_path, key_path, ca


def test_from_files_uses_an_admin_supplied_chain(tmp_path):
    chain_path, key_path, ca = _external_chain(tmp_path)
    identity = NodeIdentity.from_files(chain_path, key_path)
    assert identity.node_name == "admin.example"
    assert load_certificates(identity.ca_pem) == [ca]
    assert identity.published_ca_pems == [identity.ca_pem]
    assert identity.signing_algorithm == "es384"
    assert identity.needs_rotation(identity.leaf_not_after - timedelta(days=1))
    with pytest.raises(IdentityError, match="admin-supplied"):
        identity.rotate_leaf()


def test_from_files_refuses_a_key_that_does_not_match(tmp_path):
    (tmp_path / "first").mkdir()
    chain_path, _, _ = _external_chain(tmp_path / "first")
    _, other_key, _ = _external_chain(tmp_path)
    with pytest.raises(IdentityError, match="does not belong"):
        NodeIdentity.from_files(chain_path, other_key)


def test_from_files_refuses_a_leaf_outside_the_c2pa_profile(tmp_path):
    chain_path, key_path, _ = _external_chain(tmp_path, eku=ExtendedKeyUsageOID.SERVER_AUTH)
    with pytest.raises(IdentityError, match="EKU"):
        NodeIdentity.from_files(chain_path, key_path)


def test_anchor_chain_follows_signatures_not_names(tmp_path):
    real = NodeIdentity.load_or_create(tmp_path / "real", "node.example")
    impostor = NodeIdentity.load_or_create(tmp_path / "impostor", "node.example")  # same names, other keys
    leaf = load_certificates(real.signing_chain_pem)
    anchored = anchor_chain(leaf, real.published_ca_pems)
    assert anchored.anchor == load_certificates(real.ca_pem)[0]
    assert anchored.valid_until == real.leaf_not_after
    with pytest.raises(ChainError, match="does not lead"):
        anchor_chain(leaf, impostor.published_ca_pems)
    with pytest.raises(ChainError):
        anchor_chain(leaf, [])
