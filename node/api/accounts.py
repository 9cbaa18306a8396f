"""Accounts: registration, credentials, profiles, relationships, follows, blocks, mutes,
follow requests, favourites and bookmarks lists."""

from __future__ import annotations

from aiohttp import web

from node import ids
from node.api.common import (ctx, get_account, page_limit, paged_json, paginate, path_id, prepared_page, stand_in,
                             viewer)
from node.api.search import find_accounts
from node.auth import scope
from node.db import on_one_connection
from node.errors import ApiError, not_found, unprocessable
from node.models import Account, Block, Bookmark, Favourite, Follow, FollowRequest, Mute, Status, User
from node.params import read_params
from node.serializers import (account_one, accounts_many, credential_account, relationships, statuses_json,
                              token_json)
from node.services import accounts as account_service
from node.services import oauth as oauth_service
from node.services import social
from node.services.notifications import notify
from node.services.visibility import seen_by

routes = web.RouteTableDef()


async def resolve_remote(node, acct: str) -> Account | None:
    """Hook for federation: resolve user@host to an Account (set by the ActivityPub plugin on start-up)."""
    resolver = node.extras.get("resolve_account")
    return await resolver(node, acct) if resolver else None


@routes.post("/api/v1/accounts")
@scope("write:accounts", user=False)
async def register(request: web.Request) -> web.Response:
    node = ctx(request)
    mode = node.config["registration.mode"]
    if mode == "closed":
        raise ApiError(403, "Registrations are closed on this node")
    p = await read_params(request)
    if not p.bool("agreement", False):
        raise unprocessable("agreement must be accepted")
    user = await account_service.create_user(node, p.str("username", required=True, max_len=64),
                                             p.str("password", required=True, max_len=1024),
                                             email=p.str("email", max_len=255), approved=mode == "open",
                                             date_of_birth=p.str("date_of_birth", max_len=32))
    if mode == "approval":
        for admin in await User.filter(admin=True).prefetch_related("account"):
            await notify(node, admin.account, user.account, "admin.sign_up")
    token = await oauth_service.issue_token(request["token"].application, user, request["token"].scopes)
    return web.json_response(token_json(token))


@routes.get("/api/v1/accounts/verify_credentials")
@scope("read:accounts")
async def verify_credentials(request: web.Request) -> web.Response:
    return web.json_response(await credential_account(ctx(request), request["account"]))


@routes.patch("/api/v1/accounts/update_credentials")
@scope("write:accounts")
async def update_credentials(request: web.Request) -> web.Response:
    p = await read_params(request, allow_files=True)
    fields = None
    if "fields_attributes" in p:
        raw = p.raw("fields_attributes")
        items = raw.values() if isinstance(raw, dict) else raw
        if not isinstance(items, (list, type({}.values()))):
            raise unprocessable("fields_attributes must be an array")
        fields = []
        for item in items:
            if not isinstance(item, dict):
                raise unprocessable("fields_attributes must contain objects")
            name, value = str(item.get("name", "")), str(item.get("value", ""))
            if name or value:
                fields.append({"name": name[:255], "value": value[:2047]})
    if p.files:
        raise unprocessable("avatar and header images must be AI-generated: upload them as media first")
    account = await account_service.update_profile(
        request["account"], display_name=p.str("display_name", max_len=200), note=p.str("note", max_len=5000),
        locked=p.bool("locked"), bot=p.bool("bot"), discoverable=p.bool("discoverable"), fields=fields)
    await ctx(request).emit("account.updated", account=account)
    return web.json_response(await credential_account(ctx(request), account))


@routes.get("/api/v1/accounts/relationships")
@scope("read:follows")
async def get_relationships(request: web.Request) -> web.Response:
    p = await read_params(request)
    wanted = [i for i in map(ids.parse, p.list("id")) if i is not None]
    found = {a.id: a for a in await Account.filter(id__in=wanted)}
    return web.json_response(await relationships(request["account"], [found[i] for i in wanted if i in found]))


