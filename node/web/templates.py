"""Jinja2 rendering for the server-side pages (autoescaped), all under one strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=jinja2.select_autoescape(["html"]))

# No 'unsafe-inline' anywhere: scripts and styles come from /static only. Videos and images may be
# remote (federated media); API calls, event streams and the streaming WebSocket are same-origin.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data: blob:; "
       "media-src 'self' https: http: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def render(name: str, http_status: int = 200, **context) -> web.Response:
    html = _env.get_template(name).render(**context)
    return web.Response(text=html, status=http_status, content_type="text/html", headers=HEADERS)
