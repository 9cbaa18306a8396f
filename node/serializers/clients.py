"""What client apps see of themselves: applications, tokens, timeline markers and Web Push
subscriptions."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from node.models import Marker, WebPushSubscription
from node.serializers.common import iso


def app_json(app, *, with_secret: bool) -> dict:
    data = {"id": str(app.id), "name": app.name, "website": app.website,
            "scopes": app.scopes.split(), "redirect_uri": app.redirect_uris, "redirect_uris": app.redirect_uris.split("\n"),
            "vapid_key": ""}
    if with_secret:
        data.update(client_id=app.client_id, client_secret=app.client_secret, client_secret_expires_at=0)
    return data


def token_json(token) -> dict:
    return {"access_token": token.token, "token_type": "Bearer", "scope": token.scopes,
            "created_at": int(token.created_at.astimezone(timezone.utc).timestamp())}


def marker_json(m: Marker) -> dict:
    return {"last_read_id": m.last_read_id, "version": m.version, "updated_at": iso(m.updated_at)}


def subscription_json(sub: WebPushSubscription, server_key: str) -> dict[str, Any]:
    """Mastodon's REST::WebPushSubscriptionSerializer; ``server_key``: the node's VAPID public key."""
    return {"id": str(sub.id), "endpoint": sub.endpoint, "standard": sub.standard, "alerts": sub.alerts,
            "server_key": server_key, "policy": sub.policy}
