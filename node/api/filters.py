"""Filters: v2 (filters with keywords and statuses) and v1, the compatibility view where each keyword
is a filter (Mastodon 4.4)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.api.common import path_id
from node.auth import scope
from node.errors import not_found, unprocessable
from node.models import Filter, FilterKeyword, FilterStatus
from node.params import Params, read_params
from node.serializers import filter_keyword_json, filter_status_json, filters_json, v1_filter_json
from node.services import filters as filter_service

routes = web.RouteTableDef()


async def own_filter(request: web.Request, name: str = "id") -> Filter:
    row = await Filter.get_or_none(id=path_id(request, name), account_id=request["account"].id)
    if row is None:
        raise not_found()
    return row


async def own_keyword(request: web.Request) -> FilterKeyword:
    row = await (FilterKeyword.get_or_none(id=path_id(request), custom_filter__account_id=request["account"].id)
                 .prefetch_related("custom_filter"))
    if row is None:
        raise not_found()
    return row


def _expires_in(p: Params) -> tuple[int | None, bool]:
    """(seconds, given): a blank `expires_in` is given and means never."""
    if "expires_in" not in p:
        return None, False
    return p.int("expires_in"), True


def _keywords_attributes(p: Params) -> list[dict[str, Any]]:
    """keywords_attributes as a JSON array of objects or a form's `keywords_attributes[0][keyword]`."""
    value = p.raw("keywords_attributes")
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value, key=lambda k: (len(str(k)), str(k)))]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise unprocessable("keywords_attributes must be a list of objects")
    return value


async def _one(row: Filter) -> web.Response:
    return web.json_response((await filters_json([row]))[0])


# --- v2 ------------------------------------------------------------------------------------------

@routes.get("/api/v2/filters")
@scope("read:filters")
async def index(request: web.Request) -> web.Response:
    return web.json_response(await filters_json(await Filter.filter(account_id=request["account"].id).order_by("id")))


@routes.post("/api/v2/filters")
@scope("write:filters")
async def create(request: web.Request) -> web.Response:
    p = await read_params(request)
    expires_in, _ = _expires_in(p)
    row = await filter_service.create_filter(request["account"], title=p.raw("title"), context=p.list("context"),
                                             action=p.str("filter_action", max_len=16), expires_in=expires_in,
                                             keywords=_keywords_attributes(p))
    return await _one(row)


@routes.get("/api/v2/filters/{id}")
@scope("read:filters")
async def show(request: web.Request) -> web.Response:
    return await _one(await own_filter(request))


@routes.put("/api/v2/filters/{id}")
@scope("write:filters")
async def update(request: web.Request) -> web.Response:
    row = await own_filter(request)
    p = await read_params(request)
    expires_in, given = _expires_in(p)
    await filter_service.update_filter(row, title=p.raw("title"), context=p.list("context") if "context" in p else None,
                                       action=p.str("filter_action", max_len=16), expires_in=expires_in,
                                       set_expiry=given, keywords=_keywords_attributes(p))
    return await _one(row)


@routes.delete("/api/v2/filters/{id}")
@scope("write:filters")
async def delete(request: web.Request) -> web.Response:
    await filter_service.delete(await own_filter(request))
    return web.json_response({})


@routes.get("/api/v2/filters/{filter_id}/keywords")
@scope("read:filters")
async def keywords(request: web.Request) -> web.Response:
    row = await own_filter(request, "filter_id")
    return web.json_response([filter_keyword_json(k) for k in
                              await FilterKeyword.filter(custom_filter_id=row.id).order_by("id")])


@routes.post("/api/v2/filters/{filter_id}/keywords")
@scope("write:filters")
async def add_keyword(request: web.Request) -> web.Response:
    row = await own_filter(request, "filter_id")
    p = await read_params(request)
    kw = await filter_service.add_keyword(row, p.raw("keyword"), p.bool("whole_word", True))
    return web.json_response(filter_keyword_json(kw))


