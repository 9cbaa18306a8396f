"""Instance metadata (v1 and v2) as Mastodon 4.3 serves it; the counts and the VAPID key are loaded
by the caller (node.api.instance)."""

from __future__ import annotations

from typing import Any

from node import __version__
from node.context import Node

MASTODON_COMPAT = "4.3.0"


def version_string() -> str:
    return f"{MASTODON_COMPAT} (compatible; Vitascope {__version__})"


def _configuration(node: Node, vapid_key: str) -> dict[str, Any]:
    cfg = node.config
    return {
        "urls": {"streaming": node.urls.base.replace("http", "ws", 1), "status": None},
        "vapid": {"public_key": vapid_key},
        "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        "statuses": {"max_characters": cfg["limits.max_status_chars"], "max_media_attachments": 4,
                     "characters_reserved_per_url": 23},
        "media_attachments": {"supported_mime_types": ["video/mp4"], "image_size_limit": cfg["limits.max_upload_bytes"],
                              "image_matrix_limit": 16777216, "video_size_limit": cfg["limits.max_upload_bytes"],
                              "video_frame_rate_limit": 60, "video_matrix_limit": 8294400,
                              "description_limit": 1500},
        "polls": {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300, "max_expiration": 2629746},
        "translation": {"enabled": False},
        "vitascope": {"max_video_seconds": 10, "aspects": ["9:16", "1:1", "16:9"],
                      "ai_only": True, "provenance": "c2pa"},
    }


def instance_v1_json(node: Node, counts: dict[str, int], vapid_key: str) -> dict[str, Any]:
    """``counts``: user_count, status_count, domain_count."""
    cfg = node.config
    return {
        "uri": node.config.domain,
        "title": cfg["server.name"],
        "short_description": cfg["server.description"],
        "description": cfg["server.description"],
        "email": cfg["server.contact_email"],
        "version": version_string(),
        "urls": {"streaming_api": node.urls.base.replace("http", "ws", 1)},
        "stats": counts,
        "thumbnail": f"{node.urls.base}/static/header.png",
        "languages": ["en"],
        "registrations": cfg["registration.mode"] != "closed",
        "approval_required": cfg["registration.mode"] == "approval",
        "invites_enabled": False,
        "configuration": _configuration(node, vapid_key),
        "contact_account": None,
        "rules": [],
    }


def instance_v2_json(node: Node, counts: dict[str, int], vapid_key: str) -> dict[str, Any]:
    cfg = node.config
    return {
        "domain": node.config.domain,
        "title": cfg["server.name"],
        "version": version_string(),
        "source_url": "https://github.com/vitascope/vitascope",
        "description": cfg["server.description"],
        "usage": {"users": {"active_month": counts["user_count"]}},
        "thumbnail": {"url": f"{node.urls.base}/static/header.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": _configuration(node, vapid_key),
        "registrations": {"enabled": cfg["registration.mode"] != "closed",
                          "approval_required": cfg["registration.mode"] == "approval",
                          "message": None, "url": None,
                          # Mastodon 4.4: apps that see it ask for `date_of_birth` at sign-up.
                          "min_age": cfg["parental.min_age"] or None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": cfg["server.contact_email"], "account": None},
        "rules": [],
    }
