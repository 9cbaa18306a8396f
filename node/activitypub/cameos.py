"""Cameos over ActivityPub: the owner's `Cameo` objects and `cameos` collection, the grant-bound
likeness fetch, and the inbox handlers of the consent exchange (services.cameo_federation does
the work; docs/federation.md, "Cameos and consent", has the exact JSON).

    GET /cameos/:id                    → the signed Cameo (verified cameos only)
    GET /users/:username/cameos        → OrderedCollection of the owner's Cameo ids
    GET /cameo_grants/:id/likeness     → the reference sheet: signed GET by the grant's renderer only
"""

from __future__ import annotations

from aiohttp import web

from node import supervise
from node.activitypub.routes import ap_response, guard, local_account, node_of, requester
from node.context import Node
from node.errors import not_found
from node.models import Cameo
from node.params import parse_id
from node.services import cameo_documents, cameo_federation, cameo_ingest

routes = web.RouteTableDef()


@routes.get(r"/cameos/{id:\d+}")
async def cameo(request: web.Request) -> web.Response:
    await guard(request)
    found = await Cameo.get_or_none(id=parse_id(request.match_info["id"]))
    doc = await cameo_documents.cameo_document(node_of(request), found) if found is not None else None
    if doc is None:
        raise not_found()
    return ap_response(doc)


@routes.get("/users/{username}/cameos")
async def cameos(request: web.Request) -> web.Response:
    await guard(request)
    account = await local_account(request)
    return ap_response(await cameo_documents.cameos_collection(node_of(request), account))


@routes.get(r"/cameo_grants/{id:\d+}/likeness")
async def likeness(request: web.Request) -> web.Response:
    signer = await requester(request)
    data, digest = await cameo_federation.likeness_for(node_of(request), parse_id(request.match_info["id"]), signer)
    return web.Response(body=data, content_type="image/png",
                        headers={"Cache-Control": "no-store", "Digest-Multibase": digest})


async def setup(app: web.Application, node: Node) -> None:
    """Listeners of the renderer's side, and the re-checks of the grants stored posts depend on."""
    cameo_federation.register(node)
    if app["process"] == 0:  # once per node: two processes re-checking a grant would take its posts down twice
        app["background"].append(supervise.start("cameo grant rechecks", lambda: cameo_ingest.run_rechecks(node)))
