"""HTTP signatures: our signer against our verifier, and both against independent code."""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import time
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, MappingKeyResolver, algorithms

from federation.signatures import (
    PublicKeyInfo,
    SignatureError,
    VerifiedSignature,
    content_digest_header,
    digest_header,
    sign_cavage,
    sign_rfc9421,
    verify_request,
)

KEY_ID = "https://alice.example/users/alice#main-key"
OWNER = "https://alice.example/users/alice"
INBOX = "https://bob.example/users/bob/inbox"
BODY = b'{"type":"Follow","actor":"https://alice.example/users/alice"}'
NOW = 1_750_000_000.0


def _pems(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


@pytest.fixture(scope="module")
def rsa_key() -> tuple[str, str]:
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def other_rsa_key() -> tuple[str, str]:
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ed_key() -> tuple[str, str]:
    return _pems(ed25519.Ed25519PrivateKey.generate())


@dataclass
class Keys:
    """A resolve_key that serves ``cached`` until asked to refresh, then ``fresh``."""

    cached: str
    fresh: str | None = None
    calls: list[bool] = field(default_factory=list)

    async def __call__(self, key_id: str, refresh: bool) -> PublicKeyInfo:
        self.calls.append(refresh)
        pem = self.fresh if refresh and self.fresh is not None else self.cached
        return PublicKeyInfo(key_id, OWNER, pem)


def _signed(sign, method: str, url: str, body: bytes | None, private_pem: str, *, now: float = NOW, **headers: str):
    base = {name.replace("_", "-"): value for name, value in headers.items()}
    base.update(sign(method, url, base, body, KEY_ID, private_pem, now=now))
    return base


SCHEMES = [pytest.param(sign_cavage, "cavage", id="cavage"), pytest.param(sign_rfc9421, "rfc9421", id="rfc9421")]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("sign,scheme", SCHEMES)
@pytest.mark.parametrize("key_fixture", ["rsa_key", "ed_key"])
async def test_post_round_trip(sign, scheme, key_fixture, request):
    private, public = request.getfixturevalue(key_fixture)
    headers = _signed(sign, "POST", INBOX, BODY, private, Content_Type="application/activity+json")
    keys = Keys(public)
    result = await verify_request("POST", INBOX, headers, BODY, keys, now=NOW)
    assert result == VerifiedSignature(KEY_ID, OWNER, scheme)
    assert keys.calls == [False]


@pytest.mark.parametrize("sign,scheme", SCHEMES)
async def test_get_round_trip_with_query(sign, scheme, rsa_key):
    private, public = rsa_key
    url = "https://bob.example/users/bob/outbox?page=true&min_id=5"
    headers = _signed(sign, "GET", url, None, private, Accept="application/activity+json")
    assert (await verify_request("GET", url, headers, None, Keys(public), now=NOW)).scheme == scheme


def test_cavage_headers_match_what_mastodon_requires(rsa_key):
    post = sign_cavage("POST", INBOX + "?x=1", {}, BODY, KEY_ID, rsa_key[0], now=NOW)
    assert post["Host"] == "bob.example"
    assert post["Date"] == email.utils.formatdate(NOW, usegmt=True)
    assert post["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert 'headers="(request-target) host date digest"' in post["Signature"]
    assert 'algorithm="rsa-sha256"' in post["Signature"]
    get = sign_cavage("GET", INBOX, {"Accept": "application/activity+json"}, None, KEY_ID, rsa_key[0], now=NOW)
    assert 'headers="(request-target) host date accept"' in get["Signature"]
    assert "Digest" not in get


def test_rfc9421_headers_match_what_mastodon_and_fedify_expect(rsa_key):
    added = sign_rfc9421("POST", "https://Bob.Example:443/users/bob/inbox", {}, BODY, KEY_ID, rsa_key[0], now=NOW)
    assert added["Content-Digest"] == content_digest_header(BODY)
    assert added["Signature-Input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW)};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )
    assert added["Signature"].startswith("sig1=:") and added["Signature"].endswith(":")


def test_digest_helpers():
    assert digest_header(b"mooo") == "SHA-256=Kch/yJ/aOjLud24QANj5EK/SfmpAubIsE9BbRcaT5D4="
    assert content_digest_header(b"moo") == "sha-256=:R9+ukoir89XSJSq/sL1qyWYmN9ZG5t+dXSdLwzbierw=:"


# --------------------------------------------------------------------------- refusals


async def test_unsigned_request_is_refused(rsa_key):
    with pytest.raises(SignatureError, match="not signed"):
        await verify_request("POST", INBOX, {"Content-Type": "application/activity+json"}, BODY, Keys(rsa_key[1]))


@pytest.mark.parametrize("sign", [pytest.param(sign_cavage, id="cavage"), pytest.param(sign_rfc9421, id="rfc9421")])
async def test_tampered_body_is_refused_before_key_lookup(sign, rsa_key):
    headers = _signed(sign, "POST", INBOX, BODY, rsa_key[0])
    keys = Keys(rsa_key[1])
    with pytest.raises(SignatureError, match="[Dd]igest"):
        await verify_request("POST", INBOX, headers, BODY.replace(b"Follow", b"Block"), keys, now=NOW)
    assert keys.calls == []


@pytest.mark.parametrize("sign", [pytest.param(sign_cavage, id="cavage"), pytest.param(sign_rfc9421, id="rfc9421")])
@pytest.mark.parametrize("offset,message", [(301, "too old"), (-301, "in the future")])
async def test_time_window(sign, offset, message, rsa_key):
    headers = _signed(sign, "POST", INBOX, BODY, rsa_key[0])
    await verify_request("POST", INBOX, headers, BODY, Keys(rsa_key[1]), now=NOW + offset * 0.99)
    with pytest.raises(SignatureError, match=message):
        await verify_request("POST", INBOX, headers, BODY, Keys(rsa_key[1]), now=NOW + offset)


async def test_default_clock_is_the_real_clock(rsa_key):
    headers = _signed(sign_rfc9421, "POST", INBOX, BODY, rsa_key[0], now=time.time())
    assert (await verify_request("POST", INBOX, headers, BODY, Keys(rsa_key[1]))).owner == OWNER
    stale = _signed(sign_rfc9421, "POST", INBOX, BODY, rsa_key[0], now=time.time() - 3600)
    with pytest.raises(SignatureError, match="too old"):
        await verify_request("POST", INBOX, stale, BODY, Keys(rsa_key[1]))


@pytest.mark.parametrize("sign", [pytest.param(sign_cavage, id="cavage"), pytest.param(sign_rfc9421, id="rfc9421")])
async def test_wrong_key_is_refused_after_one_refresh(sign, rsa_key, other_rsa_key):
    headers = _signed(sign, "POST", INBOX, BODY, other_rsa_key[0])
    keys = Keys(rsa_key[1], fresh=rsa_key[1])
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", INBOX, headers, BODY, keys, now=NOW)
    assert keys.calls == [False, True]


@pytest.mark.parametrize("sign", [pytest.param(sign_cavage, id="cavage"), pytest.param(sign_rfc9421, id="rfc9421")])
async def test_rotated_key_is_refetched_once(sign, rsa_key, other_rsa_key):
    headers = _signed(sign, "POST", INBOX, BODY, other_rsa_key[0])
    keys = Keys(cached=rsa_key[1], fresh=other_rsa_key[1])
    result = await verify_request("POST", INBOX, headers, BODY, keys, now=NOW)
    assert result.key_id == KEY_ID
    assert keys.calls == [False, True]


@pytest.mark.parametrize("sign", [pytest.param(sign_cavage, id="cavage"), pytest.param(sign_rfc9421, id="rfc9421")])
async def test_signature_bound_to_url_and_method(sign, rsa_key):
    headers = _signed(sign, "POST", INBOX, BODY, rsa_key[0])
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", "https://bob.example/users/carol/inbox", headers, BODY, Keys(rsa_key[1]), now=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("PUT", INBOX, headers, BODY, Keys(rsa_key[1]), now=NOW)


async def test_cavage_missing_or_unsigned_headers(rsa_key):
    private, public = rsa_key
    headers = _signed(sign_cavage, "POST", INBOX, BODY, private)
    without_date = {k: v for k, v in headers.items() if k != "Date"}
    with pytest.raises(SignatureError, match="signed header date missing"):
        await verify_request("POST", INBOX, without_date, BODY, Keys(public), now=NOW)
    without_digest = {k: v for k, v in headers.items() if k != "Digest"}
    with pytest.raises(SignatureError, match="Digest header missing"):
        await verify_request("POST", INBOX, without_digest, BODY, Keys(public), now=NOW)
    # A POST whose signature does not cover the digest could carry any body.
    get_style = _signed(sign_cavage, "POST", INBOX, None, private)
    get_style["Digest"] = digest_header(BODY)
    with pytest.raises(SignatureError, match="must cover digest"):
        await verify_request("POST", INBOX, get_style, BODY, Keys(public), now=NOW)


async def test_rfc9421_missing_pieces(rsa_key):
    private, public = rsa_key
    headers = _signed(sign_rfc9421, "POST", INBOX, BODY, private)
    without_digest = {k: v for k, v in headers.items() if k != "Content-Digest"}
    with pytest.raises(SignatureError, match="Content-Digest header missing"):
        await verify_request("POST", INBOX, without_digest, BODY, Keys(public), now=NOW)
    without_signature = {k: v for k, v in headers.items() if k != "Signature"}
    with pytest.raises(SignatureError, match="without Signature"):
        await verify_request("POST", INBOX, without_signature, BODY, Keys(public), now=NOW)
    bodiless = _signed(sign_rfc9421, "POST", INBOX, None, private)
    bodiless["Content-Digest"] = content_digest_header(BODY)
    with pytest.raises(SignatureError, match="must cover content-digest"):
        await verify_request("POST", INBOX, bodiless, BODY, Keys(public), now=NOW)


async def test_cavage_algorithm_names(rsa_key):
    private, public = rsa_key
    headers = _signed(sign_cavage, "POST", INBOX, BODY, private)
    # The algorithm parameter is not signed; hs2019 means "look at the key".
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="hs2019"')
    assert (await verify_request("POST", INBOX, headers, BODY, Keys(public), now=NOW)).scheme == "cavage"
    headers["Signature"] = headers["Signature"].replace('algorithm="hs2019"', 'algorithm="rsa-sha512"')
    with pytest.raises(SignatureError, match="unsupported signature algorithm"):
        await verify_request("POST", INBOX, headers, BODY, Keys(public), now=NOW)


async def test_cavage_in_authorization_header(rsa_key):
    private, public = rsa_key
    headers = _signed(sign_cavage, "GET", INBOX, None, private)
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    assert (await verify_request("GET", INBOX, headers, None, Keys(public), now=NOW)).key_id == KEY_ID


async def test_malformed_signature_headers(rsa_key):
    with pytest.raises(SignatureError, match="malformed Signature header"):
        await verify_request("GET", INBOX, {"Signature": "this is not it"}, None, Keys(rsa_key[1]), now=NOW)
    with pytest.raises(SignatureError, match="lacks keyId"):
        await verify_request("GET", INBOX, {"Signature": 'signature="AAAA"'}, None, Keys(rsa_key[1]), now=NOW)
    bad_input = {"Signature-Input": "sig1=(((", "Signature": "sig1=:AAAA:"}
    with pytest.raises(SignatureError, match="malformed Signature-Input"):
        await verify_request("GET", INBOX, bad_input, None, Keys(rsa_key[1]), now=NOW)


async def test_rfc9421_unknown_parameter_is_refused(rsa_key):
    headers = _signed(sign_rfc9421, "GET", INBOX, None, rsa_key[0])
    headers["Signature-Input"] += ';context="x"'
    keys = Keys(rsa_key[1])
    with pytest.raises(SignatureError, match="unexpected signature parameter context"):
        await verify_request("GET", INBOX, headers, None, keys, now=NOW)
    assert keys.calls == []


async def test_unknown_key_is_refused(rsa_key):
    headers = _signed(sign_cavage, "GET", INBOX, None, rsa_key[0])

    async def nothing(key_id: str, refresh: bool) -> None:
        return None

    with pytest.raises(SignatureError, match="key not found"):
        await verify_request("GET", INBOX, headers, None, nothing, now=NOW)


# --------------------------------------------------------------------------- independent implementations


async def test_our_cavage_verified_by_bovine(rsa_key):
    from bovine.crypto.signature_checker import SignatureChecker
    from bovine.crypto.types import CryptographicIdentifier

    private, public = rsa_key

    async def key_retriever(key_id: str) -> CryptographicIdentifier:
        assert key_id == KEY_ID
        return CryptographicIdentifier.from_pem(public, OWNER)

    async def body() -> bytes:
        return BODY

    headers = _signed(sign_cavage, "POST", INBOX, BODY, private, now=time.time())
    lowered = {k.lower(): v for k, v in headers.items()}
    assert await SignatureChecker(key_retriever).validate_signature("POST", INBOX, lowered, body) == OWNER
    lowered["digest"] = digest_header(b"{}")
    assert await SignatureChecker(key_retriever).validate_signature("POST", INBOX, lowered, body) is None


async def test_bovine_cavage_verified_by_us(rsa_key):
    """fediverse-pasture signs with bovine: path-only request target, lowercase digest."""
    from bovine.crypto.helper import content_digest_sha256
    from bovine.crypto.http_signature import build_signature
    from bovine.crypto.types import CryptographicSecret

    private, public = rsa_key
    date = email.utils.formatdate(NOW, usegmt=True)
    helper = (
        build_signature("bob.example", "post", "/users/bob/inbox")
        .with_field("date", date)
        .with_field("digest", content_digest_sha256(BODY))
        .with_field("content-type", "application/activity+json")
    )
    headers = {**helper.headers, "signature": helper.sign_for_http_draft(CryptographicSecret.from_pem(KEY_ID, private))}
    result = await verify_request("POST", INBOX + "?ignored=1", headers, BODY, Keys(public), now=NOW)
    assert result == VerifiedSignature(KEY_ID, OWNER, "cavage")


async def test_our_rfc9421_verified_by_http_message_signatures(rsa_key):
    private, public = rsa_key
    headers = _signed(sign_rfc9421, "POST", INBOX, BODY, private, now=time.time())

    @dataclass
    class Request:
        method: str
        url: str
        headers: dict

    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={KEY_ID: public.encode()}, private_keys={}),
    )
    [result] = verifier.verify(
        Request("POST", INBOX, headers),
        require_components=("@method", "@target-uri", "content-digest"),
        body=BODY,
    )
    assert result.parameters["keyid"] == KEY_ID
    assert result.body == BODY


def test_our_rfc9421_signature_base_by_hand(ed_key):
    """Rebuild the RFC 9421 section 2.5 signature base without any library."""
    private, public = ed_key
    url = "https://bob.example/users/bob/inbox?a=1"
    headers = sign_rfc9421("POST", url, {}, BODY, KEY_ID, private, now=NOW)
    params = headers["Signature-Input"].removeprefix("sig1=")
    base = "\n".join(
        [
            '"@method": POST',
            f'"@target-uri": {url}',
            f'"content-digest": {headers["Content-Digest"]}',
            f'"@signature-params": {params}',
        ]
    )
    signature = base64.b64decode(headers["Signature"].removeprefix("sig1=:").removesuffix(":"))
    public_key = serialization.load_pem_public_key(public.encode())
    public_key.verify(signature, base.encode())  # raises if the base differs
    assert ';alg="ed25519"' in params


async def test_fedify_shaped_rfc9421_verified_by_us(rsa_key):
    """Fedify covers @method @target-uri @authority host date content-digest, params alg;keyid;created."""
    private, public = rsa_key
    key = serialization.load_pem_private_key(private.encode(), password=None)
    date = email.utils.formatdate(NOW, usegmt=True)
    digest = content_digest_header(BODY)
    components = ["@method", "@target-uri", "@authority", "host", "date", "content-digest"]
    params = f'alg="rsa-v1_5-sha256";keyid="{KEY_ID}";created={int(NOW)}'
    values = ["POST", INBOX, "bob.example", "bob.example", date, digest]
    base = "\n".join(f'"{c}": {v}' for c, v in zip(components, values))
    base += "\n" + '"@signature-params": (' + " ".join(f'"{c}"' for c in components) + f");{params}"
    raw = key.sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())
    headers = {
        "Host": "bob.example",
        "Date": date,
        "Content-Digest": digest,
        "Signature-Input": "sig1=(" + " ".join(f'"{c}"' for c in components) + f");{params}",
        "Signature": f"sig1=:{base64.b64encode(raw).decode()}:",
    }
    assert (await verify_request("POST", INBOX, headers, BODY, Keys(public), now=NOW)).scheme == "rfc9421"
    headers["Host"] = "mallory.example"
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", INBOX, headers, BODY, Keys(public), now=NOW)


