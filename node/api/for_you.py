"""The For You feed and the signals its player and buttons send.

    GET  /api/v1/vitascope/timelines/for_you         → ranked videos (opaque `cursor`, Link header: later
                                                       pages continue a snapshot of the first page's ranking);
                                                       each carries vitascope.for_you {score, sources, reasons}
    POST /api/v1/vitascope/statuses/:id/view          → {watched_ms, duration_ms, completed}: one play
    POST /api/v1/vitascope/statuses/:id/share         → the viewer shared it (copy link, native share)
    POST /api/v1/vitascope/statuses/:id/not_interested → gone from the viewer's For You; author down-weighted
    GET  /api/v1/vitascope/statuses/:id/why           → why this video (sources, score, reasons)
    GET  /api/v1/vitascope/for_you/preferences        → {more, less, personalized, more_words, less_words}
    PUT  /api/v1/vitascope/for_you/preferences        → change any of more, less, personalized
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlencode

import orjson
from aiohttp import web

from node import for_you, redis_keys
from node.api.common import ctx, feed_page, page_limit, path_id, viewer, visible_status
from node.auth import scope
from node.errors import unprocessable
from node.models import Account, Follow, ForYouPreference, Status
from node.params import Params, read_params
from node.serializers import for_you_json, for_you_preferences_json, why_json
from node.services import for_you as signals
from node.services.parental import personalisation_allowed

routes = web.RouteTableDef()

MAX_PLAY_MS = 3_600_000
MAX_STEERING_CHARS = 500


def _encode_cursor(at: datetime, offset: int, snapshot: str | None) -> str:
    raw = orjson.dumps({"at": int(at.timestamp() * 1000), "o": offset} | ({"s": snapshot} if snapshot else {}))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime, int, str | None]:
    """(the moment the first page was ranked, how many items came before, the snapshot of that
    ranking): later pages continue the first page's order."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        at, offset, snapshot = int(data["at"]), int(data["o"]), data.get("s")
        if offset < 0 or not (snapshot is None or isinstance(snapshot, str) and snapshot.isalnum()
                              and len(snapshot) <= 32):
            raise ValueError
        return datetime.fromtimestamp(at / 1000, timezone.utc), offset, snapshot
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError, OSError,
            AttributeError):
        raise unprocessable("cursor is not valid") from None


async def _continued(request: web.Request, token: str, now: datetime, start: int, stop: int
                     ) -> for_you.Ranking | None:
    """The snapshot a cursor continues (None once expired, or when personalisation was switched
    off since), less what the viewer may no longer get: "not interested" marks, blocks and mutes
    made since apply to the next page at once."""
    node, me = ctx(request), viewer(request)
    if me is None:
        return None
    raw = await node.redis.get(redis_keys.for_you_snapshot(me.id))
    kept, _, raw = (raw or b"").partition(b" ")
    if kept != token.encode():  # expired, or replaced by a newer first page of this viewer
        return None
    ranking = for_you.from_snapshot(raw, start, stop)
    accounts, statuses, personal = await for_you.hidden(node.config, me, now)
    if ranking.personal and not personal:
        return None
    ranking.items = [c if c is not None and c.account_id not in accounts and c.id not in statuses else None
                     for c in ranking.items]
    return ranking


async def _still_visible(me: Account | None, page: list[for_you.Candidate]) -> dict[int, Status]:
    """A snapshot page's statuses still there to show (the ranking checked them when it was made):
    not deleted since, their author not suspended since, and a followers-only one only while the
    viewer still follows its author."""
    rows = {s.id: s for s in await Status.filter(id__in=[c.id for c in page], deleted_at=None,
                                                 account__suspended_at=None)}
    private = {s.account_id for s in rows.values() if s.visibility == "private"}
    if private:
        followed = set(await Follow.filter(account_id=me.id if me else 0, target_id__in=private)
                       .values_list("target_id", flat=True))
        rows = {i: s for i, s in rows.items() if s.visibility != "private" or s.account_id in followed}
    return rows


