"""This node's C2PA certificate authorities, published for peers to pin."""

from __future__ import annotations

from aiohttp import web

from node.api.common import ctx
from node.trust import identity

routes = web.RouteTableDef()


@routes.get("/.well-known/vitascope/ca.pem")
async def ca_bundle(request: web.Request) -> web.Response:
    pems = identity(ctx(request)).published_ca_pems
    return web.Response(text="".join(pems), content_type="application/x-pem-file",
                        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})
