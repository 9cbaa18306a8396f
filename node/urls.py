"""The one place that builds this node's URLs, so routes and emitted ids cannot drift apart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field

from federation.documents import origin

# Signed media URLs expire on the hour after their lifetime, so one URL stays the same for an hour
# (clients and proxies cache it) and is valid for at least the lifetime asked for.
_EXPIRY_STEP = 3600


@dataclass(frozen=True)
class Urls:
    base: str  # scheme://host[:port], no trailing slash
    media_key: bytes = field(default=b"", repr=False)  # signs URLs of private media (node.media.access)

    def is_local(self, uri: str | None) -> bool:
        """Whether an id or URL lives on this node (same host and port)."""
        return origin(uri) == origin(self.base)

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def featured(self, username: str) -> str:
        return f"{self.actor(username)}/collections/featured"

    def key(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def ed25519_key(self, username: str) -> str:
        return f"{self.actor(username)}#ed25519-key"

    def status(self, username: str, status_id: int | str) -> str:
        return f"{self.actor(username)}/statuses/{status_id}"

    def status_replies(self, username: str, status_id: int | str) -> str:
        """A post's `replies` collection: its public and unlisted replies, oldest first."""
        return f"{self.status(username, status_id)}/replies"

    def status_activity(self, username: str, status_id: int | str) -> str:
        return f"{self.status(username, status_id)}/activity"

    def activity(self, username: str, kind: str, object_id: int | str) -> str:
        """Ids for Follow/Like/Block/... activities; each dereferences (Fedify fetches them)."""
        return f"{self.actor(username)}/{kind}/{object_id}"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def status_page(self, username: str, status_id: int | str) -> str:
        return f"{self.base}/@{username}/{status_id}"

    def cameo(self, cameo_id: int | str) -> str:
        return f"{self.base}/cameos/{cameo_id}"

    def cameo_grant(self, use_id: int | str) -> str:
        return f"{self.base}/cameo_grants/{use_id}"

    def generation(self, job_id: int | str) -> str:
        """A generation job: what a cameo grant is bound to (its id is minted before consent is asked)."""
        return f"{self.base}/api/v1/vitascope/generations/{job_id}"

    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{name}"

    def media(self, relative_path: str) -> str:
        """A public media file: a plain URL anyone may fetch and cache."""
        return f"{self.base}/media/{relative_path}"

    def private_media(self, relative_path: str, seconds: int, now: float | None = None) -> str:
        """A private media file (of a followers-only or direct post, or not posted yet), for someone
        who may see it: the plain URL plus an expiry and an HMAC of path and expiry."""
        expires = (int(now if now is not None else time.time()) + seconds) // _EXPIRY_STEP * _EXPIRY_STEP + _EXPIRY_STEP
        return f"{self.media(relative_path)}?expires={expires}&signature={self._media_signature(relative_path, expires)}"

    def media_signature_valid(self, relative_path: str, expires: str, signature: str, now: float | None = None) -> bool:
        """Whether a signed media URL is ours, untampered and not expired (constant-time compare)."""
        if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
            return False
        if int(expires) < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self._media_signature(relative_path, int(expires)).encode(),
                                   signature.encode("utf-8", "replace"))

    def _media_signature(self, relative_path: str, expires: int) -> str:
        if not self.media_key:
            raise RuntimeError("no media key: build Urls with node.media.access.node_urls")
        digest = hmac.new(self.media_key, f"{relative_path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def ca_certificates(self) -> str:
        """Every C2PA CA this node has signed with (PEM), for peers to pin."""
        return f"{self.base}/.well-known/vitascope/ca.pem"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def instance_actor_key(self) -> str:
        return f"{self.base}/actor#main-key"

    def instance_activity(self, kind: str, object_id: int | str) -> str:
        """Ids of activities the instance actor sends (Flags of forwarded reports)."""
        return f"{self.instance_actor}/{kind}/{object_id}"
