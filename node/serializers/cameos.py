"""Cameos (a person's likeness others may put in videos), capture challenges and uses."""

from __future__ import annotations

from typing import Any

from node.context import Node
from node.models import Cameo, CameoChallenge, CameoUse
from node.serializers.common import iso


def cameo_json(node: Node, cameo: Cameo) -> dict[str, Any]:
    return {
        "id": str(cameo.id), "url": node.urls.cameo(cameo.id), "kind": cameo.kind, "name": cameo.name,
        "handle": cameo.handle, "state": cameo.state, "review_reason": cameo.review_reason,
        "policy": cameo.policy, "allow": list(cameo.allow), "deny": list(cameo.deny),
        "restrictions": cameo.restrictions, "expires_at": iso(cameo.expires_at), "created_at": iso(cameo.created_at),
    }


def challenge_json(challenge: CameoChallenge) -> dict[str, Any]:
    return {"id": str(challenge.id), "phrase": challenge.phrase, "expires_at": iso(challenge.expires_at)}


def uses_json(node: Node, uses: list[CameoUse], jobs: dict[int, tuple[str, int | None]]) -> list[dict[str, Any]]:
    """Uses of cameos (`cameo` and `creator` loaded); ``jobs``: job id → (state, id of the status
    that posted its video)."""
    out = []
    for use in uses:
        job_state, status_id = jobs.get(use.job_id, (None, None))
        out.append({
            "id": str(use.id), "cameo_id": str(use.cameo_id), "handle": use.cameo.handle, "state": use.state,
            "prompt": use.prompt, "created_at": iso(use.created_at), "decided_at": iso(use.decided_at),
            "creator": {"id": str(use.creator.id), "username": use.creator.username, "acct": use.creator.acct(),
                        "url": use.creator.uri},
            "generation": None if use.request_uri else {"id": str(use.job_id), "state": job_state},
            "status_id": str(status_id) if status_id else None,
            # Its post was deleted on the creator's side (recorded for local and remote uses alike).
            "video_deleted": use.remote_state == "deleted" and status_id is None,
            "grant_url": node.urls.cameo_grant(use.id) if use.grant else None,
            # A creator on another node: the post the grant is bound to and what their node reported.
            "remote": {"post": use.post_uri, "state": use.remote_state, "status_uri": use.status_uri}
            if use.request_uri else None,
        })
    return out
