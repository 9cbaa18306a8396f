"""Delivery policy (federation.delivery): retry schedule, domain health, inbox de-duplication, and the
RFC 9421 → cavage fallback against a loopback inbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiohttp import web

from federation.delivery import (RETRY_WINDOW, UNAVAILABLE_AFTER, DomainState, Payload, Recipient, deliver, inboxes,
                                 retry_delay)
from federation.fetcher import SafeFetcher
from provenance.keys import generate_rsa_private_pem
from tests.support.servers import free_port

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_retries_back_off_exponentially_for_about_two_days():
    now, attempts, waits = T0, 0, []
    while True:
        attempts += 1
        delay = retry_delay(attempts, T0, now, jitter=lambda: 0.5)
        if delay is None:
            break
        waits.append(delay)
        now += delay
    assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert max(waits) <= timedelta(hours=8)
    assert now - T0 == RETRY_WINDOW and 10 <= len(waits) <= 20


def test_a_domain_failing_for_days_becomes_unavailable_until_it_answers():
    state = DomainState()
    state = state.after_failure(T0)
    assert not state.unavailable and state.failing_since == T0
    state = state.after_failure(T0 + UNAVAILABLE_AFTER)
    assert state.unavailable and state.failures == 2
    assert not state.heard_from(T0 + UNAVAILABLE_AFTER * 2).unavailable
    healthy = state.after_success(T0 + UNAVAILABLE_AFTER * 2, "cavage")
    assert (healthy.unavailable, healthy.failing_since, healthy.scheme) == (False, None, "cavage")


def test_shared_inboxes_are_used_once_and_our_own_origin_skipped():
    recipients = [Recipient("https://a.example/users/1/inbox", "https://a.example/inbox"),
                  Recipient("https://a.example/users/2/inbox", "https://a.example/inbox"),
                  Recipient("https://b.example/users/3/inbox", None),
                  Recipient("https://us.example/users/4/inbox", "https://us.example/inbox")]
    assert inboxes(recipients, exclude_origin="us.example") == ["https://a.example/inbox",
                                                              "https://b.example/users/3/inbox"]


async def test_rfc9421_first_then_cavage_on_4xx_and_remembered_scheme_first():
    seen: list[str] = []
    status_for = {"rfc9421": 401, "cavage": 202}

    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        scheme = "rfc9421" if "Signature-Input" in request.headers else "cavage"
        seen.append(scheme)
        return web.Response(status=status_for[scheme])

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    pem = generate_rsa_private_pem()
    url = f"http://127.0.0.1:{port}/inbox"
    payload = Payload.of(b"{}", "https://x/actor#k", pem)
    try:
        async with SafeFetcher(allow_private=True, allow_http=True, user_agent="test") as fetcher:
            outcome = await deliver(fetcher, url, payload, known_scheme=None)
            assert outcome.delivered and outcome.scheme == "cavage" and seen == ["rfc9421", "cavage"]
            seen.clear()
            outcome = await deliver(fetcher, url, payload, known_scheme="cavage")
            assert outcome.delivered and seen == ["cavage"]
            status_for["cavage"] = 503
            outcome = await deliver(fetcher, url, payload, known_scheme="cavage")
            assert not outcome.delivered and outcome.retryable and outcome.domain_failure
            status_for["cavage"] = 410
            outcome = await deliver(fetcher, url, payload, known_scheme="cavage")
            assert not outcome.retryable and not outcome.domain_failure
    finally:
        await runner.cleanup()
