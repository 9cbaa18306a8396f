"""ActivityPub HTTP endpoints: discovery, actors, collections, objects and activities, inboxes.

Every id we emit is served here: actors and posts render live from their rows; every other activity
we sent is served exactly as it was signed (`OutboxActivity`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from aiohttp import web
from tortoise.expressions import Q

from federation import documents as ap
from federation import webfinger as wf
from federation.inbox import InboxIgnored, InboxRefused, receive
from federation.signatures import SignatureError, verify_request
from federation.fetcher import FetchError
from federation.vocab import AP_MEDIA_TYPE, NS_DOCUMENT, is_ap_media_type
from node import __version__, ids
from node.activitypub import blocked_domains, delivery, inbox_store, internaltoas, process, resolve
from node.activitypub.runtime import federation
from node.context import Node
from node.errors import ApiError, not_found
from node.params import read_body
from node.models import Account, Follow, OutboxActivity, Status
from node.serializers import MASTODON_COMPAT
from node.services import cameo_documents
from node.services.visibility import can_see

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PAGE = ap.PAGE_SIZE


def node_of(request: web.Request) -> Node:
    """The running node serving this request (shared by every ActivityPub handler module)."""
    return request.app["node"]


def ap_response(doc: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(doc, ensure_ascii=False).encode(), status=status,
                        content_type=AP_MEDIA_TYPE, headers={"Vary": "Accept, Signature"})


def wants_ap(request: web.Request) -> bool:
    return is_ap_media_type(request.headers.get("Accept"))


def _public_url(node: Node, request: web.Request) -> str:
    return node.urls.base + request.path_qs


async def requester(request: web.Request) -> str | None:
    """The actor id behind a signed GET, None for unsigned ones; a bad signature is a 401."""
    headers = request.headers
    if (not any(h in headers for h in ("Signature", "Signature-Input"))
            and not headers.get("Authorization", "").lower().startswith("signature ")):
        return None
    if (refusal := blocked_domains.signature_refusal(headers)) is not None:
        raise ApiError(403, refusal)
    node = node_of(request)
    try:
        verified = await verify_request("GET", _public_url(node, request), headers, None,
                                        partial(resolve.resolve_key, node),
                                        max_skew=node.config["federation.signature_max_skew_seconds"])
    except SignatureError as exc:
        raise ApiError(401, f"Bad signature: {exc.reason}") from None
    except FetchError as exc:
        raise ApiError(401, f"Cannot fetch the signing key: {exc.reason}") from None
    await resolve.remember(node, verified.owner)
    return verified.owner


async def guard(request: web.Request) -> str | None:
    """Authorized-fetch mode refuses unsigned GETs of actors and objects."""
    owner = await requester(request)
    if owner is None and node_of(request).config["federation.authorized_fetch"]:
        raise ApiError(401, "Request not signed (this server requires signed fetches)")
    return owner


# --------------------------------------------------------------------------- discovery


@routes.get("/.well-known/webfinger")
async def webfinger(request: web.Request) -> web.Response:
    node = node_of(request)
    resource = request.query.get("resource", "")
    try:
        username, domain = wf.parse_resource(resource, node.config.domain)
    except ValueError as exc:
        raise ApiError(400, f"Bad resource: {exc}") from None
    if domain != node.config.domain:
        raise ApiError(404, "Not an account of this server")
    account = await Account.get_or_none(domain=None, username__iexact=username, deleted_at=None)
    if account is None:
        return await _cameo_webfinger(node, username)
    subject = f"acct:{account.username}@{node.config.domain}"
    body = wf.jrd(subject, [account.url or node.urls.profile(account.username), account.uri], account.uri,
                  account.url or node.urls.profile(account.username))
    return web.json_response(body, content_type=wf.JRD_MEDIA_TYPE)


async def _cameo_webfinger(node: Node, handle: str) -> web.Response:
    """`acct:handle@host` of a verified cameo (its handle is no account's name): a link to the Cameo."""
    cameo = await cameo_documents.cameo_by_handle(handle)
    if cameo is None:
        raise ApiError(404, "Unknown account")
    url = node.urls.cameo(cameo.id)
    return web.json_response({"subject": f"acct:{cameo.handle}@{node.config.domain}", "aliases": [url],
                              "links": [{"rel": "self", "type": AP_MEDIA_TYPE, "href": url}]},
                             content_type=wf.JRD_MEDIA_TYPE)


@routes.get("/.well-known/host-meta")
async def host_meta(request: web.Request) -> web.Response:
    return web.Response(text=wf.host_meta_xml(node_of(request).urls.base), content_type=wf.XRD_MEDIA_TYPE)


@routes.get("/.well-known/nodeinfo")
async def nodeinfo_links(request: web.Request) -> web.Response:
    base = node_of(request).urls.base
    return web.json_response({"links": [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{base}/nodeinfo/2.1"},
        {"rel": "https://www.w3.org/ns/activitystreams#Application", "href": f"{base}/actor"},
    ]})


@routes.get("/nodeinfo/2.1")
async def nodeinfo(request: web.Request) -> web.Response:
    node = node_of(request)
    now = datetime.now(timezone.utc)
    local_users = Account.filter(domain=None, deleted_at=None, user__approved=True)
    users = await local_users.count()
    month = await local_users.filter(Q(last_status_at__gte=now - timedelta(days=30))
                                     | Q(user__last_sign_in_at__gte=now - timedelta(days=30))).count()
    halfyear = await local_users.filter(Q(last_status_at__gte=now - timedelta(days=180))
                                        | Q(user__last_sign_in_at__gte=now - timedelta(days=180))).count()
    posts = await Status.filter(local=True, deleted_at=None, reblog_of_id=None).count()
    doc = ap.nodeinfo(version=__version__, open_registrations=node.config["registration.mode"] == "open",
                      users=users, active_month=month, active_halfyear=halfyear, local_posts=posts,
                      node_name=node.config["server.name"], node_description=node.config["server.description"],
                      mastodon_api=MASTODON_COMPAT)
    return web.Response(body=json.dumps(doc).encode(), headers={
        "Content-Type": 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'})


@routes.get("/ns")
async def vocabulary(request: web.Request) -> web.Response:
    """Our JSON-LD terms, documented (the namespace the `vitascope:` prefix expands to)."""
    return web.json_response(NS_DOCUMENT, content_type="application/ld+json")


# --------------------------------------------------------------------------- instance actor


@routes.get("/actor")
async def instance_actor(request: web.Request) -> web.Response:
    return ap_response(internaltoas.instance_actor(node_of(request)))


@routes.get("/actor/outbox")
async def instance_outbox(request: web.Request) -> web.Response:
    node = node_of(request)
    return ap_response(ap.ordered_collection(f"{node.urls.instance_actor}/outbox", 0, items=[]))


# --------------------------------------------------------------------------- local actors


async def local_account(request: web.Request) -> Account:
    """The local account named by the path's ``{username}``; 404 when there is none."""
    account = await Account.get_or_none(domain=None, username=request.match_info["username"])
    if account is None:
        raise not_found()
    return account


async def _available(request: web.Request) -> Account:
    """A local account whose collections may be served: a deleted one's answer 410, a suspended
    one's 403 (as Mastodon)."""
    account = await local_account(request)
    if account.deleted_at is not None:
        raise ApiError(410, "This account is gone")
    if account.suspended_at is not None:
        raise ApiError(403, "This account is suspended")
    return account


def _gone(doc_id: str, former_type: str, deleted_at: datetime | None) -> web.Response:
    return ap_response(ap.tombstone(doc_id, former_type, deleted_at), status=410)


@routes.get("/users/{username}")
async def actor(request: web.Request) -> web.StreamResponse:
    account = await local_account(request)
    if not wants_ap(request):
        raise web.HTTPFound(account.url or node_of(request).urls.profile(account.username))
    if account.deleted_at is not None:
        return _gone(account.uri, "Person", account.deleted_at)
    await guard(request)  # a suspended account is still served, saying `suspended` (as Mastodon)
    return ap_response(await internaltoas.person(node_of(request), account))


def _page_url(collection: str, max_id: int | None = None) -> str:
    return f"{collection}?page=true" + (f"&max_id={max_id}" if max_id is not None else "")


def _max_id(request: web.Request) -> int | None:
    return ids.parse(request.query.get("max_id"))


async def _paged(request: web.Request, collection: str, total: int, fetch_page) -> web.Response:
    """An OrderedCollection whose pages run newest first, cursored by row id."""
    if request.query.get("page") != "true":
        return ap_response(ap.ordered_collection(collection, total, first=_page_url(collection)))
    max_id = _max_id(request)
    rows, items = await fetch_page(max_id)
    next_page = _page_url(collection, rows[-1].id) if len(rows) == PAGE else None
    return ap_response(ap.ordered_collection_page(_page_url(collection, max_id), collection, items,
                                                  next_page=next_page, total=total))


@routes.get("/users/{username}/outbox")
async def outbox(request: web.Request) -> web.Response:
    node = node_of(request)
    account = await _available(request)
    await guard(request)
    base = Status.filter(account_id=account.id, deleted_at=None, visibility__in=["public", "unlisted"])

    async def page(max_id: int | None):
        query = base.filter(id__lt=max_id) if max_id else base
        rows = await query.order_by("-id").limit(PAGE).prefetch_related("reblog_of")
        items = []
        for status in rows:
            status.account = account
            if status.reblog_of_id:
                items.append(ap.embedded(await internaltoas.announce(node, status)))
            else:
                items.append(ap.embedded(await internaltoas.create(node, status)))
        return rows, items

    return await _paged(request, node.urls.outbox(account.username), await base.count(), page)


async def _follow_collection(request: web.Request, *, followers: bool) -> web.Response:
    node = node_of(request)
    account = await _available(request)
    await guard(request)
    base = Follow.filter(target_id=account.id) if followers else Follow.filter(account_id=account.id)
    related = "account" if followers else "target"

    async def page(max_id: int | None):
        query = base.filter(id__lt=max_id) if max_id else base
        rows = await query.order_by("-id").limit(PAGE).prefetch_related(related)
        return rows, [getattr(r, related).uri for r in rows]

    url = node.urls.followers(account.username) if followers else node.urls.following(account.username)
    return await _paged(request, url, await base.count(), page)


@routes.get("/users/{username}/followers")
async def followers(request: web.Request) -> web.Response:
    return await _follow_collection(request, followers=True)


@routes.get("/users/{username}/following")
async def following(request: web.Request) -> web.Response:
    return await _follow_collection(request, followers=False)


@routes.get("/users/{username}/collections/featured")
async def featured(request: web.Request) -> web.Response:
    account = await _available(request)
    await guard(request)
    return ap_response(ap.ordered_collection(node_of(request).urls.featured(account.username), 0, items=[]))


# --------------------------------------------------------------------------- posts and activities


async def may_read(status: Status, requester_uri: str | None) -> bool:
    """Public and unlisted posts for anyone; others for followers (private) or those mentioned
    (`can_see`, for the signed requester's account)."""
    reader = await Account.get_or_none(uri=requester_uri) if requester_uri else None
    return await can_see(reader, status)


async def _local_status(request: web.Request) -> Status:
    status_id = ids.parse(request.match_info["id"])
    if status_id is None:
        raise not_found()
    status = await Status.get_or_none(id=status_id, local=True, reblog_of_id=None,
                                      account__username=request.match_info["username"],
                                      account__domain=None).prefetch_related("account")
    if status is None or status.account.suspended_at is not None:
        raise not_found()
    return status


@routes.get("/users/{username}/statuses/{id}")
async def status_object(request: web.Request) -> web.StreamResponse:
    node = node_of(request)
    status = await _local_status(request)
    if not wants_ap(request):
        raise web.HTTPFound(status.url or node.urls.status_page(status.account.username, status.id))
    if status.deleted_at is not None:
        return _gone(status.uri, "Note", status.deleted_at)
    if not await may_read(status, await guard(request)):
        raise not_found()
    return ap_response(await internaltoas.note(node, status))


@routes.get("/users/{username}/statuses/{id}/activity")
async def status_activity(request: web.Request) -> web.Response:
    node = node_of(request)
    status = await _local_status(request)
    if status.deleted_at is not None:
        return _gone(node.urls.status_activity(status.account.username, status.id), "Create", status.deleted_at)
    if not await may_read(status, await guard(request)):
        raise not_found()
    return ap_response(await internaltoas.create(node, status))


@routes.get("/users/{username}/statuses/{id}/replies")
async def status_replies(request: web.Request) -> web.Response:
    """A post's `replies`: its public and unlisted replies (ours and those we know of), oldest first,
    as ids, so other servers can fetch the replies they never received (Mastodon 4.4 does)."""
    node = node_of(request)
    status = await _local_status(request)
    if status.deleted_at is not None or not await may_read(status, await guard(request)):
        raise not_found()
    collection = node.urls.status_replies(status.account.username, status.id)
    replies = Status.filter(in_reply_to_id=status.id, deleted_at=None, visibility__in=["public", "unlisted"],
                            account__suspended_at=None)
    if request.query.get("page") != "true":
        return ap_response(ap.collection(collection, await replies.count(), first=f"{collection}?page=true"))
    after = ids.parse(request.query.get("min_id"))
    query = replies.filter(id__gt=after) if after is not None else replies
    rows = await query.order_by("id").limit(PAGE).values("id", "uri")
    next_page = f"{collection}?page=true&min_id={rows[-1]['id']}" if len(rows) == PAGE else None
    return ap_response(ap.collection_page(_public_url(node, request), collection, [r["uri"] for r in rows],
                                          next_page=next_page))


@routes.get(r"/users/{username}/{kind:[a-z]+}/{id:\d+}")
async def sent_activity(request: web.Request) -> web.Response:
    """Any other activity we sent (Follow, Like, Announce, Accept, Undo, Delete…), as signed."""
    node = node_of(request)
    uri = node.urls.activity(request.match_info["username"], request.match_info["kind"], request.match_info["id"])
    activity = await OutboxActivity.get_or_none(uri=uri)
    if activity is None:
        raise not_found()
    reader = await guard(request)
    if not activity.public:
        allowed = set(activity.audience or [])
        if reader is None or not (reader in allowed or ap.origin(reader) in {ap.origin(a) for a in allowed}):
            raise not_found()
    return ap_response(activity.document)


# --------------------------------------------------------------------------- inboxes


def _inbox_options(node: Node) -> dict[str, Any]:
    """federation.inbox.receive's storage and look-up hooks, made once per node (hot path)."""
    options = node.extras.get("inbox_options")
    if options is None:
        options = node.extras["inbox_options"] = {
            "resolve_key": partial(resolve.resolve_key, node),
            "resolve_proof_key": partial(resolve.resolve_proof_key, node),
            "fetch_object": partial(resolve.fetch_object, node), "store": inbox_store.store,
            "handled_types": process.HANDLED_TYPES, "max_skew": node.config["federation.signature_max_skew_seconds"]}
    return options


async def _receive(request: web.Request) -> web.Response:
    node = node_of(request)
    if (refusal := blocked_domains.signature_refusal(request.headers)) is not None:
        log.info("inbox refused %s: %s", request.path, refusal)
        return web.json_response({"error": refusal}, status=403)
    body = await read_body(request, request.read())
    try:
        received = await receive("POST", _public_url(node, request), request.headers, body, **_inbox_options(node))
    except InboxRefused as exc:
        log.info("inbox refused %s: %s", request.path, exc.reason)
        return web.json_response({"error": exc.reason}, status=exc.status)
    except InboxIgnored as exc:
        log.info("inbox ignored a request: %s", exc)
        return web.Response(status=202)
    if received is not None:
        # Only now, the request accepted, are the actors fetched to verify it stored.
        await resolve.remember(node, received.signer, received.actor)
        federation(node).inbox_posted()
        if delivery.is_unhealthy(domain := ap.origin(received.actor)):
            await delivery.heard_from(node, domain)
    return web.Response(status=202)


routes.post("/inbox")(_receive)  # the shared inbox: registered as is, one coroutine less per POST
routes.post("/actor/inbox")(_receive)


@routes.post("/users/{username}/inbox")
async def personal_inbox(request: web.Request) -> web.Response:
    account = await local_account(request)
    if account.deleted_at is not None:
        raise ApiError(410, "Gone")
    return await _receive(request)

