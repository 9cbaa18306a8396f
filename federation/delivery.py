"""Delivering one activity to one inbox, and the rules for retrying and for sick domains.

The node keeps a row per (activity, inbox) and asks these functions what to do
next, so the policy lives here and the bookkeeping there:

* ``deliver`` POSTs once with RFC 9421, falling back to draft-cavage on a 4xx
  (Mastodon before 4.5 and most other servers know only cavage), or with the
  scheme that worked for that domain before;
* ``retry_delay`` spaces attempts exponentially for about two days;
* ``DomainState`` tracks a domain's failures; one that has failed for
  ``UNAVAILABLE_AFTER`` is unavailable and skipped until it answers again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .documents import origin
from .fetcher import FetchError, SafeFetcher
from .signatures import Scheme, content_digest_header, digest_header, sign_cavage, sign_rfc9421
from .vocab import AP_ACCEPT, LD_MEDIA_TYPE

RETRY_WINDOW = timedelta(days=2)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=8)
UNAVAILABLE_AFTER = timedelta(days=3)
SCHEMES: tuple[Scheme, Scheme] = ("rfc9421", "cavage")

_HEADERS = {"Content-Type": LD_MEDIA_TYPE, "Accept": AP_ACCEPT}


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did. ``status`` is None when no response came back."""

    delivered: bool
    status: int | None
    scheme: Scheme
    error: str | None

    @property
    def retryable(self) -> bool:
        """Network trouble, timeouts, 5xx, 408 and 429 may pass; other 4xx will not."""
        if self.delivered:
            return False
        return self.status is None or self.status >= 500 or self.status in (408, 429)

    @property
    def domain_failure(self) -> bool:
        """Counts against the domain's health (it did not answer sensibly)."""
        return not self.delivered and (self.status is None or self.status >= 500)


def retry_delay(attempts: int, first_attempt_at: datetime, now: datetime,
                jitter: Callable[[], float] = random.random) -> timedelta | None:
    """How long to wait after the ``attempts``-th failed attempt; None once two days are spent.

    30 s, 1 min, 2 min, … doubling up to 8 h, each ±10 % so retries to one
    domain do not arrive in lockstep.
    """
    if now - first_attempt_at >= RETRY_WINDOW:
        return None
    base = FIRST_RETRY * (2 ** max(0, attempts - 1))
    delay = min(base, LONGEST_WAIT) * (0.9 + 0.2 * jitter())
    if now + delay - first_attempt_at > RETRY_WINDOW:
        remaining = first_attempt_at + RETRY_WINDOW - now
        return remaining if remaining > timedelta(0) else None
    return delay


@dataclass(frozen=True)
class DomainState:
    failing_since: datetime | None = None
    last_success_at: datetime | None = None
    failures: int = 0
    unavailable: bool = False
    scheme: Scheme | None = None

    def after_success(self, now: datetime, scheme: Scheme) -> DomainState:
        return DomainState(failing_since=None, last_success_at=now, failures=0, unavailable=False, scheme=scheme)

    def after_failure(self, now: datetime) -> DomainState:
        since = self.failing_since or now
        return replace(self, failing_since=since, failures=self.failures + 1,
                       unavailable=now - since >= UNAVAILABLE_AFTER)

    def heard_from(self, now: datetime) -> DomainState:
        """The domain talked to us (e.g. a signed inbox POST): it is reachable again."""
        if not self.unavailable and self.failing_since is None:
            return self
        return replace(self, failing_since=None, failures=0, unavailable=False)


@dataclass(frozen=True)
class Recipient:
    inbox: str
    shared_inbox: str | None = None


def inboxes(recipients: Iterable[Recipient], *, exclude_origin: str | None = None) -> list[str]:
    """One inbox per destination: the shared inbox where the actor has one, each once, order kept."""
    seen: dict[str, None] = {}
    for recipient in recipients:
        target = recipient.shared_inbox or recipient.inbox
        if not target or (exclude_origin and origin(target) == exclude_origin):
            continue
        seen.setdefault(target, None)
    return list(seen)


@dataclass(frozen=True)
class Payload:
    """One body to deliver, with its signer's key and the body's digests: made once per activity, so a
    fan-out pays per inbox only for what depends on the inbox (the signature)."""

    body: bytes
    key_id: str
    private_pem: str
    digest: str
    content_digest: str

    @classmethod
    def of(cls, body: bytes, key_id: str, private_pem: str) -> Payload:
        return cls(body, key_id, private_pem, digest_header(body), content_digest_header(body))

    def headers(self, scheme: Scheme, url: str, headers: dict[str, str]) -> dict[str, str]:
        """The signature headers of one request of this body to ``url``."""
        if scheme == "rfc9421":
            return sign_rfc9421("POST", url, headers, self.body, self.key_id, self.private_pem,
                                content_digest=self.content_digest)
        return sign_cavage("POST", url, headers, self.body, self.key_id, self.private_pem, digest=self.digest)


async def _post(fetcher: SafeFetcher, inbox: str, payload: Payload, scheme: Scheme) -> Outcome:
    def signer(method: str, url: str, headers, body: bytes | None):
        return payload.headers(scheme, url, headers)

    try:
        status, text = await fetcher.post(inbox, payload.body, _HEADERS, signed_with=signer)
    except FetchError as exc:
        return Outcome(False, getattr(exc, "status", None), scheme, exc.reason)
    if 200 <= status < 300:
        return Outcome(True, status, scheme, None)
    return Outcome(False, status, scheme, f"HTTP {status}: {text[:200]}")


async def deliver(fetcher: SafeFetcher, inbox: str, payload: Payload, *, known_scheme: Scheme | None) -> Outcome:
    """POST the payload's body signed; RFC 9421 first unless the domain is known to want cavage.

    A 4xx to an RFC 9421 request is retried at once with cavage (what Fedify
    does too); ``Outcome.scheme`` is the scheme of the last request sent, worth
    remembering for the domain when ``delivered``.
    """
    first: Scheme = known_scheme or "rfc9421"
    outcome = await _post(fetcher, inbox, payload, first)
    if first == "rfc9421" and outcome.status is not None and 400 <= outcome.status < 500 and outcome.status != 429:
        outcome = await _post(fetcher, inbox, payload, "cavage")
    return outcome
