"""HTTP signatures for server-to-server requests: draft-cavage-12 and RFC 9421.

Peers disagree on which scheme they send (Mastodon and most servers: cavage;
Fedify: RFC 9421 first, cavage on a 4xx), so we sign either way and verify
both. Everything here is a plain function; looking up keys is the caller's
job (``resolve_key``), and so is deciding whether the key owner may act as
the activity's actor (use ``VerifiedSignature.owner``).
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple, Protocol
from urllib.parse import urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    HTTPSignatureComponentResolver,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_sf.compat import Item

Scheme = Literal["cavage", "rfc9421"]

RFC9421_LABEL = "sig1"
# What Mastodon requires of an RFC 9421 signature; content-digest is added for bodies.
RFC9421_COMPONENTS = ("@method", "@target-uri")
CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019", "ed25519"})
_RFC9421_PARAMETERS = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SignatureError(Exception):
    """A request signature is missing, malformed, stale or invalid.

    ``reason`` is short and safe to put in a 401 response body.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PublicKeyInfo:
    """A public key as published by its owner (usually an actor's ``publicKey``)."""

    key_id: str
    owner: str
    public_pem: str


class VerifiedSignature(NamedTuple):
    """Who signed a request (a tuple: made for every inbox POST, where a frozen dataclass costs more)."""

    key_id: str
    owner: str
    scheme: Scheme


class ResolveKey(Protocol):
    """Returns the key for ``key_id``; ``refresh=True`` must bypass any cache."""

    def __call__(self, key_id: str, refresh: bool) -> Awaitable[PublicKeyInfo | None]: ...


# --------------------------------------------------------------------------- digests


def digest_header(body: bytes) -> str:
    """RFC 3230 ``Digest`` value as every cavage peer expects it."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` value (structured-field byte sequence)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


_DIGEST_HASHES = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def _check_digest(value: str, body: bytes) -> None:
    """Every digest we understand must match; at least one must be understood."""
    understood = False
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        algorithm = _DIGEST_HASHES.get(name.strip().lower())
        if not sep or algorithm is None:
            continue
        try:
            claimed = base64.b64decode(encoded.strip(), validate=True)
        except ValueError as exc:
            raise SignatureError("malformed Digest header") from exc
        if not hmac.compare_digest(claimed, algorithm(body).digest()):
            raise SignatureError("Digest does not match body")
        understood = True
    if not understood:
        raise SignatureError("Digest has no SHA-256 or SHA-512 value")


def _check_content_digest(value: str, body: bytes) -> None:
    match = _ONE_DIGEST.fullmatch(value)
    claimed = _b64(match[2]) if match else None
    algorithm = _DIGEST_HASHES[match[1]] if match else None
    if claimed is None or algorithm is None or len(claimed) != algorithm().digest_size:
        # Anything but the usual single well-formed digest: the library's parser decides.
        try:
            ContentDigest.verify(value, body)
        except InvalidSignature as exc:
            raise SignatureError(f"Content-Digest: {exc}") from exc
    elif not hmac.compare_digest(claimed, algorithm(body).digest()):
        raise SignatureError("Content-Digest: Content-Digest does not match the message body")


# --------------------------------------------------------------------------- structured fields
# The usual spellings of Content-Digest, Signature and Signature-Input are read with regular
# expressions that accept only canonical RFC 8941 text; anything else goes to http_sf, the general
# (and much slower) parser. What the fast path accepts, it reads exactly as http_sf would.

_SF_KEY = r"[a-z*][a-z0-9_.*-]*"
_SF_STRING = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'  # no escapes
_SF_INTEGER = r"-?[0-9]{1,15}"
_SF_BYTES = r":([A-Za-z0-9+/]*={0,2}):"
_ONE_DIGEST = re.compile(rf"(sha-256|sha-512)={_SF_BYTES}")
_ONE_BYTES_MEMBER = re.compile(rf"({_SF_KEY})={_SF_BYTES}")
_ONE_INNER_LIST_MEMBER = re.compile(
    rf"({_SF_KEY})=\(((?:{_SF_STRING}(?: {_SF_STRING})*)?)\)((?:;{_SF_KEY}=(?:{_SF_STRING}|{_SF_INTEGER}))*)")
_SF_STRING_ITEM = re.compile(_SF_STRING)
_SF_PARAMETER = re.compile(rf"({_SF_KEY})=(?:({_SF_STRING})|({_SF_INTEGER}))")


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def _parse_sf_dictionary(value: str) -> dict[str, tuple]:
    """``http_sf.parse(value, tltype="dictionary")``, fast for one canonical member of the usual shape."""
    if match := _ONE_BYTES_MEMBER.fullmatch(value):
        decoded = _b64(match[2])
        if decoded is not None:
            return {match[1]: (decoded, {})}
    elif match := _ONE_INNER_LIST_MEMBER.fullmatch(value):
        items = [(item[1:-1], {}) for item in _SF_STRING_ITEM.findall(match[2])]
        params: dict[str, object] = {}
        for key, string, integer in _SF_PARAMETER.findall(match[3]):
            if key in params:
                break  # a repeated parameter: leave it to http_sf
            params[key] = string[1:-1] if string else int(integer)
        else:
            return {match[1]: (items, params)}
    return http_sf.parse(value.encode(), tltype="dictionary")


# --------------------------------------------------------------------------- keys


@lru_cache(maxsize=64)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise ValueError(f"unsupported private key type {type(key).__name__}; use RSA or Ed25519")
    return key


@lru_cache(maxsize=1024)
def _load_public_key(pem: str) -> rsa.RSAPublicKey | ed25519.Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("published key is not a valid PEM public key") from exc
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise SignatureError("published key type is not supported")
    return key


# --------------------------------------------------------------------------- URL helpers


def _authority(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) lowercased, default port dropped, as browsers and Fedify send it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return scheme, host


@lru_cache(maxsize=256)  # a node sees few distinct URLs (its inboxes); parsing them shows in profiles
def _path_and_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path or "/", parts.query


@lru_cache(maxsize=256)
def _target_uri(url: str) -> str:
    scheme, authority = _authority(url)
    path, query = _path_and_query(url)
    return f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")


def _http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


@lru_cache(maxsize=64)  # a busy peer sends the same Date on every request within a second
def _http_date_timestamp(value: str) -> float:
    try:
        date = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise SignatureError("malformed Date header") from exc
    if date.tzinfo is None:
        date = date.replace(tzinfo=datetime.timezone.utc)
    return date.timestamp()


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Case-insensitive view; repeated field lines are joined as RFC 9110 allows."""
    joined: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        value = value.strip()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def _check_window(signed_at: float, now: float, max_skew: float, what: str) -> None:
    if signed_at < now - max_skew:
        raise SignatureError(f"{what} is too old")
    if signed_at > now + max_skew:
        raise SignatureError(f"{what} is in the future")


