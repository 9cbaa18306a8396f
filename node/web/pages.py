"""Web pages: the browser app's shell at / (node/web/app/, built into static/app/), and the server-rendered
profile (/@username) and status pages with OpenGraph tags for link previews and script-less visitors."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiohttp import web

from node.api.common import ctx
from node.models import Account, MediaAttachment, Status
from node.params import parse_id
from node.errors import ApiError
from node.web.templates import render

routes = web.RouteTableDef()


def _not_found(node) -> web.Response:
    return render("error.html", http_status=404, title="Not found", message="This page does not exist.",
                  node_name=node.config["server.name"])


_APP = Path(__file__).parent / "static" / "app"
# The bundle's digest in its URL: browsers cache it, and a new build is fetched at once.
APP_VERSION = hashlib.sha256(b"".join((_APP / name).read_bytes() for name in ("app.js", "app.css"))).hexdigest()[:12]


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """The web app; it routes itself (#/create, #/@user, …) and talks to the node's API like any client."""
    node = ctx(request)
    return render("app.html", node_name=node.config["server.name"], description=node.config["server.description"],
                  domain=node.config.domain, version=APP_VERSION)


@routes.get("/@{username}")
async def profile(request: web.Request) -> web.StreamResponse:
    node = ctx(request)
    account = await Account.get_or_none(domain=None, username__iexact=request.match_info["username"], deleted_at=None)
    if account is None:
        return _not_found(node)
    if "activity+json" in request.headers.get("Accept", "") or "ld+json" in request.headers.get("Accept", ""):
        raise web.HTTPFound(account.uri)
    if account.suspended_at is not None:  # as Mastodon: a notice, nothing of the profile
        return render("error.html", http_status=403, title="Suspended", message="This account is suspended.",
                      node_name=node.config["server.name"])
    statuses = await (Status.filter(account_id=account.id, deleted_at=None, visibility="public", reblog_of_id=None)
                      .order_by("-id").limit(30).prefetch_related("media"))
    moved_to = await Account.get_or_none(id=account.moved_to_id) if account.moved_to_id else None
    return render("profile.html", node=node, account=account, statuses=statuses, moved_to=moved_to,
                  node_name=node.config["server.name"])


@routes.get("/@{username}/{id}")
async def status_page(request: web.Request) -> web.StreamResponse:
    node = ctx(request)
    try:
        status_id = parse_id(request.match_info["id"])
    except ApiError:
        return _not_found(node)
    status = await Status.get_or_none(id=status_id, deleted_at=None, visibility__in=["public", "unlisted"],
                                      account__username__iexact=request.match_info["username"],
                                      account__domain=None, account__suspended_at=None).prefetch_related("account")
    if status is None:
        return _not_found(node)
    if "activity+json" in request.headers.get("Accept", "") or "ld+json" in request.headers.get("Accept", ""):
        raise web.HTTPFound(status.uri)
    media = await MediaAttachment.filter(status_id=status.id).order_by("id")
    remix_source = await Status.get_or_none(id=status.remix_of_id).prefetch_related("account") if status.remix_of_id else None
    return render("status.html", node=node, status=status, account=status.account, media=media,
                  remix_source=remix_source, node_name=node.config["server.name"])