@routes.get("/api/v1/accounts/lookup")
@scope(None, optional=True)
async def lookup(request: web.Request) -> web.Response:
    p = await read_params(request)
    acct = (p.str("acct", required=True, max_len=512) or "").lstrip("@")
    node = ctx(request)
    username, _, domain = acct.partition("@")
    if not domain or domain.lower() == node.config.domain:
        account = await Account.get_or_none(domain=None, username__iexact=username, deleted_at=None)
    else:
        account = await Account.get_or_none(domain=domain.lower(), username__iexact=username, deleted_at=None)
        if account is None:
            account = await resolve_remote(node, acct)
    if account is None or account.suspended_at is not None:  # hidden, as GET /api/v1/accounts/:id hides it
        raise not_found()
    return web.json_response(await account_one(node, account))


@routes.get("/api/v1/accounts/search")
@scope("read:accounts")
async def search_accounts(request: web.Request) -> web.Response:
    p = await read_params(request)
    accounts = await find_accounts(request, p.str("q", required=True, max_len=512) or "", page_limit(request, p, 40),
                                   resolve=p.bool("resolve", False), following=p.bool("following", False))
    return web.json_response(await accounts_many(ctx(request), accounts))


@routes.get("/api/v1/accounts/{id}")
@scope(None, optional=True)
async def get_account_json(request: web.Request) -> web.Response:
    return web.json_response(await account_one(ctx(request), await get_account(path_id(request))))


@routes.get("/api/v1/accounts/{id}/statuses")
@on_one_connection
@scope("read:statuses", optional=True)
async def account_statuses(request: web.Request) -> web.Response:
    account = await get_account(path_id(request))
    p = await read_params(request)
    me = viewer(request)
    if p.bool("pinned", False):
        return web.json_response([])
    flags = {name: p.bool(name, False) for name in ("exclude_replies", "exclude_reblogs", "only_media")}
    tagged = p.str("tagged").lower() if p.str("tagged") else None

    def statuses(author: list[int], *me_id: list[int]):
        query = Status.filter(account_id=author[0]).filter(seen_by(stand_in(me_id[0]) if me_id else None))
        if flags["exclude_replies"]:
            query = query.filter(in_reply_to_id=None, in_reply_to_uri=None)
        if flags["exclude_reblogs"]:
            query = query.filter(reblog_of_id=None)
        if flags["only_media"]:
            query = query.filter(media__id__not_isnull=True).distinct()
        if tagged:
            query = query.filter(status_tags__tag__name=tagged).distinct()
        return query.select_related("reblog_of")

    limit = page_limit(request, p)
    if tagged:  # a text value, which the prepared statements do not stand in for
        items = await paginate(statuses([account.id], *([[me.id]] if me else [])), p, limit)
    else:
        items = await prepared_page(Status, ("account", me is None, *flags.values()), statuses, p, limit,
                                    [account.id], *([[me.id]] if me else []))
    return paged_json(request, await statuses_json(ctx(request), me, items, context="account"), items)


async def _follow_list(request: web.Request, *, followers: bool) -> web.Response:
    account = await get_account(path_id(request))
    p = await read_params(request)
    query = Follow.filter(target_id=account.id) if followers else Follow.filter(account_id=account.id)
    rows = await paginate(query.prefetch_related("account", "target"), p, page_limit(request, p, 40))
    people = [r.account if followers else r.target for r in rows]
    return paged_json(request, await accounts_many(ctx(request), people), rows)


@routes.get("/api/v1/accounts/{id}/followers")
@scope("read:accounts", optional=True)
async def followers(request: web.Request) -> web.Response:
    return await _follow_list(request, followers=True)


@routes.get("/api/v1/accounts/{id}/following")
@scope("read:accounts", optional=True)
async def following(request: web.Request) -> web.Response:
    return await _follow_list(request, followers=False)


async def _relationship(request: web.Request, target: Account) -> web.Response:
    return web.json_response((await relationships(request["account"], [target]))[0])