async def test_http_message_signatures_signer_verified_by_us(ed_key):
    private, public = ed_key

    @dataclass
    class Request:
        method: str
        url: str
        headers: dict

    request = Request("POST", INBOX, {"Content-Type": "application/activity+json"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: private.encode()}),
    )
    signer.sign(
        request,
        key_id=KEY_ID,
        created=datetime.datetime.fromtimestamp(NOW, tz=datetime.timezone.utc),
        label="pyhms",
        covered_component_ids=("@method", "@authority", "@target-uri", "content-type"),
        body=BODY,
    )
    result = await verify_request("POST", INBOX, request.headers, BODY, Keys(public), now=NOW)
    assert result == VerifiedSignature(KEY_ID, OWNER, "rfc9421")


async def test_every_url_component_and_parameter_verified_by_us(rsa_key):
    """All derived components of a request URL, with every signature parameter, signed by the library."""
    private, public = rsa_key
    url = "https://bob.example/users/bob/outbox?page=true&q=a%20b"

    @dataclass
    class Request:
        method: str
        url: str
        headers: dict

    request = Request("POST", url, {"Content-Type": "application/activity+json", "X-Note": 'say "hi"\tthere'})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: private.encode()}),
    )
    signer.sign(
        request,
        key_id=KEY_ID,
        created=datetime.datetime.fromtimestamp(NOW, tz=datetime.timezone.utc),
        expires=datetime.datetime.fromtimestamp(NOW + 60, tz=datetime.timezone.utc),
        nonce='n"1\\',
        tag="fediverse",
        include_alg=True,
        label="sig1",
        covered_component_ids=("@method", "@target-uri", "@authority", "@scheme", "@path", "@query",
                               "@request-target", "content-type", "x-note"),
        body=BODY,
    )
    result = await verify_request("POST", url, request.headers, BODY, Keys(public), now=NOW)
    assert result == VerifiedSignature(KEY_ID, OWNER, "rfc9421")
    for changed_url in (url.replace("q=a", "q=b"), url.replace("/outbox", "/inbox"), url.replace("https", "http")):
        with pytest.raises(SignatureError, match="does not verify"):
            await verify_request("POST", changed_url, request.headers, BODY, Keys(public), now=NOW)
    tampered = {**request.headers, "X-Note": "say hello"}
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", url, tampered, BODY, Keys(public), now=NOW)


