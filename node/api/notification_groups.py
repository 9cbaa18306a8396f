"""Grouped notifications (`/api/v2/notifications`, Mastodon 4.3), the notification policy (v1 and v2)
and notification requests. Registered before `node.api.notifications`, whose `/{id}` would take
`policy` and `requests`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from node import ids
from node.api.common import ctx, link_header, page_limit, paged_json, paginate, path_id
from node.api.notifications import listing
from node.auth import scope
from node.errors import ApiError, not_found
from node.models import Account, Marker, Notification, NotificationRequest
from node.params import Params, parse_id, read_params
from node.serializers import (GROUP_SPAN_HOURS, GROUPABLE, accounts_many, group_key, notification_groups_json,
                              notification_requests_json, policy_v1_json, policy_v2_json)
from node.services import notification_policy as policies
from node.services.notifications import dismiss_group
from node.services.visibility import can_see

routes = web.RouteTableDef()

# ------------------------------------------------------------------ policy


async def _policy_v2(account: Account) -> dict[str, Any]:
    return await policy_v2_json(account, await policies.policy_of(account))


async def _policy_v1(account: Account) -> dict[str, Any]:
    return await policy_v1_json(account, await policies.policy_of(account))


@routes.get("/api/v2/notifications/policy")
@scope("read:notifications")
async def policy_v2(request: web.Request) -> web.Response:
    return web.json_response(await _policy_v2(request["account"]))


@routes.patch("/api/v2/notifications/policy")
@routes.put("/api/v2/notifications/policy")
@scope("write:notifications")
async def update_policy_v2(request: web.Request) -> web.Response:
    p = await read_params(request)
    values = {f: p.str(f) for f in policies.POLICY_FIELDS if p.str(f) is not None}
    await policies.update_policy(request["account"], values)
    return web.json_response(await _policy_v2(request["account"]))


@routes.get("/api/v1/notifications/policy")
@scope("read:notifications")
async def policy_v1(request: web.Request) -> web.Response:
    return web.json_response(await _policy_v1(request["account"]))


@routes.patch("/api/v1/notifications/policy")
@routes.put("/api/v1/notifications/policy")
@scope("write:notifications")
async def update_policy_v1(request: web.Request) -> web.Response:
    """v1's booleans: true filters, false accepts (as Mastodon maps them)."""
    p = await read_params(request)
    values = {}
    for old, new in (("filter_not_following", "for_not_following"), ("filter_not_followers", "for_not_followers"),
                     ("filter_new_accounts", "for_new_accounts"), ("filter_private_mentions", "for_private_mentions")):
        flag = p.bool(old)
        if flag is not None:
            values[new] = "filter" if flag else "accept"
    await policies.update_policy(request["account"], values)
    return web.json_response(await _policy_v1(request["account"]))


# ------------------------------------------------------------------ requests


async def _requests_json(request: web.Request, rows: list[NotificationRequest]) -> list[dict[str, Any]]:
    """The requests with their last statuses, those the viewer may still see."""
    me = request["account"]
    await NotificationRequest.fetch_for_list(rows, "from_account", "last_status")
    seen = [r.last_status for r in rows if r.last_status and await can_see(me, r.last_status)]
    return await notification_requests_json(ctx(request), me, rows, seen)


@routes.get("/api/v1/notifications/requests")
@scope("read:notifications")
async def requests_index(request: web.Request) -> web.Response:
    p = await read_params(request)
    rows = await paginate(NotificationRequest.filter(account_id=request["account"].id), p, page_limit(request, p, 40))
    return paged_json(request, await _requests_json(request, rows), rows)


@routes.get("/api/v1/notifications/requests/merged")
@scope("read:notifications")
async def requests_merged(request: web.Request) -> web.Response:
    """Accepting is done within the request, so there is never a merge still running."""
    return web.json_response({"merged": True})


async def _ids(request: web.Request) -> list[int]:
    p = await read_params(request)
    return [parse_id(i) for i in p.list("id")]


@routes.post("/api/v1/notifications/requests/accept")
@scope("write:notifications")
async def requests_accept(request: web.Request) -> web.Response:
    await policies.accept_requests(request["account"], await _ids(request))
    return web.json_response({})


@routes.post("/api/v1/notifications/requests/dismiss")
@scope("write:notifications")
async def requests_dismiss(request: web.Request) -> web.Response:
    await policies.dismiss_requests(request["account"], await _ids(request))
    return web.json_response({})


async def _own_request(request: web.Request) -> NotificationRequest:
    row = await NotificationRequest.get_or_none(id=path_id(request), account_id=request["account"].id)
    if row is None:
        raise not_found()
    return row


@routes.get("/api/v1/notifications/requests/{id}")
@scope("read:notifications")
async def requests_show(request: web.Request) -> web.Response:
    return web.json_response((await _requests_json(request, [await _own_request(request)]))[0])


@routes.post("/api/v1/notifications/requests/{id}/accept")
@scope("write:notifications")
async def request_accept(request: web.Request) -> web.Response:
    await policies.accept_requests(request["account"], [(await _own_request(request)).id])
    return web.json_response({})


@routes.post("/api/v1/notifications/requests/{id}/dismiss")
@scope("write:notifications")
async def request_dismiss(request: web.Request) -> web.Response:
    await policies.dismiss_requests(request["account"], [(await _own_request(request)).id])
    return web.json_response({})


