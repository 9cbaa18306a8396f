"""WebFinger (RFC 7033) and host-meta (RFC 6415) documents, as Mastodon serves them.

Pure functions: the node looks the account up and answers 400 for a
``ValueError`` from ``parse_resource`` and 404 for an unknown account.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from .vocab import AP_MEDIA_TYPE

JRD_MEDIA_TYPE = "application/jrd+json"
XRD_MEDIA_TYPE = "application/xrd+xml"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"

_USERNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}(?::[0-9]{{1,5}})?")
# Paths under which an account's actor or profile page lives (ours and Mastodon's).
_ACCOUNT_PATHS = (re.compile(r"/users/([^/]+)/?"), re.compile(r"/@([^/]+)/?"))


def _account(username: str, domain: str) -> tuple[str, str]:
    if not _USERNAME.fullmatch(username):
        raise ValueError(f"malformed username {username!r}")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"malformed domain {domain!r}")
    return username, domain.lower()


def parse_resource(resource: str, host: str) -> tuple[str, str]:
    """Return (username, domain) named by a WebFinger ``resource``.

    Accepts ``acct:user@domain``, ``user@domain``, ``@user@domain`` (any domain;
    the caller decides whether it is ours) and ``https://host/users/user`` or
    ``https://host/@user`` URLs of ``host`` itself. Raises ``ValueError`` otherwise.
    """
    resource = resource.strip()
    if resource.lower().startswith(("https://", "http://")):
        parts = urlsplit(resource)
        if parts.netloc.lower() != host.lower():
            raise ValueError("URL resource is not on this host")
        for pattern in _ACCOUNT_PATHS:
            match = pattern.fullmatch(parts.path)
            if match:
                return _account(match.group(1), host)
        raise ValueError("URL resource does not name an account")
    if resource[:5].lower() == "acct:":
        resource = resource[5:]
    elif resource.startswith("@"):
        resource = resource[1:]
    username, at, domain = resource.partition("@")
    if not at or "@" in domain:
        raise ValueError("resource must be user@domain")
    return _account(username, domain)


def jrd(
    subject: str,
    aliases: list[str],
    actor_url: str,
    profile_url: str,
    *,
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """The JRD for an account; the subscribe template defaults to Mastodon's path on the actor's host."""
    if subscribe_template is None:
        origin = urlsplit(actor_url)
        subscribe_template = f"{origin.scheme}://{origin.netloc}/authorize_interaction?uri={{uri}}"
    return {
        "subject": subject,
        "aliases": list(aliases),
        "links": [
            {"rel": "self", "type": AP_MEDIA_TYPE, "href": actor_url},
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url},
            {"rel": SUBSCRIBE_REL, "template": subscribe_template},
        ],
    }


def host_meta_xml(base_url: str) -> str:
    """host-meta pointing LRDD at our WebFinger endpoint (older clients still ask for it)."""
    template = base_url.rstrip("/") + "/.well-known/webfinger?resource={uri}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )
