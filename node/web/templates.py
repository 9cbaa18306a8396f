"""Jinja2 rendering for the few server-side pages (autoescaped)."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=jinja2.select_autoescape(["html"]))


def render(name: str, http_status: int = 200, **context) -> web.Response:
    html = _env.get_template(name).render(**context)
    return web.Response(text=html, status=http_status, content_type="text/html",
                        headers={"Content-Security-Policy": "default-src 'self'; media-src 'self' https: http:; img-src 'self' https: http: data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
                                 "X-Frame-Options": "DENY"})