@pytest.mark.parametrize("components", [
    ("@method", "@target-uri", '"content-digest";sf'),
    ("@method", "@target-uri", "content-digest", '"@query-param";name="page"'),
], ids=["sf-field", "query-param"])
async def test_component_parameters_verified_by_us(rsa_key, components):
    """Component parameters are rarer in the fediverse; they must verify all the same."""
    private, public = rsa_key
    url = INBOX + "?page=2"

    @dataclass
    class Request:
        method: str
        url: str
        headers: dict

    request = Request("POST", url, {})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: private.encode()}),
    )
    signer.sign(request, key_id=KEY_ID, created=datetime.datetime.fromtimestamp(NOW, tz=datetime.timezone.utc),
                label="sig1", covered_component_ids=components, body=BODY)
    assert (await verify_request("POST", url, request.headers, BODY, Keys(public), now=NOW)).scheme == "rfc9421"
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", INBOX + "?page=3", request.headers, BODY, Keys(public), now=NOW)


async def test_rfc9421_fields_in_unusual_spellings_verify(rsa_key):
    """Extra spaces, unpadded base64, a second digest: still the same signature (RFC 8941 parsing)."""
    private, public = rsa_key
    headers = _signed(sign_rfc9421, "POST", INBOX, BODY, private)
    spaced = {**headers, "Signature-Input": headers["Signature-Input"].replace('" "', '"  "').replace("(", "( ")}
    assert (await verify_request("POST", INBOX, spaced, BODY, Keys(public), now=NOW)).key_id == KEY_ID
    unpadded = {**headers, "Signature": headers["Signature"].replace("=", "").replace("sig1:", "sig1=:")}
    assert (await verify_request("POST", INBOX, unpadded, BODY, Keys(public), now=NOW)).key_id == KEY_ID
    sha512 = "sha-512=:" + base64.b64encode(hashlib.sha512(BODY).digest()).decode() + ":"
    for digest in (sha512, headers["Content-Digest"] + ", " + sha512):
        resigned = {"Content-Digest": digest}
        resigned.update(sign_rfc9421("POST", INBOX, resigned, BODY, KEY_ID, private, now=NOW))
        assert (await verify_request("POST", INBOX, resigned, BODY, Keys(public), now=NOW)).scheme == "rfc9421"
        other = resigned["Content-Digest"].replace(sha512, "sha-512=:" + base64.b64encode(
            hashlib.sha512(b"{}").digest()).decode() + ":")
        with pytest.raises(SignatureError, match="Content-Digest does not match"):
            await verify_request("POST", INBOX, {**resigned, "Content-Digest": other}, BODY, Keys(public), now=NOW)


