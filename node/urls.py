"""The one place that builds this node's URLs, so routes and emitted ids cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Urls:
    base: str  # scheme://host[:port], no trailing slash

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

    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{name}"

    def media(self, relative_path: str) -> str:
        return f"{self.base}/media/{relative_path}"

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
