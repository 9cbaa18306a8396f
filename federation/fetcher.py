"""The one way this node talks to remote hosts: SSRF-safe, size- and time-capped.

Every remote URL (actors, keys, objects, media, WebFinger, inbox deliveries)
goes through ``SafeFetcher`` so the rules live in one place:

* only http(s); plain http only when ``allow_http`` (development);
* the destination host must pass the caller's host policy, if any (the node's domain
  blocks), on every redirect hop;
* the destination address must pass the address policy (no loopback,
  private, link-local, multicast, reserved or unspecified addresses unless
  ``allow_private``) on every redirect hop;
* the check happens inside aiohttp's resolver, so the connection goes to
  exactly the addresses that were checked (no DNS-rebinding window);
* response bodies are capped by Content-Length and by bytes actually read,
  and the whole exchange, redirects included, by one deadline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from .jsonparse import JSONRefused, parse_json
from .vocab import AP_ACCEPT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]
# host_policy("host[:port]") -> whether requests to that host are allowed at all.
HostPolicy = Callable[[str], bool]
# sign(method, url, headers, body) -> headers to add, e.g. signatures.sign_cavage bound to a key.
Signer = Callable[[str, str, Mapping[str, str], bytes | None], Mapping[str, str]]

MAX_REDIRECTS = 5
POST_RESPONSE_PREFIX_BYTES = 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """A remote fetch was refused or failed; ``reason`` is short and loggable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsafeURL(FetchError):
    """The URL's scheme or destination address is not allowed."""


class BlockedHost(FetchError):
    """The caller's host policy forbids talking to this host."""


class ResponseTooLarge(FetchError):
    """The response body exceeds the cap."""


class FetchFailed(FetchError):
    """Network error, timeout, or a non-2xx status (``status`` is None without a response)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class InvalidResponse(FetchError):
    """The response is not what was asked for (e.g. not a JSON object)."""


@dataclass(frozen=True)
class FetchedJSON:
    """A JSON document and the URL it was finally served from (after redirects)."""

    url: str
    document: dict[str, Any]


def is_public_address(address: IPAddress) -> bool:
    """True for globally routable unicast addresses, looking inside IPv6 wrappers of IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _allow_any_address(address: IPAddress) -> bool:
    return True