async def ranked_page(request: web.Request, *, personal: bool, offset: int, limit: int, now: datetime,
                      snapshot: str | None = None, next_url: Callable[[int, str | None], str | None] | None = None
                      ) -> web.Response:
    """One page of the ranking through the feeds' page function (serializer, a teen's daily limit),
    each status with its explanation in `vitascope.for_you`. With a cursor (`next_url`), the
    signed-in viewer's ranking is kept for `for_you.snapshot_seconds` and the later pages read it
    (`snapshot`) instead of ranking again. One snapshot per viewer (a newer first page replaces it),
    none for signed-out visitors (the same public ranking, cheap to rank again): Redis holds at
    most one per account, however often first pages are asked for. Without a snapshot (expired,
    replaced, signed out) a later page is ranked again as of the first page's moment. The snapshot
    is written while the page renders, and awaited before the page (and its cursor) is returned."""
    node, me = ctx(request), viewer(request)
    ranking = await _continued(request, snapshot, now, offset, offset + limit) if snapshot else None
    continued = ranking is not None
    written = None
    if ranking is None:
        ranking = await for_you.rank(node.config, me, now=now, personal=personal)
        snapshot = None
        if me is not None and next_url is not None and offset + limit < len(ranking.items):
            snapshot = secrets.token_hex(12)
            written = asyncio.ensure_future(node.redis.set(
                redis_keys.for_you_snapshot(me.id), snapshot.encode() + b" " + for_you.snapshot(ranking),
                ex=node.config["for_you.snapshot_seconds"]))
    try:
        positions = [i for i in range(offset, min(offset + limit, len(ranking.items))) if ranking.items[i] is not None]
        page = [ranking.items[i] for i in positions]
        rows = (await _still_visible(me, page) if continued
                else {s.id: s for s in await Status.filter(id__in=[c.id for c in page])})
        positions = [i for i in positions if ranking.items[i].id in rows]
        page = [ranking.items[i] for i in positions]

        def after(served: int) -> str | None:
            position = positions[served] if served < len(positions) else offset + limit
            return next_url(position, snapshot) if next_url and position < len(ranking.items) else None

        return await feed_page(request, [rows[c.id] for c in page], context="public", paged=False,
                               next_url=after if next_url else None,
                               vitascope={c.id: {"for_you": for_you_json(c, ranking.weights)} for c in page})
    finally:
        if written is not None:
            await written


@routes.get("/api/v1/vitascope/timelines/for_you")
@scope("read:statuses", optional=True)
async def timeline(request: web.Request) -> web.Response:
    """Signed-out visitors get the non-personal ranking of public videos."""
    p = await read_params(request)
    cursor = p.str("cursor", max_len=200)
    now, offset, snapshot = _decode_cursor(cursor) if cursor else (datetime.now(timezone.utc), 0, None)
    keep = {k: v for k, v in request.query.items() if k != "cursor"}

    def next_url(position: int, snapshot: str | None) -> str:
        return (ctx(request).urls.base + request.path + "?"
                + urlencode({**keep, "cursor": _encode_cursor(now, position, snapshot)}))

    return await ranked_page(request, personal=True, offset=offset, limit=page_limit(request, p), now=now,
                             snapshot=snapshot, next_url=next_url)


def _required_int(p: Params, key: str, minimum: int) -> int:
    value = p.int(key, minimum=minimum, maximum=MAX_PLAY_MS)
    if value is None:
        raise unprocessable(f"{key} is missing")
    return value


@routes.post("/api/v1/vitascope/statuses/{id}/view")
@scope("write:vitascope")
async def view(request: web.Request) -> web.Response:
    """The player reports one play: watch time and whether it reached the end."""
    status = await visible_status(request, path_id(request))
    p = await read_params(request)
    await signals.record_view(request["account"], status, watched_ms=_required_int(p, "watched_ms", 0),
                              duration_ms=_required_int(p, "duration_ms", 1), completed=p.bool("completed", False))
    return web.json_response({})


@routes.post("/api/v1/vitascope/statuses/{id}/share")
@scope("write:vitascope")
async def share(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    await signals.record_share(request["account"], status)
    return web.json_response({})


@routes.post("/api/v1/vitascope/statuses/{id}/not_interested")
@scope("write:vitascope")
async def not_interested(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    await signals.not_interested(request["account"], status)
    return web.json_response({})


@routes.get("/api/v1/vitascope/statuses/{id}/why")
@scope("read:statuses", optional=True)
async def why(request: web.Request) -> web.Response:
    status = await visible_status(request, path_id(request))
    return web.json_response(why_json(await for_you.explain_one(ctx(request).config, viewer(request), status)))


async def _preferences_json(account, pref: ForYouPreference | None) -> dict:
    """The preferences with what they need loaded: the guardian's say and the steering words."""
    return for_you_preferences_json(pref, guardian_allows=await personalisation_allowed(account),
                                    more_words=for_you.words(pref.more if pref else ""),
                                    less_words=for_you.words(pref.less if pref else ""))


@routes.get("/api/v1/vitascope/for_you/preferences")
@scope("read:vitascope")
async def get_preferences(request: web.Request) -> web.Response:
    account = request["account"]
    return web.json_response(await _preferences_json(account, await ForYouPreference.get_or_none(account_id=account.id)))


@routes.put("/api/v1/vitascope/for_you/preferences")
@scope("write:vitascope")
async def put_preferences(request: web.Request) -> web.Response:
    """Plain words to see more and less of, and personalisation on or off; what is left out stays."""
    p = await read_params(request)
    pref = await signals.set_preferences(
        request["account"], more=p.str("more", max_len=MAX_STEERING_CHARS),
        less=p.str("less", max_len=MAX_STEERING_CHARS), personalized=p.bool("personalized"))
    return web.json_response(await _preferences_json(request["account"], pref))