async def test_cavage_headers_in_unusual_spellings_verify(rsa_key):
    """Spaces after commas, another order, an escaped quote: the same signature, read the slow way."""
    private, public = rsa_key
    headers = _signed(sign_cavage, "POST", INBOX, BODY, private)
    params = dict(part.split("=", 1) for part in headers["Signature"].split(","))
    for spelling in (", ".join(f"{k}={v}" for k, v in params.items()),
                     ",".join(f"{k}={v}" for k, v in reversed(params.items())),
                     ",".join(f"{k} = {v}" for k, v in params.items())):
        verified = await verify_request("POST", INBOX, {**headers, "Signature": spelling}, BODY, Keys(public), now=NOW)
        assert verified.key_id == KEY_ID
    quoted_key = KEY_ID + '"x'
    escaped = headers["Signature"].replace(f'keyId="{KEY_ID}"', 'keyId="' + quoted_key.replace('"', '\\"') + '"')
    verified = await verify_request("POST", INBOX, {**headers, "Signature": escaped}, BODY, Keys(public), now=NOW)
    assert verified.key_id == quoted_key


async def test_cavage_trailing_signature_is_read_like_the_rest(rsa_key):
    """What precedes a trailing `signature` is read once per distinct value; a repeated parameter
    still means its last value, and what cannot be split there is read the general way."""
    private, public = rsa_key
    headers = _signed(sign_cavage, "POST", INBOX, BODY, private)
    head, _, signature = headers["Signature"].rpartition(',signature="')
    for value in (headers["Signature"], f'{head},signature="AAAA",signature="{signature}'):
        verified = await verify_request("POST", INBOX, {**headers, "Signature": value}, BODY, Keys(public), now=NOW)
        assert verified.key_id == KEY_ID
    for value, reason in ((f'{head},signature="{signature},signature="AAAA"', "does not verify"),
                          (f',signature="{signature}', "malformed"),
                          (f'{head},signature=""', "lacks keyId or signature"),
                          (f'{head},signature="not base64!"', "malformed")):
        with pytest.raises(SignatureError, match=reason):
            await verify_request("POST", INBOX, {**headers, "Signature": value}, BODY, Keys(public), now=NOW)


def test_plain_cavage_spelling_reads_as_the_general_parser_does():
    """The fast reading of the usual spelling agrees with the general one on everything it accepts."""
    import random

    from federation.signatures import _cavage_params, _plain_cavage_params

    alphabet = ['"', ",", "=", "\\", " ", "a", "Z", "9", "(", "#", "/", ":"]
    rng = random.Random(8)
    accepted = 0
    samples = ['keyId="k",algorithm="rsa-sha256",headers="(request-target) host",signature="c2lnbmF0dXJl"',
               'a=""', 'a="",b=""', '"', "", 'keyId="k",created=1', 'keyId="k", signature="s"', 'keyId="a=b",x="y"']
    for _ in range(20000):
        parts = [rng.choice(["keyId", "signature", "a", "b", "x1", ""]) + rng.choice(['="', "=", '"', ""])
                 + "".join(rng.choice(alphabet) for _ in range(rng.randrange(4))) + rng.choice(['"', ""])
                 for _ in range(rng.randrange(1, 4))]
        samples.append(",".join(parts))
    for value in samples:
        fast = _plain_cavage_params(value)
        if fast is None:
            continue
        accepted += 1
        assert fast == _cavage_params(value), value
    assert accepted > 300
