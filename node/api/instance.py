"""Instance metadata (v1 and v2) as Mastodon 4.3 serves it."""

from __future__ import annotations

from aiohttp import web

from node import __version__, web_push
from node.activitypub import blocked_domains
from node.api.common import ctx
from node.models import Account, Status, User

routes = web.RouteTableDef()

MASTODON_COMPAT = "4.3.0"


def version_string() -> str:
    return f"{MASTODON_COMPAT} (compatible; Vitascope {__version__})"


async def _counts() -> dict[str, int]:
    return {"user_count": await User.all().count(),
            "status_count": await Status.filter(local=True, deleted_at=None, reblog_of_id=None).count(),
            "domain_count": len(set(await Account.exclude(domain=None).values_list("domain", flat=True)))}


def _configuration(node) -> dict:
    cfg = node.config
    return {
        "urls": {"streaming": node.urls.base.replace("http", "ws", 1), "status": None},
        "vapid": {"public_key": web_push.server_key(node)},
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


@routes.get("/api/v1/instance")
@routes.get("/api/v1/instance/")
async def instance_v1(request: web.Request) -> web.Response:
    node = ctx(request)
    cfg = node.config
    return web.json_response({
        "uri": node.config.domain,
        "title": cfg["server.name"],
        "short_description": cfg["server.description"],
        "description": cfg["server.description"],
        "email": cfg["server.contact_email"],
        "version": version_string(),
        "urls": {"streaming_api": node.urls.base.replace("http", "ws", 1)},
        "stats": await _counts(),
        "thumbnail": f"{node.urls.base}/static/header.png",
        "languages": ["en"],
        "registrations": cfg["registration.mode"] != "closed",
        "approval_required": cfg["registration.mode"] == "approval",
        "invites_enabled": False,
        "configuration": _configuration(node),
        "contact_account": None,
        "rules": [],
    })


@routes.get("/api/v2/instance")
@routes.get("/api/v2/instance/")
async def instance_v2(request: web.Request) -> web.Response:
    node = ctx(request)
    cfg = node.config
    counts = await _counts()
    return web.json_response({
        "domain": node.config.domain,
        "title": cfg["server.name"],
        "version": version_string(),
        "source_url": "https://github.com/vitascope/vitascope",
        "description": cfg["server.description"],
        "usage": {"users": {"active_month": counts["user_count"]}},
        "thumbnail": {"url": f"{node.urls.base}/static/header.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": _configuration(node),
        "registrations": {"enabled": cfg["registration.mode"] != "closed",
                          "approval_required": cfg["registration.mode"] == "approval",
                          "message": None, "url": None,
                          # Mastodon 4.4: apps that see it ask for `date_of_birth` at sign-up.
                          "min_age": cfg["parental.min_age"] or None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": cfg["server.contact_email"], "account": None},
        "rules": [],
    })


@routes.get("/api/v1/instance/peers")
async def peers(request: web.Request) -> web.Response:
    """Domains we know accounts of, less those under a domain block of any severity (as Mastodon;
    here a block covers subdomains too)."""
    known = set(await Account.exclude(domain=None).values_list("domain", flat=True))
    return web.json_response(sorted(d for d in known if blocked_domains.rule_for(d) is None))


@routes.get("/api/v1/instance/activity")
async def activity(request: web.Request) -> web.Response:
    return web.json_response([])


@routes.get("/api/v1/instance/rules")
async def rules(request: web.Request) -> web.Response:
    return web.json_response([])


@routes.get("/api/v1/custom_emojis")
async def custom_emojis(request: web.Request) -> web.Response:
    return web.json_response([])