# --------------------------------------------------------------------------- cavage


def sign_cavage(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_pem: str,
    *,
    now: float | None = None,
    digest: str | None = None,
) -> dict[str, str]:
    """Sign with draft-cavage-12; returns the headers to add (Host, Date, Digest, Signature).

    POSTs (any request with a body) cover ``(request-target) host date digest``;
    bodiless requests cover ``(request-target) host date`` plus ``accept`` when set.
    The request target includes the query string, as current Mastodon does. ``digest`` is the
    body's Digest, computed once by a caller that sends one body many times.
    """
    key = _load_private_key(private_pem)
    existing = _lower_headers(headers)
    _, host = _authority(url)
    added: dict[str, str] = {
        "Host": existing.get("host", host),
        "Date": existing.get("date", _http_date(time.time() if now is None else now)),
    }
    path, query = _path_and_query(url)
    values = {
        "(request-target)": f"{method.lower()} {path}" + (f"?{query}" if query else ""),
        "host": added["Host"],
        "date": added["Date"],
    }
    if body is not None:
        added["Digest"] = digest or digest_header(body)
        values["digest"] = added["Digest"]
    elif "accept" in existing:
        values["accept"] = existing["accept"]
    signing_string = "\n".join(f"{name}: {value}" for name, value in values.items()).encode()
    if isinstance(key, rsa.RSAPrivateKey):
        algorithm = "rsa-sha256"
        raw = key.sign(signing_string, padding.PKCS1v15(), hashes.SHA256())
    else:
        algorithm = "hs2019"
        raw = key.sign(signing_string)
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(values)}",'
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )
    return added


# A quoted value is matched as runs of plain characters between escapes (linear, and fast on the
# long base64 signature).
_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([0-9]+))\s*(?:,|$)')


