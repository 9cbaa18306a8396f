"""Media attachments (Mastodon's MediaAttachment), their provenance object, and applications."""

from __future__ import annotations

from typing import Any

from node.context import Node
from node.media.access import media_url
from node.models import MediaAttachment
from provenance.c2pa import Verdict


def media_json(node: Node, media: MediaAttachment, *, public: bool = False) -> dict[str, Any]:
    """``public``: attached to a public or unlisted post (plain URLs); otherwise the URLs are signed
    for the viewer this is rendered for, who may see the media (node.media.access)."""
    url = media_url(node, media.file_path, public=public) if media.file_path else media.remote_url
    preview = media_url(node, media.preview_path, public=public) if media.preview_path else media.preview_remote_url
    original: dict[str, Any] = {}
    if media.width and media.height:
        original = {"width": media.width, "height": media.height, "size": f"{media.width}x{media.height}",
                    "aspect": round(media.width / media.height, 6)}
    if media.duration is not None:
        original["duration"] = round(media.duration, 3)
    if media.fps:
        original["frame_rate"] = f"{round(media.fps)}/1"
    if media.duration and media.file_size:
        original["bitrate"] = int(media.file_size * 8 / media.duration)
    meta: dict[str, Any] = {"focus": {"x": media.focus_x, "y": media.focus_y}}
    if original:
        meta["original"] = original
        meta["small"] = {k: v for k, v in original.items() if k in ("width", "height", "size", "aspect")}
    if media.has_audio:
        meta["audio_channels"] = "stereo"
    return {
        "id": str(media.id),
        "type": media.type,
        "url": url,
        "preview_url": preview,
        "remote_url": media.remote_url if media.file_path is None else None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description or None,
        "blurhash": media.blurhash,
        "provenance": media.provenance,
    }


def application_json(app) -> dict[str, Any] | None:
    if app is None:
        return None
    return {"name": app.name, "website": app.website}


def provenance_json(verdict: Verdict) -> dict[str, Any]:
    """The provenance object media attachments carry in the API (stored with the media at upload or
    ingest, from the C2PA verdict)."""
    claim = verdict.claim or {}
    return {
        "verified": verdict.ok,
        "state": verdict.state,
        "reason": verdict.reason,
        "signer": verdict.signer,
        "node": claim.get("node"),
        "ai_generated": verdict.ai_generated,
        "model": claim.get("model_name"),
        "model_version": claim.get("model_version"),
        "test_model": bool(claim.get("test_model")),
        # What cameo consent checks need: the generation the video came from and its signed grants.
        "job_id": claim.get("job_id"),
        "cameo_grants": [e.get("grant") for e in claim.get("cameo_grants") or [] if isinstance(e, dict)],
        "manifest_id": verdict.manifest_id,
        "remix_chain": [{"manifest_id": c.get("manifest_id"), "signer": c.get("signer"),
                         "node": (c.get("claim") or {}).get("node"), "model": (c.get("claim") or {}).get("model_name"),
                         "verified": not c.get("failures")}
                        for c in verdict.chain],
    }
