"""federation.documents.origin: the fast path must answer exactly what urlsplit would."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

from federation.documents import origin


def _by_urlsplit(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def test_usual_ids() -> None:
    assert origin("https://Example.COM/users/alice") == "example.com"
    assert origin("http://127.0.0.1:8000/inbox?x=1#y") == "127.0.0.1:8000"
    assert origin("https://[::1]:8443/a") == "[::1]:8443"
    assert origin("https://bad[host/a") == ""  # urlsplit refuses it, so do we
    assert origin(None) == "" and origin("") == "" and origin(42) == ""  # type: ignore[arg-type]


def test_agrees_with_urlsplit_on_random_strings() -> None:
    alphabet = "abcAB:/?#@[]\\ \t\n%.-_+0129é\x00\x7fhtps\uff0f\u2100~!$&'()*,;="
    rng = random.Random(7)
    for _ in range(30_000):
        url = (rng.choice(["https://", "http://", "", "h://", "a1+.-://"])
               + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20))))
        assert origin(url) == _by_urlsplit(url), repr(url)
