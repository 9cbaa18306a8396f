"""Helpers every API module uses: the node, the viewer, lookups and Link-header pagination."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, Callable, Hashable
from urllib.parse import urlencode

import orjson
from aiohttp import web
from tortoise.models import Model

from node import prepared
from node.context import Node
from node.errors import forbidden, not_found
from node.models import Account, Status
from node.params import Params, parse_id
from node.serializers import statuses_json
from node.services.parental import ration_feed
from node.services.visibility import can_see


def json_page(data: Any, headers: dict[str, str]) -> web.Response:
    """`web.json_response` for the large list responses, encoded by orjson (about ten times faster
    than the json module on a page of statuses). The same JSON values; what orjson refuses (a
    non-string key, an integer over 64 bits) falls back to the json module, as before."""
    try:
        body = orjson.dumps(data)
    except orjson.JSONEncodeError:
        body = json.dumps(data).encode()
    return web.Response(body=body, content_type="application/json", charset="utf-8", headers=headers)


def ctx(request: web.Request) -> Node:
    return request.app["node"]


def viewer(request: web.Request) -> Account | None:
    return request.get("account")


def require_admin(request: web.Request) -> Account:
    """The signed-in admin's account; 403 for anyone else (the admin routes check the scope too)."""
    user = request.get("user")
    if user is None or not user.admin:
        raise forbidden("This action is for administrators")
    return request["account"]


def path_id(request: web.Request, name: str = "id") -> int:
    return parse_id(request.match_info[name])


async def get_or_404(model: type[Model], **filters: Any) -> Any:
    """The one row the filters name, or Mastodon's 404."""
    row = await model.get_or_none(**filters)
    if row is None:
        raise not_found()
    return row


async def get_account(account_id: int) -> Account:
    found = await prepared.models(Account, "get_account",
                                  lambda i: Account.filter(id=i[0], deleted_at=None, suspended_at=None), [account_id])
    if not found:
        raise not_found()
    return found[0]


def page_limit(request: web.Request, p: Params, default: int = 20) -> int:
    return p.int("limit", default, minimum=1, maximum=ctx(request).config["limits.max_page_size"], clamp=True)


async def paginate(query, p: Params, limit: int, *, column: str = "id") -> list:
    """Mastodon cursors: max_id (older than), since_id (newer than, newest first),
    min_id (just newer than, oldest first, then returned newest first)."""
    max_id, since_id, min_id = (p.cursor("max_id"), p.cursor("since_id"), p.cursor("min_id"))
    if max_id is not None:
        query = query.filter(**{f"{column}__lt": max_id})
    if since_id is not None:
        query = query.filter(**{f"{column}__gt": since_id})
    if min_id is not None:
        rows = await query.filter(**{f"{column}__gt": min_id}).order_by(column).limit(limit)
        return list(reversed(rows))
    return list(await query.order_by(f"-{column}").limit(limit))


async def prepared_page(model: type[Model], key: Hashable, build: Callable[..., Any], p: Params, limit: int,
                        *values: list, column: str = "id", inline: bool = False) -> list:
    """`paginate(build(*values), p, limit)` with the page's SQL built once per shape and then run with
    each request's values (node.prepared): `key` names all that shapes `build`'s query (flags, whether
    there is a viewer); `values` are lists of what it only compares with (the viewer's id, …);
    `inline`: as `prepared.models`."""
    cursors = [(name, op, value) for name, op in (("max_id", "lt"), ("since_id", "gt"), ("min_id", "gt"))
               if (value := p.cursor(name)) is not None]
    oldest_first = any(name == "min_id" for name, _, _ in cursors)

    def query(*groups: list) -> Any:
        q = build(*groups[:-1])
        for (_, op, _), mark in zip(cursors, groups[-1]):
            q = q.filter(**{f"{column}__{op}": mark})
        return q.order_by(column if oldest_first else f"-{column}").limit(limit)

    shape = (key, tuple(name for name, _, _ in cursors), limit, column)
    rows = await prepared.models(model, shape, query, *values, [value for _, _, value in cursors], inline=inline)
    return rows[::-1] if oldest_first else rows


def stand_in(ids: list[int]) -> Any:
    """The viewer inside a prepared query's builder (`prepared_page`): visibility rules read only its
    id, which is a value there."""
    return SimpleNamespace(id=ids[0])


def link_header(request: web.Request, items: list, cursor: Callable[[Any], Any] = lambda i: i.id) -> dict[str, str]:
    """`Link: <…?max_id=X>; rel="next", <…?min_id=Y>; rel="prev"` like Mastodon."""
    if not items:
        return {}
    base = ctx(request).urls.base + request.path
    keep = {k: v for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")}
    nxt = base + "?" + urlencode({**keep, "max_id": cursor(items[-1])}, doseq=True)
    prev = base + "?" + urlencode({**keep, "min_id": cursor(items[0])}, doseq=True)
    return {"Link": f'<{nxt}>; rel="next", <{prev}>; rel="prev"'}


def paged_json(request: web.Request, data: list, items: list, cursor: Callable[[Any], Any] = lambda i: i.id) -> web.Response:
    return json_page(data, link_header(request, items, cursor))


async def feed_page(request: web.Request, items: list, *, context: str | None, paged: bool = True,
                    next_url: Callable[[int], str | None] | None = None,
                    vitascope: dict[int, dict[str, Any]] | None = None) -> web.Response:
    """One page of a feed (home, lists, public, hashtags, trends, For You) for the viewer, cut where
    a teen's daily video limit ends it (node.services.parental.ration_feed). A page cut there has no
    `next` link, so Mastodon clients see the end of the feed; the limit's headers tell the web app.

    A feed with its own cursor (For You) gives `next_url(served)`: the next page's URL after the
    `served` items of this page, or None at the end; `vitascope` adds fields to a status's
    `vitascope` object, by status id."""
    me = viewer(request)
    items, allowance = await ration_feed(me, items)
    if next_url is not None:
        url = next_url(len(items))
        headers = {"Link": f'<{url}>; rel="next"'} if url else {}
    else:
        headers = link_header(request, items) if paged else {}
    if allowance is not None:
        if allowance.ended and "Link" in headers:
            kept = [link for link in headers.pop("Link").split(", ") if not link.endswith('rel="next"')]
            if kept:
                headers["Link"] = ", ".join(kept)
        headers.update(allowance.headers())
    data = await statuses_json(ctx(request), me, items, context=context)
    for item in data if vitascope else ():
        item["vitascope"].update(vitascope.get(int(item["id"]), {}))
    return json_page(data, headers)


async def visible_status(request: web.Request, status_id: int) -> Status:
    """A status the viewer may see, or 404 (never reveal that a private one exists). A suspended
    account's posts are hidden like deleted ones."""
    status = await Status.get_or_none(id=status_id, deleted_at=None).prefetch_related("account")
    if status is None or status.account.suspended_at is not None or not await can_see(viewer(request), status):
        raise not_found()
    return status