# ------------------------------------------------------------------ grouped notifications


def _grouping(p: Params):
    """`grouped_types`: the types that may group (default all Mastodon groups)."""
    allowed = set(p.list("grouped_types")) if "grouped_types" in p else set(GROUPABLE)

    def key(n: Notification) -> str:
        return group_key(n) if n.type in allowed else f"ungrouped-{n.id}"

    return key


def _members(me: Account, key: str):
    """The query for every notification of a group, from its key (see serializers.group_key): the
    list's own query (`listing`, unfiltered by parameters) narrowed to the group."""
    everything = listing(me, Params({}))
    prefix, _, rest = key.partition("-")
    if prefix == "ungrouped":
        return everything.filter(id=parse_id(rest))
    parts = key.rsplit("-", 1)
    if len(parts) != 2 or not (parts[1].isascii() and parts[1].isdigit()) or len(parts[1]) > 7:  # hours since 1970: 7 digits until 3110
        raise not_found()
    head, hours = parts[0], int(parts[1])
    start = datetime.fromtimestamp(hours * 3600, timezone.utc)
    query = everything.filter(created_at__gte=start, created_at__lt=start + timedelta(hours=GROUP_SPAN_HOURS))
    kind, _, status_id = head.partition("-")
    if kind in ("favourite", "reblog") and status_id:
        return query.filter(type=kind, status_id=parse_id(status_id))
    if head in ("follow", "admin.sign_up"):
        return query.filter(type=head)
    raise not_found()


async def _render_groups(request: web.Request, groups: list[tuple[str, list[Notification]]], *,
                         paginated: bool, partial: bool = False) -> dict[str, Any]:
    me = request["account"]
    return await notification_groups_json(ctx(request), me, groups, lambda key: _members(me, key),
                                          paginated=paginated, partial=partial)


def _expand_accounts(p: Params) -> bool:
    """`expand_accounts`: `full` (the default) or `partial_avatars`; True for the latter."""
    value = p.str("expand_accounts", "full")
    if value not in ("full", "partial_avatars"):
        raise ApiError(400, f"Invalid value for 'expand_accounts': '{value}', allowed values are 'full' and "
                            "'partial_avatars'")
    return value == "partial_avatars"


@routes.get("/api/v2/notifications")
@scope("read:notifications")
async def grouped_index(request: web.Request) -> web.Response:
    """A page of `limit` groups: notifications are read newest first, in the v1 list's order and
    filters, and the page ends before the first one of a group beyond the limit — so `max_id` of
    the next page is the oldest notification this page covered."""
    me = request["account"]
    p = await read_params(request)
    limit = page_limit(request, p, 40)
    partial = _expand_accounts(p)
    key_of = _grouping(p)
    groups: dict[str, list[Notification]] = {}
    covered: list[Notification] = []
    batch = await paginate(listing(me, p), p, limit * 5)
    for n in batch:
        key = key_of(n)
        if key not in groups and len(groups) == limit:
            break
        groups.setdefault(key, []).append(n)
        covered.append(n)
    body = await _render_groups(request, list(groups.items()), paginated=True, partial=partial)
    return web.json_response(body, headers=link_header(request, covered))


@routes.get("/api/v2/notifications/unread_count")
@scope("read:notifications")
async def grouped_unread_count(request: web.Request) -> web.Response:
    """Unread groups since the notifications marker, counted up to `limit` (100, at most 1000)."""
    p = await read_params(request)
    limit = p.int("limit", 100, minimum=1, maximum=1000, clamp=True)
    query = listing(request["account"], p)
    marker = await Marker.get_or_none(user=request["user"], timeline="notifications")
    if marker is not None and (last_read := ids.parse(marker.last_read_id)) is not None:
        query = query.filter(id__gt=last_read)
    key_of = _grouping(p)
    keys = {key_of(n) for n in await query.order_by("-id").limit(limit * 5)}
    return web.json_response({"count": min(len(keys), limit)})


@routes.get("/api/v2/notifications/{group_key}")
@scope("read:notifications")
async def grouped_show(request: web.Request) -> web.Response:
    members = await _members(request["account"], request.match_info["group_key"]).order_by("-id").limit(1)
    if not members:
        raise not_found()
    body = await _render_groups(request, [(request.match_info["group_key"], members)], paginated=False)
    return web.json_response(body)


@routes.get("/api/v2/notifications/{group_key}/accounts")
@scope("read:notifications")
async def grouped_accounts(request: web.Request) -> web.Response:
    """Everyone in the group, newest first, paginated by notification id."""
    p = await read_params(request)
    query = _members(request["account"], request.match_info["group_key"]).prefetch_related("from_account")
    rows = await paginate(query, p, page_limit(request, p, 40))
    return paged_json(request, await accounts_many(ctx(request), [r.from_account for r in rows]), rows)


@routes.post("/api/v2/notifications/{group_key}/dismiss")
@scope("write:notifications")
async def grouped_dismiss(request: web.Request) -> web.Response:
    ids = await _members(request["account"], request.match_info["group_key"]).values_list("id", flat=True)
    await dismiss_group(request["account"], list(ids))
    return web.json_response({})
