"""Lists (Mastodon 4.4): CRUD, members, the lists an account is in, and the list timeline."""

from __future__ import annotations

from aiohttp import web
from tortoise.expressions import Q

from node.api.common import ctx, feed_page, get_account, page_limit, paged_json, paginate, path_id
from node.auth import scope
from node.db import on_one_connection
from node.errors import not_found
from node.models import Follow, ListAccount, Status, UserList
from node.params import parse_id, read_params
from node.serializers import accounts_many, list_json
from node.services import lists as list_service
from node.services.visibility import without_hidden

routes = web.RouteTableDef()


async def own_list(request: web.Request, name: str = "id") -> UserList:
    lst = await UserList.get_or_none(id=path_id(request, name), account_id=request["account"].id)
    if lst is None:
        raise not_found()
    return lst


@routes.get("/api/v1/lists")
@scope("read:lists")
async def index(request: web.Request) -> web.Response:
    rows = await UserList.filter(account_id=request["account"].id).order_by("id")
    return web.json_response([list_json(lst) for lst in rows])


@routes.post("/api/v1/lists")
@scope("write:lists")
async def create(request: web.Request) -> web.Response:
    p = await read_params(request)
    lst = await list_service.create_list(request["account"], title=p.str("title", max_len=1000),
                                         replies_policy=p.str("replies_policy", max_len=32),
                                         exclusive=p.bool("exclusive"))
    return web.json_response(list_json(lst))


@routes.get("/api/v1/lists/{id}")
@scope("read:lists")
async def show(request: web.Request) -> web.Response:
    return web.json_response(list_json(await own_list(request)))


@routes.put("/api/v1/lists/{id}")
@scope("write:lists")
async def update(request: web.Request) -> web.Response:
    lst = await own_list(request)
    p = await read_params(request)
    await list_service.update_list(lst, title=p.str("title", max_len=1000),
                                   replies_policy=p.str("replies_policy", max_len=32), exclusive=p.bool("exclusive"))
    return web.json_response(list_json(lst))


@routes.delete("/api/v1/lists/{id}")
@scope("write:lists")
async def delete(request: web.Request) -> web.Response:
    await list_service.delete_list(await own_list(request))
    return web.json_response({})


@routes.get("/api/v1/lists/{id}/accounts")
@scope("read:lists")
async def members(request: web.Request) -> web.Response:
    """Members, newest first; `limit=0` lists them all without pagination (as Mastodon)."""
    lst = await own_list(request)
    p = await read_params(request)
    query = (ListAccount.filter(list_id=lst.id, account__suspended_at=None, account__deleted_at=None)
             .prefetch_related("account"))
    if p.str("limit") == "0":
        rows = await query.order_by("-id")
        return web.json_response(await accounts_many(ctx(request), [r.account for r in rows]))
    rows = await paginate(query, p, page_limit(request, p, 40))
    return paged_json(request, await accounts_many(ctx(request), [r.account for r in rows]), rows)


def _account_ids(p) -> list[int]:
    return [parse_id(i) for i in p.list("account_ids")]


@routes.post("/api/v1/lists/{id}/accounts")
@scope("write:lists")
async def add_members(request: web.Request) -> web.Response:
    lst = await own_list(request)
    await list_service.add_accounts(lst, _account_ids(await read_params(request)))
    return web.json_response({})


@routes.delete("/api/v1/lists/{id}/accounts")
@scope("write:lists")
async def remove_members(request: web.Request) -> web.Response:
    lst = await own_list(request)
    await list_service.remove_accounts(lst, _account_ids(await read_params(request)))
    return web.json_response({})


@routes.get("/api/v1/accounts/{id}/lists")
@scope("read:lists")
async def account_lists(request: web.Request) -> web.Response:
    """The viewer's lists that hold this account."""
    account = await get_account(path_id(request))
    rows = await UserList.filter(account_id=request["account"].id, list_accounts__account_id=account.id).order_by("id")
    return web.json_response([list_json(lst) for lst in rows])


async def list_query(lst: UserList):
    """Posts and boosts of the members the owner follows (public, unlisted and followers-only), with
    replies to others as the list's replies_policy allows: its page and its `list` stream."""
    me = await lst.account
    member_ids = list(await ListAccount.filter(list_id=lst.id).values_list("account_id", flat=True))
    follows = await Follow.filter(account_id=me.id).values("target_id", "show_reblogs")
    following = [f["target_id"] for f in follows]
    followed_members = [i for i in member_ids if i in set(following)]
    no_reblogs = [f["target_id"] for f in follows if not f["show_reblogs"]]
    # Replies to the owner and self-replies always show (authors are followed members, so the
    # `followed` and `list` targets include them); other replies as the policy says.
    replies = Q(in_reply_to_account_id=None) | Q(in_reply_to_account_id=me.id)
    if lst.replies_policy == "followed":
        replies |= Q(in_reply_to_account_id__in=following)
    elif lst.replies_policy == "list":
        replies |= Q(in_reply_to_account_id__in=member_ids)
    else:
        for member in followed_members:
            replies |= Q(account_id=member, in_reply_to_account_id=member)
    query = (Status.filter(deleted_at=None, account__suspended_at=None, reblog_of__account__suspended_at=None,
                           account_id__in=followed_members, visibility__in=["public", "unlisted", "private"])
             .filter(replies))
    if no_reblogs:
        query = query.exclude(Q(account_id__in=no_reblogs) & Q(reblog_of_id__not_isnull=True))
    return without_hidden(query, me)


@routes.get("/api/v1/timelines/list/{id}")
@on_one_connection
@scope("read:lists")
async def timeline(request: web.Request) -> web.Response:
    """Paginated and filtered like home."""
    lst = await own_list(request)
    p = await read_params(request)
    items = await paginate(await list_query(lst), p, page_limit(request, p))
    return await feed_page(request, items, context="home")
