"""SafeFetcher against loopback servers only.

Addresses other than 127.0.0.1 appear only where they are refused before any
connection is attempted (check_url, literal hosts) or are other loopback
addresses (127.0.0.2) made "private" by an injected address policy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.fetcher import (
    FetchFailed,
    InvalidResponse,
    ResponseTooLarge,
    SafeFetcher,
    UnsafeURL,
    is_public_address,
)
from federation.signatures import PublicKeyInfo, SignatureError, sign_cavage, verify_request

UA = "Vitascope-test/0.1"


def only_first_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Test policy: 127.0.0.1 plays the public internet, everything else is private."""
    return address == ipaddress.ip_address("127.0.0.1")


class MapResolver(AbstractResolver):
    """Names -> addresses from a table (a list per name is consumed in order, for rebinding)."""

    def __init__(self, table: dict[str, str | list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        entry = self.table.get(host)
        if entry is None:
            raise OSError(f"unknown test host {host}")
        address = entry.pop(0) if isinstance(entry, list) else entry
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        return None


class Origin:
    """A loopback HTTP server that records the paths it was asked for."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.hits: list[str] = []
        self.requests: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.port = 0

    def route(self, method: str, path: str):
        def register(handler):
            async def recorded(request: web.Request) -> web.StreamResponse:
                self.hits.append(request.path)
                self.requests.append(request)
                self.bodies.append(await request.read())
                return await handler(request)

            self.app.router.add_route(method, path, recorded)
            return handler

        return register

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@asynccontextmanager
async def serving(origin: Origin) -> AsyncIterator[Origin]:
    server = TestServer(origin.app, host="127.0.0.1")
    await server.start_server()
    origin.port = server.port
    try:
        yield origin
    finally:
        await server.close()


def json_response(document: dict, content_type: str = "application/activity+json") -> web.Response:
    return web.Response(body=json.dumps(document).encode(), content_type=content_type)


def loopback_fetcher(**overrides) -> SafeFetcher:
    options = dict(allow_private=True, allow_http=True, user_agent=UA, timeout=5)
    options.update(overrides)
    return SafeFetcher(**options)


# --------------------------------------------------------------------------- address policy


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1", "2001:db8::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:a00:1::1",
    ],
)
def test_non_public_addresses(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/inbox",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a00:1]/",
        "http://internal.test/",
    ],
)
async def test_check_url_refuses_private_destinations(url):
    fetcher = SafeFetcher(
        allow_private=False, allow_http=True, user_agent=UA, resolver=MapResolver({"internal.test": "10.0.0.7"})
    )
    with pytest.raises(UnsafeURL):
        await fetcher.check_url(url)


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://public.test/", "plain http"),
        ("ftp://public.test/file", "scheme ftp"),
        ("file:///etc/passwd", "scheme file"),
        ("https://user:secret@public.test/", "credentials"),
        ("https:///nohost", "no host"),
    ],
)
async def test_check_url_refuses_schemes_and_credentials(url, reason):
    resolver = MapResolver({"public.test": "93.184.216.34"})
    fetcher = SafeFetcher(allow_private=False, allow_http=False, user_agent=UA, resolver=resolver)
    with pytest.raises(UnsafeURL, match=reason):
        await fetcher.check_url(url)


async def test_check_url_accepts_public_host():
    resolver = MapResolver({"public.test": "93.184.216.34"})
    fetcher = SafeFetcher(allow_private=False, allow_http=False, user_agent=UA, resolver=resolver)
    await fetcher.check_url("https://public.test/users/alice")
    assert resolver.lookups == ["public.test"]


async def test_check_url_reports_unresolvable_host():
    fetcher = SafeFetcher(allow_private=False, allow_http=False, user_agent=UA, resolver=MapResolver({}))
    with pytest.raises(FetchFailed, match="cannot resolve"):
        await fetcher.check_url("https://nowhere.test/")


# --------------------------------------------------------------------------- live loopback fetches


async def test_get_json_sends_accept_user_agent_and_signature():
    origin = Origin()

    @origin.route("GET", "/users/alice")
    async def actor(request):
        return json_response({"id": "https://a.example/users/alice", "type": "Person"})

    signed: list[tuple[str, str]] = []

    def sign(method, url, headers, body):
        signed.append((method, url))
        return {"Signature": "test", "X-Accept-Seen": headers["Accept"]}

    async with serving(origin), loopback_fetcher(sign=sign) as fetcher:
        document = await fetcher.get_json(origin.url("/users/alice"))
        unsigned = await fetcher.get_json(origin.url("/users/alice"), signed=False)
    assert document == unsigned == {"id": "https://a.example/users/alice", "type": "Person"}
    assert signed == [("GET", origin.url("/users/alice"))]
    first, second = origin.requests
    assert "application/activity+json" in first.headers["Accept"]
    assert first.headers["User-Agent"] == UA
    assert first.headers["Signature"] == "test" and "Signature" not in second.headers


async def test_loopback_refused_without_allow_private():
    origin = Origin()

    @origin.route("GET", "/x")
    async def handler(request):
        return json_response({})

    async with serving(origin), SafeFetcher(allow_private=False, allow_http=True, user_agent=UA) as fetcher:
        with pytest.raises(UnsafeURL):
            await fetcher.get_json(origin.url("/x"))
        with pytest.raises(UnsafeURL):
            await fetcher.get_bytes(origin.url("/x"))
        with pytest.raises(UnsafeURL):
            await fetcher.post(origin.url("/x"), b"{}", {})
    assert origin.hits == []


async def test_loopback_name_refused_after_resolution():
    origin = Origin()

    @origin.route("GET", "/x")
    async def handler(request):
        return json_response({})

    resolver = MapResolver({"innocent.test": "127.0.0.1"})
    fetcher = SafeFetcher(allow_private=False, allow_http=True, user_agent=UA, resolver=resolver)
    async with serving(origin), fetcher:
        with pytest.raises(UnsafeURL, match="innocent.test resolves to a disallowed address"):
            await fetcher.get_json(origin.url("/x", host="innocent.test"))
    assert resolver.lookups == ["innocent.test"]
    assert origin.hits == []


async def test_http_refused_without_allow_http():
    origin = Origin()

    @origin.route("GET", "/x")
    async def handler(request):
        return json_response({})

    async with serving(origin), loopback_fetcher(allow_http=False) as fetcher:
        with pytest.raises(UnsafeURL, match="plain http"):
            await fetcher.get_json(origin.url("/x"))
    assert origin.hits == []


async def test_redirects_are_followed_and_final_url_reported():
    origin = Origin()

    @origin.route("GET", "/start")
    async def start(request):
        raise web.HTTPFound("/middle")

    @origin.route("GET", "/middle")
    async def middle(request):
        raise web.HTTPMovedPermanently(origin.url("/final"))

    @origin.route("GET", "/final")
    async def final(request):
        return json_response({"id": origin.url("/final")})

    signed: list[str] = []

    def sign(method, url, headers, body):
        signed.append(url)
        return {}

    async with serving(origin), loopback_fetcher(sign=sign) as fetcher:
        fetched = await fetcher.fetch_json(origin.url("/start"))
    assert fetched.url == origin.url("/final")
    assert fetched.document == {"id": origin.url("/final")}
    assert origin.hits == ["/start", "/middle", "/final"]
    assert signed == [origin.url("/start"), origin.url("/middle"), origin.url("/final")]  # re-signed per hop


@pytest.mark.parametrize("target_host", ["127.0.0.2", "private.test"])
async def test_redirect_to_private_address_is_refused(target_host):
    origin = Origin()

    @origin.route("GET", "/start")
    async def start(request):
        raise web.HTTPFound(origin.url("/secret", host=target_host))

    @origin.route("GET", "/secret")
    async def secret(request):
        return json_response({"secret": True})

    resolver = MapResolver({"public.test": "127.0.0.1", "private.test": "127.0.0.2"})
    fetcher = SafeFetcher(
        allow_private=False, allow_http=True, user_agent=UA, address_policy=only_first_loopback, resolver=resolver
    )
    async with serving(origin), fetcher:
        with pytest.raises(UnsafeURL):
            await fetcher.get_json(origin.url("/start", host="public.test"))
    assert origin.hits == ["/start"]


async def test_dns_rebinding_is_checked_at_connect_time():
    origin = Origin()

    @origin.route("GET", "/x")
    async def handler(request):
        return json_response({})

    resolver = MapResolver({"rebind.test": ["127.0.0.1", "127.0.0.2"]})
    fetcher = SafeFetcher(
        allow_private=False, allow_http=True, user_agent=UA, address_policy=only_first_loopback, resolver=resolver
    )
    async with serving(origin), fetcher:
        await fetcher.check_url(origin.url("/x", host="rebind.test"))  # first answer looks fine
        with pytest.raises(UnsafeURL):
            await fetcher.get_json(origin.url("/x", host="rebind.test"))  # the connection re-checks
    assert origin.hits == []


async def test_redirect_loop_stops():
    origin = Origin()

    @origin.route("GET", "/loop")
    async def loop(request):
        raise web.HTTPFound("/loop")

    async with serving(origin), loopback_fetcher() as fetcher:
        with pytest.raises(FetchFailed, match="more than 5 redirects"):
            await fetcher.get_json(origin.url("/loop"))
    assert len(origin.hits) == 6


async def test_size_cap_by_content_length():
    origin = Origin()

    @origin.route("GET", "/big")
    async def big(request):
        return web.Response(body=b"x" * 3000, content_type="application/octet-stream")

    async with serving(origin), loopback_fetcher(max_bytes=1000) as fetcher:
        with pytest.raises(ResponseTooLarge, match="Content-Length 3000"):
            await fetcher.get_bytes(origin.url("/big"))
        assert await fetcher.get_bytes(origin.url("/big"), max_bytes=3000) == b"x" * 3000


async def test_size_cap_while_streaming_chunked():
    origin = Origin()

    @origin.route("GET", "/stream")
    async def stream(request):
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b" " * 1000)
        await response.write_eof()
        return response

    async with serving(origin), loopback_fetcher(max_bytes=10_000) as fetcher:
        with pytest.raises(ResponseTooLarge, match="body exceeds 10000 bytes"):
            await fetcher.get_json(origin.url("/stream"))
        with pytest.raises(ResponseTooLarge):
            await fetcher.get_bytes(origin.url("/stream"), max_bytes=49_999)
        assert len(await fetcher.get_bytes(origin.url("/stream"), max_bytes=50_000)) == 50_000


async def test_timeout_covers_slow_responses():
    origin = Origin()

    @origin.route("GET", "/slow")
    async def slow(request):
        await asyncio.sleep(3)
        return json_response({})

    async with serving(origin), loopback_fetcher(timeout=0.3) as fetcher:
        # The answer would come after 3 s: failing with a timeout means the request was cut off.
        with pytest.raises(FetchFailed, match="timed out") as refused:
            await fetcher.get_json(origin.url("/slow"))
        assert refused.value.status is None


async def test_error_status_and_wrong_content():
    origin = Origin()

    @origin.route("GET", "/gone")
    async def gone(request):
        raise web.HTTPGone()

    @origin.route("GET", "/html")
    async def html(request):
        return web.Response(text="<html></html>", content_type="text/html")

    @origin.route("GET", "/list")
    async def a_list(request):
        return json_response([1, 2])  # type: ignore[arg-type]

    @origin.route("GET", "/broken")
    async def broken(request):
        return web.Response(body=b"{not json", content_type="application/json")

    async with serving(origin), loopback_fetcher() as fetcher:
        with pytest.raises(FetchFailed) as failed:
            await fetcher.get_json(origin.url("/gone"))
        assert failed.value.status == 410
        with pytest.raises(InvalidResponse, match="expected JSON"):
            await fetcher.get_json(origin.url("/html"))
        with pytest.raises(InvalidResponse, match="not a JSON object"):
            await fetcher.get_json(origin.url("/list"))
        with pytest.raises(InvalidResponse, match="not valid JSON"):
            await fetcher.get_json(origin.url("/broken"))


async def test_connection_refused_is_fetch_failed():
    origin = Origin()
    async with serving(origin):
        closed_port_url = origin.url("/x")
    async with loopback_fetcher() as fetcher:
        with pytest.raises(FetchFailed) as failed:
            await fetcher.get_json(closed_port_url)
    assert failed.value.status is None


async def test_post_delivers_signed_body_and_returns_status():
    private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    key_id = "https://a.example/users/alice#main-key"

    async def resolve_key(requested: str, refresh: bool) -> PublicKeyInfo:
        return PublicKeyInfo(requested, "https://a.example/users/alice", public_pem)

    origin = Origin()

    @origin.route("POST", "/inbox")
    async def inbox(request):
        try:
            body = await request.read()
            verified = await verify_request(request.method, str(request.url), request.headers, body, resolve_key)
        except SignatureError as exc:
            return web.Response(status=401, text=exc.reason)
        return web.Response(status=202, text=f"accepted from {verified.owner}")

    @origin.route("POST", "/moved")
    async def moved(request):
        raise web.HTTPTemporaryRedirect("/inbox")

    def sign(method, url, headers, body):
        return sign_cavage(method, url, headers, body, key_id, private_pem)

    body = b'{"type":"Like"}'
    async with serving(origin), loopback_fetcher() as fetcher:
        headers = {"Content-Type": "application/activity+json"}
        status, text = await fetcher.post(origin.url("/inbox"), body, headers, signed_with=sign)
        assert (status, text) == (202, "accepted from https://a.example/users/alice")
        status, text = await fetcher.post(origin.url("/inbox"), body, headers)
        assert (status, text) == (401, "request is not signed")
        status, _ = await fetcher.post(origin.url("/moved"), body, {}, signed_with=sign)
        assert status == 307
    assert origin.hits == ["/inbox", "/inbox", "/moved"]
    assert origin.bodies[0] == body


async def test_fetcher_requires_context_manager():
    with pytest.raises(RuntimeError, match="async with"):
        await loopback_fetcher().get_json("http://127.0.0.1:1/")