@routes.get("/api/v2/filters/keywords/{id}")
@scope("read:filters")
async def show_keyword(request: web.Request) -> web.Response:
    return web.json_response(filter_keyword_json(await own_keyword(request)))


@routes.put("/api/v2/filters/keywords/{id}")
@scope("write:filters")
async def update_keyword(request: web.Request) -> web.Response:
    kw = await own_keyword(request)
    p = await read_params(request)
    await filter_service.update_keyword(kw, p.raw("keyword"), p.bool("whole_word"))
    return web.json_response(filter_keyword_json(kw))


@routes.delete("/api/v2/filters/keywords/{id}")
@scope("write:filters")
async def delete_keyword(request: web.Request) -> web.Response:
    await filter_service.delete(await own_keyword(request))
    return web.json_response({})


@routes.get("/api/v2/filters/{filter_id}/statuses")
@scope("read:filters")
async def statuses(request: web.Request) -> web.Response:
    row = await own_filter(request, "filter_id")
    return web.json_response([filter_status_json(s) for s in
                              await FilterStatus.filter(custom_filter_id=row.id).order_by("id")])


@routes.post("/api/v2/filters/{filter_id}/statuses")
@scope("write:filters")
async def add_status(request: web.Request) -> web.Response:
    row = await own_filter(request, "filter_id")
    p = await read_params(request)
    item = await filter_service.add_status(request["account"], row, p.id("status_id", required=True))
    return web.json_response(filter_status_json(item))


async def own_status_filter(request: web.Request) -> FilterStatus:
    row = await FilterStatus.get_or_none(id=path_id(request), custom_filter__account_id=request["account"].id)
    if row is None:
        raise not_found()
    return row


@routes.get("/api/v2/filters/statuses/{id}")
@scope("read:filters")
async def show_status(request: web.Request) -> web.Response:
    return web.json_response(filter_status_json(await own_status_filter(request)))


@routes.delete("/api/v2/filters/statuses/{id}")
@scope("write:filters")
async def delete_status(request: web.Request) -> web.Response:
    await filter_service.delete(await own_status_filter(request))
    return web.json_response({})


# --- v1: one keyword per filter --------------------------------------------------------------------

@routes.get("/api/v1/filters")
@scope("read:filters")
async def v1_index(request: web.Request) -> web.Response:
    rows = await (FilterKeyword.filter(custom_filter__account_id=request["account"].id).order_by("id")
                  .prefetch_related("custom_filter"))
    return web.json_response([v1_filter_json(k) for k in rows])


@routes.post("/api/v1/filters")
@scope("write:filters")
async def v1_create(request: web.Request) -> web.Response:
    p = await read_params(request)
    expires_in, _ = _expires_in(p)
    kw = await filter_service.create_v1(request["account"], phrase=p.raw("phrase"), context=p.list("context"),
                                        irreversible=p.bool("irreversible", False),
                                        whole_word=p.bool("whole_word", True), expires_in=expires_in)
    return web.json_response(v1_filter_json(kw))


@routes.get("/api/v1/filters/{id}")
@scope("read:filters")
async def v1_show(request: web.Request) -> web.Response:
    return web.json_response(v1_filter_json(await own_keyword(request)))


@routes.put("/api/v1/filters/{id}")
@scope("write:filters")
async def v1_update(request: web.Request) -> web.Response:
    kw = await own_keyword(request)
    p = await read_params(request)
    expires_in, given = _expires_in(p)
    await filter_service.update_v1(kw, phrase=p.raw("phrase"), context=p.list("context") if "context" in p else None,
                                   irreversible=p.bool("irreversible"), whole_word=p.bool("whole_word"),
                                   expires_in=expires_in, set_expiry=given)
    return web.json_response(v1_filter_json(kw))


@routes.delete("/api/v1/filters/{id}")
@scope("write:filters")
async def v1_delete(request: web.Request) -> web.Response:
    await filter_service.delete_v1(await own_keyword(request))
    return web.json_response({})