def _cavage_params(value: str) -> dict[str, str]:
    """The parameters of a Signature header, in any spelling draft-cavage allows."""
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _CAVAGE_PARAM.match(value, position)
        if match is None or match.end() == position:
            raise SignatureError("malformed Signature header")
        quoted = match.group(2)
        params[match.group(1)] = quoted.replace('\\"', '"') if quoted is not None else match.group(3)
        position = match.end()
    return params


def _plain_cavage_params(value: str) -> dict[str, str] | None:
    """The parameters of a Signature header in the usual spelling (``name="value"`` joined by bare
    commas, no escapes, no numbers), read without a regular expression; None for any other spelling,
    which ``_cavage_params`` reads (the same way, more slowly: 5 µs on a 2048-bit signature)."""
    if "\\" in value or not value.endswith('"'):
        return None
    params: dict[str, str] = {}
    for part in value[:-1].split('",'):
        name, quote, text = part.partition('="')
        if not quote or not (name.isascii() and name.isalpha()) or '"' in text:
            return None
        params[name] = text
    return params


def _cavage_fields(params: dict[str, str]) -> tuple[str, str | None, tuple[str, ...], int | None, int | None]:
    """keyId, algorithm, covered headers, created and expires of a Signature header's parameters."""
    if not params.get("keyId"):
        raise SignatureError("Signature header lacks keyId or signature")
    algorithm = params.get("algorithm", "").lower() or None
    if algorithm is not None and algorithm not in CAVAGE_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm}")
    try:
        created = int(params["created"]) if "created" in params else None
        expires = int(params["expires"]) if "expires" in params else None
    except ValueError as exc:
        raise SignatureError("malformed Signature header") from exc
    default = "(created)" if created is not None and algorithm in (None, "hs2019") else "date"
    return params["keyId"], algorithm, tuple(params.get("headers", default).lower().split()), created, expires


@lru_cache(maxsize=256)
def _cavage_head(head: str) -> tuple[str, str | None, tuple[str, ...], int | None, int | None]:
    """``_cavage_fields`` of the parameters before a trailing ``signature``, read as the whole
    header would be (a ``signature`` among them is overridden by the trailing one, as a repeated
    parameter is)."""
    params = _plain_cavage_params(head)
    if params is None:
        params = _cavage_params(head)
    return _cavage_fields(params)


@dataclass(slots=True)  # read-only by convention: one per request, where frozen costs more to build
class _CavageSignature:
    key_id: str
    algorithm: str | None
    covered: tuple[str, ...]
    signature: bytes
    created: int | None
    expires: int | None

    @classmethod
    def parse(cls, value: str) -> _CavageSignature:
        # Senders put the signature last (Mastodon, us, most others): what comes before it is the
        # same on every request from one sender, so it is read once (``_cavage_head``).
        head, last, signature = value.rpartition(',signature="')
        if head and last and signature.endswith('"') and '"' not in signature[:-1] and "\\" not in signature:
            key_id, algorithm, covered, created, expires = _cavage_head(head)
            encoded = signature[:-1]
        else:
            params = _plain_cavage_params(value)
            if params is None:
                params = _cavage_params(value)
            key_id, algorithm, covered, created, expires = _cavage_fields(params)
            encoded = params.get("signature")
        if not encoded:
            raise SignatureError("Signature header lacks keyId or signature")
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise SignatureError("malformed Signature header") from exc
        return cls(key_id, algorithm, covered, decoded, created, expires)

    def check(self, method: str, headers: dict[str, str], body: bytes | None, now: float, max_skew: float) -> None:
        """Everything that can be refused before spending a key lookup."""
        if "(request-target)" not in self.covered:
            raise SignatureError("signature must cover (request-target)")
        if method.upper() == "GET" and "host" not in self.covered:
            raise SignatureError("GET signature must cover host")
        if (method.upper() == "POST" or body) and "digest" not in self.covered:
            raise SignatureError("signature must cover digest")
        if "digest" in self.covered:
            if "digest" not in headers:
                raise SignatureError("Digest header missing")
            _check_digest(headers["digest"], body or b"")
        for name in self.covered:
            if not name.startswith("(") and name not in headers:
                raise SignatureError(f"signed header {name} missing")
        if "(created)" in self.covered:
            if self.created is None:
                raise SignatureError("(created) is signed but missing")
            _check_window(self.created, now, max_skew, "signature")
        elif "date" in self.covered:
            _check_window(_http_date_timestamp(headers["date"]), now, max_skew, "Date")
        else:
            raise SignatureError("signature must cover date or (created)")
        if "(expires)" in self.covered:
            if self.expires is None:
                raise SignatureError("(expires) is signed but missing")
            if self.expires < now:
                raise SignatureError("signature has expired")

    def verifies(self, method: str, url: str, headers: dict[str, str], public_pem: str) -> bool:
        key = _load_public_key(public_pem)
        if self.algorithm == "rsa-sha256" and _key_family(type(key)) != "rsa":
            return False
        if self.algorithm == "ed25519" and _key_family(type(key)) != "ed25519":
            return False
        path, query = _path_and_query(url)
        # Mastodon signs the query string, Fedify and older Mastodon do not: accept both.
        without_query = f"{method.lower()} {path}"
        targets = [f"{without_query}?{query}", without_query] if query else [without_query]
        for target in targets:
            if _verify_raw(key, self.signature, self._signing_string(target, headers)):
                return True
        return False

    def _signing_string(self, request_target: str, headers: dict[str, str]) -> bytes:
        lines = []
        for name in self.covered:
            if name == "(request-target)":
                value = request_target
            elif name == "(created)":
                value = str(self.created)
            elif name == "(expires)":
                value = str(self.expires)
            else:
                value = headers[name]
            lines.append(f"{name}: {value}")
        return "\n".join(lines).encode()


