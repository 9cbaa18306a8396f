"""Cameo owners for consent tests: an actor with an Ed25519 key, one signed cameo, and grants it signs."""

from __future__ import annotations

from datetime import datetime, timezone

from provenance.consent import Cameo, CameoAuthorization, CameoPolicy, ResolvedKey, sign
from provenance.digests import digest_multibase
from provenance.keys import ed25519_multikey, generate_ed25519_private_pem


class Owner:
    """A cameo owner on `host`: an actor with an Ed25519 key, one signed cameo, and a way to grant."""

    def __init__(self, host: str, name: str = "alice") -> None:
        self.host = host
        self.actor = f"https://{host}/users/{name}"
        self.private_pem = generate_ed25519_private_pem()
        self.key = ResolvedKey(f"{self.actor}#ed25519-key", self.actor, ed25519_multikey(self.private_pem))
        self.cameo = Cameo(id=f"https://{host}/cameos/{name}-1", owner=self.actor, kind="person", name=name.title(),
                           handle=name, likeness_digest=digest_multibase(bytes(32)),
                           policy=CameoPolicy(automatic_approval=(f"{self.actor}/followers",)))
        self.cameo_json = sign(self.cameo.to_json(CONTEXT), self.private_pem, self.key.id)

    def grant(self, post: str, renderer: str, *, number: int = 1, **fields) -> dict:
        """A CameoAuthorization for `post` by `renderer`, signed by this owner (fields override)."""
        values = dict(id=f"https://{self.host}/cameo_grants/{number}", owner=self.actor, target=self.cameo.id,
                      post=post, renderer=renderer, published=datetime.now(timezone.utc),
                      likeness_digest=self.cameo.likeness_digest)
        values.update(fields)
        return sign(CameoAuthorization(**values).to_json(CONTEXT), self.private_pem, self.key.id)

    def resolver(self, *others: "Owner"):
        keys = {o.key.id: o.key for o in (self, *others)}
        return keys.get


# What federation.vocab emits, spelled out so provenance tests stay below the federation layer.
CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1",
           {"vitascope": "https://vitascope.social/ns#", "Cameo": "vitascope:Cameo"}]
