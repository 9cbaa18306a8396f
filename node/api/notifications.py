"""Notifications: list (with type filters), get, dismiss, clear."""

from __future__ import annotations

from aiohttp import web
from tortoise.expressions import Q

from node import ids
from node.api.common import ctx, page_limit, paged_json, paginate, path_id, prepared_page, stand_in
from node.auth import scope
from node.db import on_one_connection
from node.errors import not_found
from node.models import Account, Marker, Notification
from node.params import Params, read_params
from node.serializers import OWN_TYPES, notifications_json
from node.services.visibility import seen_by

routes = web.RouteTableDef()


@routes.get("/api/v1/notifications")
@on_one_connection
@scope("read:notifications")
async def index(request: web.Request) -> web.Response:
    me = request["account"]
    p = await read_params(request)
    limit = page_limit(request, p, 40)
    if p.list("types") or p.list("exclude_types"):  # text values, which prepared statements do not stand in for
        items = await paginate(listing(me, p), p, limit)
    else:
        include_filtered, sender = p.bool("include_filtered", False), p.id("account_id") if p.str("account_id") else None
        items = await prepared_page(
            Notification, ("notifications", include_filtered, sender is None),
            lambda me_id, *sender_id: _listing(stand_in(me_id), include_filtered, [], [],
                                               sender_id[0][0] if sender_id else None).select_related("status"),
            p, limit, [me.id], *([[sender]] if sender is not None else []), inline=sender is None)
    return paged_json(request, await notifications_json(ctx(request), me, items, own_types=own_types(p)), items)


def shown(me: Account):
    """The recipient's notifications it may open: none from a suspended account, none about a status
    it may not see (checked when read too, so an unfollow or an older row never shows one)."""
    return (Notification.filter(account_id=me.id, from_account__suspended_at=None)
            .filter(Q(status_id=None) | seen_by(me, "status", table="notifications")))


def own_types(p: Params) -> frozenset[str]:
    """Our own types the client names in `types[]`: it gets them as they are, not as a `mention`."""
    return OWN_TYPES.intersection(p.list("types"))


def _as_stored(types: list[str]) -> list[str]:
    """`mention` also names our own types for a client that did not ask for them by name."""
    return [*types, *OWN_TYPES.difference(types)] if "mention" in types else types


def listing(me: Account, p: Params):
    """The notifications a list shows (v1, and v2 before grouping): the `types`, `exclude_types`
    and `account_id` filters; those the notification policy held back only with `include_filtered`."""
    return _listing(me, p.bool("include_filtered", False), p.list("types"), p.list("exclude_types"),
                    p.id("account_id") if p.str("account_id") else None)


def _listing(me: Account, include_filtered: bool, types: list[str], exclude_types: list[str], sender: int | None):
    query = shown(me)
    if not include_filtered:
        query = query.filter(filtered=False)
    if types:
        query = query.filter(type__in=_as_stored(types))
    if exclude_types:
        query = query.exclude(type__in=_as_stored(exclude_types))
    if sender is not None:
        query = query.filter(from_account_id=sender)
    return query


@routes.get("/api/v1/notifications/unread_count")
@scope("read:notifications")
async def unread_count(request: web.Request) -> web.Response:
    marker = await Marker.get_or_none(user=request["user"], timeline="notifications")
    query = shown(request["account"]).filter(filtered=False)
    if marker is not None and (last_read := ids.parse(marker.last_read_id)) is not None:
        query = query.filter(id__gt=last_read)
    return web.json_response({"count": await query.count()})


@routes.get("/api/v1/notifications/{id}")
@scope("read:notifications")
async def show(request: web.Request) -> web.Response:
    note = await shown(request["account"]).get_or_none(id=path_id(request))
    rendered = await notifications_json(ctx(request), request["account"], [note]) if note is not None else []
    if not rendered:  # unknown, about a status the viewer may not see, or one its `hide` filters remove
        raise not_found()
    return web.json_response(rendered[0])


@routes.post("/api/v1/notifications/clear")
@scope("write:notifications")
async def clear(request: web.Request) -> web.Response:
    await Notification.filter(account_id=request["account"].id).delete()
    return web.json_response({})


@routes.post("/api/v1/notifications/{id}/dismiss")
@scope("write:notifications")
async def dismiss(request: web.Request) -> web.Response:
    deleted = await Notification.filter(id=path_id(request), account_id=request["account"].id).delete()
    if not deleted:
        raise not_found()
    return web.json_response({})


@routes.post("/api/v1/notifications/dismiss")
@scope("write:notifications")
async def dismiss_legacy(request: web.Request) -> web.Response:
    p = await read_params(request)
    await Notification.filter(id=p.id("id", required=True), account_id=request["account"].id).delete()
    return web.json_response({})