@routes.post("/api/v1/accounts/{id}/follow")
@scope("write:follows")
async def follow(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    p = await read_params(request)
    await social.follow(ctx(request), request["account"], target, reblogs=p.bool("reblogs", True),
                        notify_posts=p.bool("notify", False))
    return await _relationship(request, target)


@routes.post("/api/v1/accounts/{id}/unfollow")
@scope("write:follows")
async def unfollow(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    await social.unfollow(ctx(request), request["account"], target)
    return await _relationship(request, target)


@routes.post("/api/v1/accounts/{id}/remove_from_followers")
@scope("write:follows")
async def remove_from_followers(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    row = await Follow.get_or_none(account_id=target.id, target_id=request["account"].id)
    if row is not None:
        await row.delete()
        await ctx(request).emit("follow.removed", follow=row, account=target, target=request["account"])
    return await _relationship(request, target)


@routes.post("/api/v1/accounts/{id}/block")
@scope("write:blocks")
async def block(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    await social.block(ctx(request), request["account"], target)
    return await _relationship(request, target)


@routes.post("/api/v1/accounts/{id}/unblock")
@scope("write:blocks")
async def unblock(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    await social.unblock(ctx(request), request["account"], target)
    return await _relationship(request, target)


@routes.post("/api/v1/accounts/{id}/mute")
@scope("write:mutes")
async def mute(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    p = await read_params(request)
    await social.mute(request["account"], target, p.bool("notifications", True))
    return await _relationship(request, target)


@routes.post("/api/v1/accounts/{id}/unmute")
@scope("write:mutes")
async def unmute(request: web.Request) -> web.Response:
    target = await get_account(path_id(request))
    await social.unmute(request["account"], target)
    return await _relationship(request, target)


@routes.get("/api/v1/follow_requests")
@scope("read:follows")
async def follow_requests(request: web.Request) -> web.Response:
    p = await read_params(request)
    rows = await paginate(FollowRequest.filter(target_id=request["account"].id).prefetch_related("account"), p,
                          page_limit(request, p, 40))
    return paged_json(request, await accounts_many(ctx(request), [r.account for r in rows]), rows)


@routes.post("/api/v1/follow_requests/{id}/authorize")
@scope("write:follows")
async def authorize_request(request: web.Request) -> web.Response:
    requester = await get_account(path_id(request))
    await social.authorize(ctx(request), request["account"], requester.id)
    return await _relationship(request, requester)


@routes.post("/api/v1/follow_requests/{id}/reject")
@scope("write:follows")
async def reject_request(request: web.Request) -> web.Response:
    requester = await get_account(path_id(request))
    await social.reject(ctx(request), request["account"], requester.id)
    return await _relationship(request, requester)


async def _account_list(request: web.Request, model) -> web.Response:
    p = await read_params(request)
    rows = await paginate(model.filter(account_id=request["account"].id).prefetch_related("target"), p,
                          page_limit(request, p, 40))
    return paged_json(request, await accounts_many(ctx(request), [r.target for r in rows]), rows)


@routes.get("/api/v1/blocks")
@scope("read:blocks")
async def blocks(request: web.Request) -> web.Response:
    return await _account_list(request, Block)


@routes.get("/api/v1/mutes")
@scope("read:mutes")
async def mutes(request: web.Request) -> web.Response:
    return await _account_list(request, Mute)


async def _status_list(request: web.Request, model) -> web.Response:
    """Favourites or bookmarks: without deleted posts and those of suspended accounts (an admin's
    suspension, or a suspended domain's), which come back when the suspension is lifted."""
    p = await read_params(request)
    me = request["account"]
    rows = await prepared_page(model, "status_list",
                               lambda me_id: model.filter(account_id=me_id[0], status__deleted_at=None,
                                                          status__account__suspended_at=None).select_related("status"),
                               p, page_limit(request, p), [me.id])
    return paged_json(request, await statuses_json(ctx(request), me, [r.__dict__["_status"] for r in rows]), rows)


@routes.get("/api/v1/favourites")
@on_one_connection
@scope("read:favourites")
async def favourites(request: web.Request) -> web.Response:
    return await _status_list(request, Favourite)


@routes.get("/api/v1/bookmarks")
@on_one_connection
@scope("read:bookmarks")
async def bookmarks(request: web.Request) -> web.Response:
    return await _status_list(request, Bookmark)


@routes.get("/api/v1/preferences")
@scope("read:accounts")
async def preferences(request: web.Request) -> web.Response:
    return web.json_response({"posting:default:visibility": "public", "posting:default:sensitive": False,
                              "posting:default:language": None, "reading:expand:media": "default",
                              "reading:expand:spoilers": False})


@routes.get("/api/v1/followed_tags")
@routes.get("/api/v1/announcements")
@routes.get("/api/v1/domain_blocks")
@routes.get("/api/v1/endorsements")
@routes.get("/api/v1/featured_tags")
@scope("read", optional=True)
async def empty_lists(request: web.Request) -> web.Response:
    """Features clients probe for that this node does not offer yet: an honest empty list."""
    return web.json_response([])

