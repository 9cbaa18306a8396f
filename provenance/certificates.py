"""The node's C2PA signing identity, and checking a signer's chain against trust anchors.

C2PA validators trust certificate *chains*, not bare keys. Each node therefore runs a small
private CA (ES256, ~10 years) and signs videos with a short-lived leaf certificate the CA
issues. The node publishes its CA certificates; receiving nodes use them as trust anchors.
The leaf is rotated well before it expires, and the CA only when its own end approaches.
Every CA the node ever used stays in `published_ca_pems`, so a rotation never orphans the
videos signed before it.

On disk (directory 0700), each key lives in one file with its certificate so a rotation
replaces both in a single atomic rename:

    ca.pem             current CA certificate + private key      (0600)
    signer.pem         current leaf certificate + private key    (0600)
    published-cas.pem  every CA certificate this node has used   (0644)

A replaced key is gone for good: an old leaf key cannot sign anything later, which is what
lets verifiers accept videos whose leaf has since expired (see provenance.c2pa).
"""
from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = timedelta(days=3650)
DEFAULT_LEAF_LIFETIME = timedelta(days=90)
# A leaf is renewed once less than this share of its lifetime is left.
RENEW_FRACTION = 1 / 3
# Certificates start a little in the past so verifiers with a slow clock accept fresh ones.
CLOCK_SKEW = timedelta(minutes=5)

_CA_FILE = "ca.pem"
_SIGNER_FILE = "signer.pem"
_PUBLISHED_FILE = "published-cas.pem"
_LOCK_FILE = ".lock"

# EKUs the C2PA certificate profile accepts for a claim signer with default settings
# (plus the two that need trust_config on both sides, for admins who bring such a chain).
_C2PA_CLAIM_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
SIGNER_EKUS = frozenset({ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING, _C2PA_CLAIM_SIGNING})

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----\s*", re.DOTALL)


class IdentityError(Exception):
    """The signing identity on disk is missing, inconsistent, or cannot do what was asked."""


class ChainError(Exception):
    """A signer's certificate chain does not lead to any of the given trust anchors."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _key_pem(key: CertificateIssuerPrivateKeyTypes) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _pem_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(text)]


def load_certificates(pem_text: str) -> list[x509.Certificate]:
    """All certificates in a PEM bundle, in order; IdentityError if there are none."""
    certs = [x509.load_pem_x509_certificate(block.encode("ascii"))
             for kind, block in _pem_blocks(pem_text) if kind == "CERTIFICATE"]
    if not certs:
        raise IdentityError("no PEM certificate found")
    return certs


def _load_key_and_certs(path: Path) -> tuple[CertificateIssuerPrivateKeyTypes, list[x509.Certificate]]:
    text = path.read_text("ascii")
    keys = [block for kind, block in _pem_blocks(text) if kind.endswith("PRIVATE KEY")]
    if len(keys) != 1:
        raise IdentityError(f"{path} must hold exactly one private key, found {len(keys)}")
    key = serialization.load_pem_private_key(keys[0].encode("ascii"), password=None)
    certs = load_certificates(text)
    if certs[0].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise IdentityError(f"{path}: the private key does not belong to the first certificate")
    return key, certs


def _write_atomically(path: Path, text: str, mode: int) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_private_file(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        raise IdentityError(f"{path} is readable by group or others; run: chmod 600 {path}")


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialize creation and rotation across worker processes sharing the directory."""
    fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
    ])


