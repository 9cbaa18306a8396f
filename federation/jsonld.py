"""JSON-LD processing that never touches the network.

Contexts we and our peers use are bundled under ``federation/contexts``.
``expand``/``compact`` refuse any other remote context; ``safe_expand`` is for
documents from the wild, whose extra contexts (e.g. an instance's own
``litepub`` context) are dropped with a warning instead of fetched: a fetch at
parse time would be an SSRF and a DoS vector, and terms we do not know are
terms we do not use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld

from .vocab import (
    AS_CONTEXT_URL,
    DATA_INTEGRITY_V1_URL,
    DATA_INTEGRITY_V2_URL,
    DID_V1_URL,
    MULTIKEY_V1_URL,
    SECURITY_V1_URL,
)

logger = logging.getLogger(__name__)

BUNDLED_CONTEXT_FILES: dict[str, str] = {
    AS_CONTEXT_URL: "activitystreams.jsonld",
    SECURITY_V1_URL: "security-v1.jsonld",
    DATA_INTEGRITY_V1_URL: "data-integrity-v1.jsonld",
    DATA_INTEGRITY_V2_URL: "data-integrity-v2.jsonld",
    MULTIKEY_V1_URL: "multikey-v1.jsonld",
    DID_V1_URL: "did-v1.jsonld",
}

# Spellings peers use for the same documents (http://, trailing slash, .jsonld).
_ALIASES: dict[str, str] = {
    "http://www.w3.org/ns/activitystreams": AS_CONTEXT_URL,
    "https://www.w3.org/ns/activitystreams.jsonld": AS_CONTEXT_URL,
    "http://www.w3.org/ns/activitystreams.jsonld": AS_CONTEXT_URL,
    "http://w3id.org/security/v1": SECURITY_V1_URL,
    "https://w3id.org/security/v1/": SECURITY_V1_URL,
}

Loader = Callable[[str, dict[str, Any]], dict[str, Any]]


class UnknownContextError(ValueError):
    """A document names a remote @context that is not bundled."""

    def __init__(self, url: str) -> None:
        super().__init__(f"JSON-LD context {url!r} is not bundled and will not be fetched")
        self.url = url


def canonical_context_url(url: str) -> str | None:
    """The bundled URL this spelling refers to, or None if it is not bundled."""
    url = _ALIASES.get(url, url)
    return url if url in BUNDLED_CONTEXT_FILES else None


@cache
def _bundled_text(url: str) -> str:
    filename = BUNDLED_CONTEXT_FILES[url]
    return resources.files(__package__).joinpath("contexts", filename).read_text(encoding="utf-8")


def bundled_context(url: str) -> dict[str, Any]:
    """A fresh copy of the context document for a bundled URL (KeyError if not bundled)."""
    return json.loads(_bundled_text(url))


def _remote_document(url: str, document: dict[str, Any], cacheable: bool) -> dict[str, Any]:
    remote = {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": document}
    if cacheable:
        # pyld shares only "static" contexts between calls; stubs must not be shared.
        remote["tag"] = "static"
    return remote


def bundled_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader serving only bundled contexts; anything else raises."""
    canonical = canonical_context_url(url)
    if canonical is None:
        raise UnknownContextError(url)
    return _remote_document(url, bundled_context(canonical), cacheable=True)


def _lenient_loader(dropped: list[str]) -> Loader:
    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if canonical_context_url(url) is not None:
            return bundled_loader(url, options)
        dropped.append(url)
        return _remote_document(url, {"@context": {}}, cacheable=False)

    return load


def expand(doc: dict[str, Any] | list[Any]) -> list[Any]:
    """Expand with bundled contexts only; raises if a context is not bundled."""
    return jsonld.expand(doc, {"documentLoader": bundled_loader})


def compact(doc: dict[str, Any] | list[Any], ctx: Any) -> dict[str, Any]:
    """Compact (expanding first if needed) against ``ctx``, bundled contexts only."""
    return jsonld.compact(doc, ctx, {"documentLoader": bundled_loader})


def safe_expand(doc: dict[str, Any] | list[Any]) -> list[Any]:
    """Expand a document from a peer; unknown remote contexts are dropped, not fetched.

    Terms those contexts would have defined disappear from the result (or, under
    the ActivityStreams ``@vocab``, become blank-node IRIs), which is the safe
    reading of data we cannot interpret.
    """
    dropped: list[str] = []
    expanded = jsonld.expand(doc, {"documentLoader": _lenient_loader(dropped)})
    for url in dict.fromkeys(dropped):
        logger.warning("ignored unbundled JSON-LD context %s", url)
    return expanded
