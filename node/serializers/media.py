"""Media attachments (Mastodon's MediaAttachment) and applications."""

from __future__ import annotations

from typing import Any

from node.context import Node
from node.media.access import media_url
from node.models import MediaAttachment


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