class _PolicyResolver(AbstractResolver):
    """Resolves through ``inner`` and refuses hosts with any disallowed address.

    aiohttp connects to exactly what this returns, so the address that was
    checked is the address that is used.
    """

    def __init__(self, inner: AbstractResolver, policy: AddressPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            results = await self._inner.resolve(host, port, family)
        except OSError as exc:
            raise FetchFailed(f"cannot resolve {host}") from exc
        if not results:
            raise FetchFailed(f"cannot resolve {host}")
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            if not self._policy(address):
                raise UnsafeURL(f"{host} resolves to a disallowed address")
        return results

    async def close(self) -> None:
        await self._inner.close()


class SafeFetcher:
    """Async context manager owning one aiohttp session for all remote requests.

    ``address_policy`` (default: ``is_public_address``, or allow-all when
    ``allow_private``) and ``resolver`` (default: the system resolver) are
    injectable so the SSRF rules can be tested against loopback servers.
    ``sign`` signs GETs made with ``signed=True``; without it they go unsigned.
    ``host_policy`` refuses hosts by name (``BlockedHost``) before any connection is made.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        allow_http: bool,
        max_bytes: int = 2_000_000,
        timeout: float = 10,
        user_agent: str,
        sign: Signer | None = None,
        address_policy: AddressPolicy | None = None,
        resolver: AbstractResolver | None = None,
        host_policy: HostPolicy | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.allow_http = allow_http
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.user_agent = user_agent
        self._sign = sign
        self._policy = address_policy or (_allow_any_address if allow_private else is_public_address)
        self._inner_resolver = resolver
        self._host_policy = host_policy
        self._resolver: _PolicyResolver | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SafeFetcher:
        connector = aiohttp.TCPConnector(resolver=self._policy_resolver(), use_dns_cache=False)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": self.user_agent},
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._resolver is not None and self._inner_resolver is None:
            await self._resolver.close()  # ours; an injected resolver belongs to the caller
        self._resolver = None

    # ------------------------------------------------------------------ checks

    def _policy_resolver(self) -> _PolicyResolver:
        if self._resolver is None:
            self._resolver = _PolicyResolver(self._inner_resolver or ThreadedResolver(), self._policy)
        return self._resolver

    def _checked_url(self, url: str | URL) -> URL:
        """Static checks (scheme, credentials, literal addresses); names are checked on connect."""
        try:
            parsed = url if isinstance(url, URL) else URL(url)
        except (ValueError, TypeError) as exc:
            raise UnsafeURL("malformed URL") from exc
        if parsed.scheme not in ("http", "https"):
            raise UnsafeURL(f"scheme {parsed.scheme or '(none)'} is not allowed")
        if parsed.scheme == "http" and not self.allow_http:
            raise UnsafeURL("plain http is not allowed")
        if not parsed.host:
            raise UnsafeURL("URL has no host")
        if parsed.user is not None or parsed.password is not None:
            raise UnsafeURL("URL carries credentials")
        if self._host_policy is not None and not self._host_policy(parsed.host_port_subcomponent.lower()):
            raise BlockedHost(f"{parsed.host_port_subcomponent} is blocked by this server")
        try:
            literal = ipaddress.ip_address(parsed.host.split("%", 1)[0])
        except ValueError:
            literal = None
        if literal is not None and not self._policy(literal):
            raise UnsafeURL(f"address {literal} is not allowed")
        return parsed.with_fragment(None)

    async def check_url(self, url: str) -> None:
        """Raise ``UnsafeURL`` unless ``url`` could be fetched under the current rules.

        Resolves the host now (``FetchFailed`` if it does not resolve); the fetch
        itself checks again at connect time, so a later DNS change cannot slip by.
        """
        parsed = self._checked_url(url)
        host = parsed.host
        assert host is not None
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            await self._policy_resolver().resolve(host, parsed.port or 0, socket.AF_UNSPEC)

    # ------------------------------------------------------------------ requests

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("SafeFetcher must be used as 'async with SafeFetcher(...)'")
        return self._session

    async def _read_capped(self, response: aiohttp.ClientResponse, cap: int) -> bytes:
        if response.content_length is not None and response.content_length > cap:
            raise ResponseTooLarge(f"Content-Length {response.content_length} exceeds {cap} bytes")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            total += len(chunk)
            if total > cap:
                raise ResponseTooLarge(f"body exceeds {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _get(self, url: str, *, accept: str, signed: bool, cap: int) -> tuple[URL, str, bytes]:
        session = self._require_session()
        current = self._checked_url(url)
        try:
            async with asyncio.timeout(self.timeout):
                for _ in range(MAX_REDIRECTS + 1):
                    headers = {"Accept": accept}
                    if signed and self._sign is not None:
                        headers.update(self._sign("GET", str(current), headers, None))
                    async with session.get(current, headers=headers, allow_redirects=False) as response:
                        if response.status in _REDIRECT_STATUSES:
                            location = response.headers.get("Location")
                            if not location:
                                raise FetchFailed("redirect without Location", response.status)
                            current = self._checked_url(current.join(URL(location)))
                            continue
                        if not 200 <= response.status < 300:
                            raise FetchFailed(f"HTTP {response.status}", response.status)
                        return current, response.content_type, await self._read_capped(response, cap)
                raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
        except TimeoutError as exc:
            raise FetchFailed(f"timed out after {self.timeout} s") from exc
        except aiohttp.ClientError as exc:
            raise FetchFailed(f"{type(exc).__name__}: {exc}") from exc

    async def fetch_json(self, url: str, *, signed: bool = True, accept: str = AP_ACCEPT) -> FetchedJSON:
        """GET a JSON object; also returns the final URL, for same-origin checks on its id."""
        final_url, content_type, body = await self._get(url, accept=accept, signed=signed, cap=self.max_bytes)
        if not (content_type == "application/json" or content_type.endswith("+json")):
            raise InvalidResponse(f"expected JSON, got {content_type or 'no content type'}")
        try:
            document = parse_json(body)
        except JSONRefused as exc:
            raise InvalidResponse(f"response is not JSON we read: {exc.reason}") from exc
        if not isinstance(document, dict):
            raise InvalidResponse("response is not a JSON object")
        return FetchedJSON(str(final_url), document)

    async def get_json(self, url: str, *, signed: bool = True, accept: str = AP_ACCEPT) -> dict[str, Any]:
        """GET a JSON object (ActivityStreams media types by default)."""
        return (await self.fetch_json(url, signed=signed, accept=accept)).document

    async def get_bytes(self, url: str, *, max_bytes: int | None = None, accept: str = "*/*",
                        signed: bool = False) -> bytes:
        """GET a body (media, manifests: unsigned; a cameo's likeness: signed, the grant decides),
        capped at ``max_bytes`` or the fetcher's cap."""
        _, _, body = await self._get(url, accept=accept, signed=signed, cap=max_bytes or self.max_bytes)
        return body

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        signed_with: Signer | None = None,
    ) -> tuple[int, str]:
        """POST ``body`` once (no redirects followed); returns (status, start of the response body).

        Any status is returned, so delivery can decide what to retry; refusals,
        network errors and timeouts raise ``FetchError``.
        """
        session = self._require_session()
        target = self._checked_url(url)
        request_headers = dict(headers)
        if signed_with is not None:
            request_headers.update(signed_with("POST", str(target), request_headers, body))
        try:
            async with asyncio.timeout(self.timeout):
                async with session.post(target, data=body, headers=request_headers, allow_redirects=False) as response:
                    prefix = await response.content.read(POST_RESPONSE_PREFIX_BYTES)
                    return response.status, prefix.decode("utf-8", errors="replace")
        except TimeoutError as exc:
            raise FetchFailed(f"timed out after {self.timeout} s") from exc
        except aiohttp.ClientError as exc:
            raise FetchFailed(f"{type(exc).__name__}: {exc}") from exc