_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


@lru_cache(maxsize=16)
def _key_family(key_type: type) -> str:
    """"rsa", "ed25519" or "" for a key's class (asked per request; an ABC isinstance is slow)."""
    if issubclass(key_type, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if issubclass(key_type, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    return ""


def _verify_raw(key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if _key_family(type(key)) == "rsa":
            key.verify(signature, data, _PKCS1V15, _SHA256)
        else:
            key.verify(signature, data)
    except CryptoInvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------- RFC 9421


@dataclass
class _Message:
    """The request shape http-message-signatures reads (method, url, headers)."""

    method: str
    url: str
    headers: dict[str, str]


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, key: object) -> None:
        self._key_id = key_id
        self._key = key

    def resolve_private_key(self, key_id: str) -> object:
        if key_id != self._key_id:
            raise KeyError(key_id)
        return self._key

    def resolve_public_key(self, key_id: str) -> object | None:
        return self._key if key_id == self._key_id else None


class _WindowCheckedVerifier(HTTPMessageVerifier):
    """We check created/expires ourselves, against an injectable clock and our window."""

    def validate_created_and_expires(self, sig_input: object, max_age: object = None) -> None:
        return None


def _rfc9421_algorithm(key: object, alg: str | None) -> type[algorithms.HTTPSignatureAlgorithm]:
    family = _key_family(type(key))
    if family == "rsa":
        if alg in (None, algorithms.RSA_V1_5_SHA256.algorithm_id):
            return algorithms.RSA_V1_5_SHA256
        if alg == algorithms.RSA_PSS_SHA512.algorithm_id:
            return algorithms.RSA_PSS_SHA512
    elif family == "ed25519":
        if alg in (None, algorithms.ED25519.algorithm_id):
            return algorithms.ED25519
    raise SignatureError(f"algorithm {alg or 'implied'} does not fit the key")


def sign_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_pem: str,
    *,
    now: float | None = None,
    content_digest: str | None = None,
) -> dict[str, str]:
    """Sign with RFC 9421 as Mastodon and Fedify verify it; returns headers to add.

    Covers ``@method`` and ``@target-uri`` (plus ``content-digest`` when there is a
    body) with ``created``, ``keyid`` and ``alg`` parameters under label ``sig1``.
    The signature base is written here rather than by the library: for this one
    shape it is a few lines, and the library's generic path cost four times the
    RSA signature itself. A Content-Digest already in ``headers`` is the one signed;
    ``content_digest`` is the body's, computed once by a caller that sends one body
    many times (delivery fan-out).
    """
    key = _load_private_key(private_pem)
    family = _key_family(type(key))
    created = int(time.time() if now is None else now)
    added: dict[str, str] = {}
    lines = [f'"@method": {method.upper()}', f'"@target-uri": {_target_uri(url)}']
    covered = '"@method" "@target-uri"'
    if body is not None:
        existing = next((value for name, value in headers.items() if name.lower() == "content-digest"), None)
        if existing is None:
            existing = added["Content-Digest"] = content_digest or content_digest_header(body)
        lines.append(f'"content-digest": {existing}')
        covered += ' "content-digest"'
    alg = "rsa-v1_5-sha256" if family == "rsa" else "ed25519"
    params = f"({covered});created={created};keyid={_sf_string(key_id)};alg=\"{alg}\""
    lines.append(f'"@signature-params": {params}')
    base = "\n".join(lines).encode()
    raw = key.sign(base, _PKCS1V15, _SHA256) if family == "rsa" else key.sign(base)  # type: ignore[call-arg]
    added["Signature-Input"] = f"{RFC9421_LABEL}={params}"
    added["Signature"] = f"{RFC9421_LABEL}=:{base64.b64encode(raw).decode('ascii')}:"
    if not any(name.lower() == "date" for name in headers):
        added["Date"] = _http_date(created)
    return added


# Derived components that depend on nothing but the method and the URL.
_URL_COMPONENTS = ("@method", "@target-uri", "@authority", "@scheme", "@path", "@query", "@request-target")


@lru_cache(maxsize=256)
def _url_components(method: str, target_uri: str) -> dict[str, str] | None:
    """Their values as http-message-signatures resolves them (None: it refuses the URL).

    Resolved by the library itself, once per URL, so the lean path below signs
    exactly the values the library would.
    """
    try:
        resolver = HTTPSignatureComponentResolver(_Message(method, target_uri, {}))
        return {name: resolver.resolve(Item(name)) for name in _URL_COMPONENTS}
    except HTTPMessageSignaturesException:
        return None


def _sf_string(value: str) -> str:
    """RFC 8941 section 4.1.6 serialization of a String."""
    if '"' in value or "\\" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'


def _sf_params(params: Mapping[str, object]) -> str | None:
    """Serialized signature parameters; None for any value the lean path leaves to the library."""
    out = []
    for name, value in params.items():
        if name in ("created", "expires") and type(value) is int:
            out.append(f";{name}={value}")
        elif name not in ("created", "expires") and type(value) is str:
            out.append(f";{name}={_sf_string(value)}")
        else:
            return None
    return "".join(out)


def _printable_field(value: str) -> bool:
    return not value or value.replace("\t", " ").isprintable()


def _printable_derived(value: str) -> bool:
    return not value or (value.isprintable() and not value.startswith(" ") and not value.endswith(" "))


@dataclass(frozen=True)
class _SignatureInput:
    """One Signature-Input member, parsed and checked once per distinct header value.

    A peer's Signature-Input differs from one request to the next only in ``created``, so a busy
    peer sends the same value for every request within a second: it is read once (``_signature_input``).
    Read-only: every request with that value shares it.
    """

    key_id: str
    alg: str | None
    covered: tuple[str, ...]
    created: int
    expires: int | None
    member: tuple  # as parsed, for the library's verifier
    # The lean signature base (None: the library builds it): the covered names and the last line.
    lean_names: tuple[str, ...] | None
    params_line: str | None


@lru_cache(maxsize=256)
def _signature_inputs(value: str) -> dict[str, tuple]:
    """The Signature-Input dictionary; read-only (cached and shared, see ``_SignatureInput``)."""
    return _parse_sf_dictionary(value)


@lru_cache(maxsize=256)
def _signature_input(value: str, label: str) -> _SignatureInput:
    members, params = _signature_inputs(value)[label]
    if not isinstance(members, list):
        raise SignatureError("Signature-Input member is not a list")
    unexpected = set(params) - _RFC9421_PARAMETERS
    if unexpected:
        raise SignatureError(f"unexpected signature parameter {sorted(unexpected)[0]}")
    keyid, created, expires, alg = (params.get(name) for name in ("keyid", "created", "expires", "alg"))
    if not isinstance(keyid, str) or not keyid:
        raise SignatureError("signature lacks keyid")
    if type(created) is not int:
        raise SignatureError("signature lacks created")
    if expires is not None and type(expires) is not int:
        raise SignatureError("malformed expires")
    if alg is not None and not isinstance(alg, str):
        raise SignatureError("malformed alg")
    members = tuple(members)
    lean_names, params_line = _lean_base_shape(members, params)
    return _SignatureInput(key_id=keyid, alg=alg, covered=tuple(str(name) for name, _component_params in members),
                           created=created, expires=expires, member=_signature_inputs(value)[label],
                           lean_names=lean_names, params_line=params_line)


def _lean_base_shape(members: tuple, params: dict[str, object]) -> tuple[tuple[str, ...] | None, str | None]:
    """The covered names and the ``@signature-params`` line when the lean path can build the base.

    The usual shape: plain lowercase header fields (not the signature's own) and the URL's derived
    components, each once, no component parameters, string or integer signature parameters.
    Everything else (``;sf``, ``;key``, ``@query-param``…) goes to http-message-signatures, which
    handles it fully but parses every structured field several times over.
    """
    serialized = _sf_params(params)
    names: list[str] = []
    for name, component_params in members:
        if type(name) is not str or component_params or name in names or _sf_string(name) != f'"{name}"':
            return None, None
        if name.startswith("@"):
            if name not in _URL_COMPONENTS:
                return None, None
        elif name in ("signature", "signature-input") or name != name.lower():
            return None, None
        names.append(name)
    if serialized is None:
        return None, None
    inner = "(" + " ".join(_sf_string(name) for name in names) + ")"
    return tuple(names), f'"@signature-params": {inner}{serialized}'


@lru_cache(maxsize=256)
def _base_template(names: tuple[str, ...], method: str, target_uri: str) -> tuple[tuple[str, str | None], ...] | None:
    """The lines of a lean signature base that depend only on the request's method and URL, made once:
    per covered name, a derived component's whole line and None, or a header field's ``"name": ``
    and its name. None when a derived value is one the lean path leaves to the library."""
    derived = _url_components(method, target_uri)
    if derived is None:
        return None
    lines: list[tuple[str, str | None]] = []
    for name in names:
        if name.startswith("@"):
            value = derived[name]
            if not _printable_derived(value) or "\r" in value or "\n" in value:
                return None
            lines.append((f'"{name}": {value}', None))
        else:
            lines.append((f'"{name}": ', name))
    return tuple(lines)


@dataclass(slots=True)  # read-only by convention: one per request, where frozen costs more to build
class _Rfc9421Signature:
    label: str
    input: _SignatureInput
    signature_value: object  # bytes for a well-formed signature
    signature_member: tuple  # as parsed, for the library's verifier

    @property
    def key_id(self) -> str:
        return self.input.key_id

    @property
    def covered(self) -> tuple[str, ...]:
        return self.input.covered

    @classmethod
    def parse(cls, headers: dict[str, str]) -> _Rfc9421Signature:
        if "signature" not in headers:
            raise SignatureError("Signature-Input without Signature")
        value = headers["signature-input"]
        try:
            inputs = _signature_inputs(value)
            signatures = _parse_sf_dictionary(headers["signature"])
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise SignatureError("malformed Signature-Input or Signature") from exc
        candidates = [label for label in inputs if label in signatures]
        if not candidates:
            raise SignatureError("no signature matches Signature-Input")
        # Peers send one signature; when there are more, ours-by-convention first.
        label = RFC9421_LABEL if RFC9421_LABEL in candidates else candidates[0]
        return cls(label=label, input=_signature_input(value, label), signature_value=signatures[label][0],
                   signature_member=signatures[label])

    def check(self, method: str, headers: dict[str, str], body: bytes | None, now: float, max_skew: float) -> None:
        signature_input = self.input
        covered = signature_input.covered
        for component in RFC9421_COMPONENTS:
            if component not in covered:
                raise SignatureError(f"signature must cover {component}")
        if (method.upper() == "POST" or body) and "content-digest" not in covered:
            raise SignatureError("signature must cover content-digest")
        if "content-digest" in covered:
            if "content-digest" not in headers:
                raise SignatureError("Content-Digest header missing")
            _check_content_digest(headers["content-digest"], body or b"")
        for name in covered:
            if not name.startswith("@") and name not in headers:
                raise SignatureError(f"signed header {name} missing")
        _check_window(signature_input.created, now, max_skew, "signature")
        if signature_input.expires is not None and signature_input.expires < now:
            raise SignatureError("signature has expired")

    def verifies(self, method: str, url: str, headers: dict[str, str], public_pem: str) -> bool:
        key = _load_public_key(public_pem)
        algorithm = _rfc9421_algorithm(key, self.input.alg)
        try:
            method, target_uri = method.upper(), _target_uri(url)
        except ValueError as exc:
            raise SignatureError(f"cannot rebuild signature base: {exc}") from exc
        base = self._signature_base(method, target_uri, headers)
        if base is None:
            return self._verifies_with_library(method, target_uri, headers, key, algorithm)
        if algorithm in (algorithms.RSA_V1_5_SHA256, algorithms.ED25519):  # what peers use: no wrapper object
            return _verify_raw(key, self.signature_value, base)
        try:
            algorithm(public_key=key).verify(signature=self.signature_value, message=base)
        except (CryptoInvalidSignature, ValueError):
            return False
        return True

    def _signature_base(self, method: str, target_uri: str, headers: dict[str, str]) -> bytes | None:
        """RFC 9421 section 2.5 signature base for the usual shape of signature (see ``_lean_base_shape``), else None."""
        names = self.input.lean_names
        if names is None or not isinstance(self.signature_value, bytes):
            return None
        template = _base_template(names, method, target_uri)
        if template is None:
            return None
        lines = []
        for text, field in template:
            if field is not None:
                value = headers.get(field)
                if value is None or not _printable_field(value) or "\r" in value or "\n" in value:
                    return None
                text += value
            lines.append(text)
        lines.append(self.input.params_line)
        base = "\n".join(lines)
        return base.encode("ascii") if base.isascii() else None

    def _verifies_with_library(self, method: str, target_uri: str, headers: dict[str, str], key: object,
                               algorithm: type[algorithms.HTTPSignatureAlgorithm]) -> bool:
        selected = dict(headers)
        selected["signature-input"] = http_sf.ser({self.label: self.input.member})
        selected["signature"] = http_sf.ser({self.label: self.signature_member})
        verifier = _WindowCheckedVerifier(signature_algorithm=algorithm, key_resolver=_OneKey(self.key_id, key))
        try:
            verifier.verify(_Message(method, target_uri, selected), max_age=None,
                            require_components=RFC9421_COMPONENTS)
        except InvalidSignature:
            return False
        except (HTTPMessageSignaturesException, ValueError) as exc:
            raise SignatureError(f"cannot rebuild signature base: {exc}") from exc
        return True


# --------------------------------------------------------------------------- verify


async def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    resolve_key: ResolveKey,
    *,
    max_skew: float = 300,
    now: float | None = None,
) -> VerifiedSignature:
    """Verify a request signed with either scheme; raise ``SignatureError`` otherwise.

    ``url`` must be the URL the client addressed (public scheme and host, path and
    query), not a URL rewritten by a reverse proxy. The key is resolved with
    ``refresh=False`` first; if the signature fails with that key, once more with
    ``refresh=True`` so a rotated key is picked up. Errors raised by ``resolve_key``
    (say, the key's host is unreachable) propagate unchanged.
    """
    lowered = _lower_headers(headers)
    now = time.time() if now is None else now
    parsed: _CavageSignature | _Rfc9421Signature
    scheme: Scheme
    if "signature-input" in lowered:
        parsed, scheme = _Rfc9421Signature.parse(lowered), "rfc9421"
    elif "signature" in lowered:
        parsed, scheme = _CavageSignature.parse(lowered["signature"]), "cavage"
    elif lowered.get("authorization", "").lower().startswith("signature "):
        parsed, scheme = _CavageSignature.parse(lowered["authorization"][len("signature ") :]), "cavage"
    else:
        raise SignatureError("request is not signed")
    parsed.check(method, lowered, body, now, max_skew)

    cached = await resolve_key(parsed.key_id, refresh=False)
    if cached is None:
        raise SignatureError("signing key not found")
    if parsed.verifies(method, url, lowered, cached.public_pem):
        return VerifiedSignature(parsed.key_id, cached.owner, scheme)
    fresh = await resolve_key(parsed.key_id, refresh=True)
    if fresh is not None and fresh.public_pem != cached.public_pem:
        if parsed.verifies(method, url, lowered, fresh.public_pem):
            return VerifiedSignature(parsed.key_id, fresh.owner, scheme)
    raise SignatureError("signature does not verify")