def _new_ca(node_name: str, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"Vitascope CA for {node_name} ({now:%Y-%m-%d})", node_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_leaf(
    node_name: str,
    ca_key: CertificateIssuerPrivateKeyTypes,
    ca_cert: x509.Certificate,
    lifetime: timedelta,
    now: datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A leaf that satisfies the C2PA signer profile (not a CA, AKI, digitalSignature, EKU)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"Vitascope signer for {node_name}", node_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + lifetime, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def check_signer_profile(cert: x509.Certificate) -> None:
    """Raise ChainError unless `cert` fits the C2PA claim-signer profile."""
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise ChainError("signing certificate is a CA certificate")
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise ChainError("signing certificate has no KeyUsage extension") from exc
    if not usage.digital_signature or usage.key_cert_sign:
        raise ChainError("signing certificate KeyUsage must be digitalSignature without keyCertSign")
    try:
        ekus = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound as exc:
        raise ChainError("signing certificate has no ExtendedKeyUsage extension") from exc
    if not ekus & SIGNER_EKUS:
        raise ChainError("signing certificate has no EKU accepted for C2PA claim signing")


def _can_issue(cert: x509.Certificate) -> bool:
    """An intermediate must be a CA, and may not have a KeyUsage that leaves out keyCertSign."""
    try:
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
    except x509.ExtensionNotFound:
        return False
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    except x509.ExtensionNotFound:
        return True


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class AnchoredChain:
    """A signer chain proven to lead to a trust anchor, with the span when all of it was valid."""

    leaf: x509.Certificate
    anchor: x509.Certificate
    valid_from: datetime
    valid_until: datetime


def anchor_chain(chain: Sequence[x509.Certificate], anchor_pems: Iterable[str]) -> AnchoredChain:
    """Follow `chain` (leaf first) by signature up to one of `anchor_pems`, ignoring the clock.

    Time is deliberately left out: the caller decides which moment matters (now, or a
    moment when the leaf was still valid). The result says when the whole path was valid.
    """
    if not chain:
        raise ChainError("no signing certificate")
    anchors = [cert for pem in anchor_pems for cert in load_certificates(pem)]
    leaf = chain[0]
    check_signer_profile(leaf)
    path = [leaf]
    current = leaf
    for _ in range(len(chain)):
        anchor = next((a for a in anchors if a.subject == current.issuer and _issued_by(current, a)), None)
        if anchor is not None:
            path.append(anchor)
            valid_from = max(c.not_valid_before_utc for c in path)
            valid_until = min(c.not_valid_after_utc for c in path)
            if valid_from >= valid_until:
                raise ChainError("the certificates of this chain were never valid at the same time")
            return AnchoredChain(leaf=leaf, anchor=anchor, valid_from=valid_from, valid_until=valid_until)
        issuer = next((c for c in chain[1:] if c not in path and c.subject == current.issuer
                       and _can_issue(c) and _issued_by(current, c)), None)
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    raise ChainError(f"certificate chain of {leaf.subject.rfc4514_string()} does not lead to a trusted anchor")


class NodeIdentity:
    """The certificates and keys this node signs C2PA manifests with."""

    def __init__(
        self,
        *,
        node_name: str,
        signer_key: CertificateIssuerPrivateKeyTypes,
        signer_chain: list[x509.Certificate],
        ca_cert: x509.Certificate,
        published: list[x509.Certificate],
        directory: Path | None,
        ca_key: CertificateIssuerPrivateKeyTypes | None,
        leaf_lifetime: timedelta,
    ) -> None:
        self.node_name = node_name
        self._signer_key = signer_key
        self._signer_chain = signer_chain
        self._ca_cert = ca_cert
        self._published = published
        self._directory = directory
        self._ca_key = ca_key
        self._leaf_lifetime = leaf_lifetime

    # ----- construction -------------------------------------------------------------

    @classmethod
    def load_or_create(
        cls, directory: Path, node_name: str, *, leaf_lifetime: timedelta = DEFAULT_LEAF_LIFETIME
    ) -> NodeIdentity:
        """Load the identity kept in `directory`, creating a CA and a leaf on first use."""
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        with _locked(directory):
            if not (directory / _CA_FILE).exists():
                now = _now()
                ca_key, ca_cert = _new_ca(node_name, now)
                leaf_key, leaf_cert = _new_leaf(node_name, ca_key, ca_cert, leaf_lifetime, now)
                _write_atomically(directory / _PUBLISHED_FILE, _cert_pem(ca_cert), 0o644)
                _write_atomically(directory / _CA_FILE, _cert_pem(ca_cert) + _key_pem(ca_key), 0o600)
                _write_atomically(directory / _SIGNER_FILE, _cert_pem(leaf_cert) + _key_pem(leaf_key), 0o600)
            return cls._load(directory, node_name, leaf_lifetime)

    @classmethod
    def _load(cls, directory: Path, node_name: str, leaf_lifetime: timedelta) -> NodeIdentity:
        for name in (_CA_FILE, _SIGNER_FILE, _PUBLISHED_FILE):
            if not (directory / name).exists():
                raise IdentityError(f"{directory / name} is missing; the signing identity is incomplete")
        _check_private_file(directory / _CA_FILE)
        _check_private_file(directory / _SIGNER_FILE)
        ca_key, (ca_cert, *_) = _load_key_and_certs(directory / _CA_FILE)
        leaf_key, leaf_chain = _load_key_and_certs(directory / _SIGNER_FILE)
        published = load_certificates((directory / _PUBLISHED_FILE).read_text("ascii"))
        if ca_cert not in published:
            raise IdentityError(f"the current CA is not listed in {directory / _PUBLISHED_FILE}")
        if not _issued_by(leaf_chain[0], ca_cert):
            raise IdentityError(f"{directory / _SIGNER_FILE} was not issued by the current CA")
        return cls(
            node_name=node_name, signer_key=leaf_key, signer_chain=leaf_chain[:1], ca_cert=ca_cert,
            published=published, directory=directory, ca_key=ca_key, leaf_lifetime=leaf_lifetime,
        )

    @classmethod
    def from_files(cls, chain_pem_path: Path, key_pem_path: Path) -> NodeIdentity:
        """Use an admin-supplied chain (leaf first, ending with the CA to publish) and key.

        Such an identity is managed outside Vitascope: it can report that it needs
        rotation, but renewing it means replacing the files.
        """
        chain = load_certificates(Path(chain_pem_path).read_text("ascii"))
        key = serialization.load_pem_private_key(Path(key_pem_path).read_bytes(), password=None)
        if len(chain) < 2:
            raise IdentityError("the chain must contain the signing certificate and its issuing CA")
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(serialization.Encoding.DER, spki) != chain[0].public_key().public_bytes(
            serialization.Encoding.DER, spki
        ):
            raise IdentityError("the private key does not belong to the chain's first certificate")
        try:
            check_signer_profile(chain[0])
        except ChainError as exc:
            raise IdentityError(str(exc)) from exc
        for cert, issuer in zip(chain, chain[1:]):
            if not _issued_by(cert, issuer):
                raise IdentityError(f"{cert.subject.rfc4514_string()} is not issued by the next certificate")
        organization = chain[0].subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        common_name = chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = (organization or common_name or [None])[0]
        return cls(
            node_name=str(name.value) if name else chain[0].subject.rfc4514_string(),
            signer_key=key, signer_chain=chain, ca_cert=chain[-1], published=[chain[-1]],
            directory=None, ca_key=None, leaf_lifetime=chain[0].not_valid_after_utc - chain[0].not_valid_before_utc,
        )

    # ----- what verifiers and the signer need --------------------------------------

    @property
    def ca_pem(self) -> str:
        """The CA certificate current signatures chain to."""
        return _cert_pem(self._ca_cert)

    @property
    def published_ca_pems(self) -> list[str]:
        """Every CA this node ever signed under: publish all of them as trust anchors."""
        return [_cert_pem(c) for c in self._published]

    @property
    def leaf_not_after(self) -> datetime:
        return self._signer_chain[0].not_valid_after_utc

    @property
    def signing_chain_pem(self) -> str:
        """Leaf first, then any intermediates: the x5chain embedded in each manifest."""
        return "".join(_cert_pem(c) for c in self._signer_chain)

    @property
    def signing_key_pem(self) -> str:
        return _key_pem(self._signer_key)

    @property
    def signing_algorithm(self) -> str:
        """The COSE algorithm name matching the leaf key ("es256", "ps256", "ed25519", …)."""
        key = self._signer_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            names = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
            if key.curve.name in names:
                return names[key.curve.name]
        elif isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
            return "ps256"
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            return "ed25519"
        raise IdentityError(f"C2PA cannot sign with a {type(key).__name__} of this size or curve")

    # ----- rotation ---------------------------------------------------------------------

    def needs_rotation(self, now: datetime | None = None) -> bool:
        """True once less than RENEW_FRACTION of the leaf's lifetime remains (or it expired)."""
        leaf = self._signer_chain[0]
        lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
        return leaf.not_valid_after_utc - (now or _now()) <= lifetime * RENEW_FRACTION

    def rotate_leaf(self) -> None:
        """Issue a fresh leaf and destroy the old leaf key.

        If the CA would end before a full-length leaf does, the CA is rotated first.
        """
        directory = self._managed_directory()
        with _locked(directory):
            self._reload(directory)
            now = _now()
            if self._ca_cert.not_valid_after_utc - now < self._leaf_lifetime * (1 + RENEW_FRACTION):
                self._replace_ca(directory, now)
            self._replace_leaf(directory, now)

    def rotate_ca(self) -> None:
        """Start a new CA (and a leaf under it); the old CA stays published, its key is destroyed."""
        directory = self._managed_directory()
        with _locked(directory):
            self._reload(directory)
            now = _now()
            self._replace_ca(directory, now)
            self._replace_leaf(directory, now)

    def _managed_directory(self) -> Path:
        if self._directory is None or self._ca_key is None:
            raise IdentityError("this identity was loaded from admin-supplied files; replace them to renew it")
        return self._directory

    def _reload(self, directory: Path) -> None:
        """Pick up rotations other processes made, so none of their CAs is dropped."""
        fresh = self._load(directory, self.node_name, self._leaf_lifetime)
        self._ca_key, self._ca_cert, self._published = fresh._ca_key, fresh._ca_cert, fresh._published
        self._signer_key, self._signer_chain = fresh._signer_key, fresh._signer_chain

    def _replace_ca(self, directory: Path, now: datetime) -> None:
        ca_key, ca_cert = _new_ca(self.node_name, now)
        published = [*self._published, ca_cert]
        # Publish first: a crash after this leaves an unused anchor, never an unpublished one.
        _write_atomically(directory / _PUBLISHED_FILE, "".join(_cert_pem(c) for c in published), 0o644)
        _write_atomically(directory / _CA_FILE, _cert_pem(ca_cert) + _key_pem(ca_key), 0o600)
        self._ca_key, self._ca_cert, self._published = ca_key, ca_cert, published

    def _replace_leaf(self, directory: Path, now: datetime) -> None:
        assert self._ca_key is not None
        leaf_key, leaf_cert = _new_leaf(self.node_name, self._ca_key, self._ca_cert, self._leaf_lifetime, now)
        _write_atomically(directory / _SIGNER_FILE, _cert_pem(leaf_cert) + _key_pem(leaf_key), 0o600)
        self._signer_key, self._signer_chain = leaf_key, [leaf_cert]
