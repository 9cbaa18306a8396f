"""Statuses (Mastodon's Status, StatusEdit, StatusSource, ScheduledStatus). Pages of statuses are
rendered with one statement of look-ups by key (accounts, media, counts, the viewer's relations),
whatever the page size, never one query per row per field."""

from __future__ import annotations

import functools
from operator import itemgetter
from typing import Any, Iterable

from tortoise import connections

from node import prepared
from node.context import Node
from node.db import fetch
from node.media.access import shown_publicly
from node.models import Account, MediaAttachment, Status, StatusEdit
from node.serializers.accounts import account_counts, account_json, counts_of, live_targets
from node.serializers.common import iso
from node.serializers.filters import ActiveFilters, apply_filters
from node.serializers.media import media_json


class StatusRenderer:
    """Renders a page of statuses for one viewer: one batched look-up per kind of thing the page
    shows, run whether or not the page has any (so a page's statements never depend on its size
    or content).

    The viewer's filters are matched here, once per page: each status carries its FilterResults in
    `filtered`, and with a `context` (home, notifications, public, thread, account) the statuses a
    `hide` filter of that context matches are left out (never the viewer's own)."""

    def __init__(self, node: Node, viewer: Account | None, context: str | None = None):
        self.node = node
        self.viewer = viewer
        self.context = context

    async def render(self, statuses: list[Status], also_accounts: Iterable[int] = ()) -> list[dict[str, Any]]:
        """The statuses as JSON; `also_accounts` are loaded and rendered (into `self.accounts`) with
        the statuses' own, for a page that shows other accounts too (notifications).

        The originals come first, unless the page's own statement read them (`select_related(
        "reblog_of")`, one round trip less) or its list holds no boosts; everything else the page
        shows comes in one statement driven by their ids and the page's (`_page_details`)."""
        reblogged = list({s.reblog_of_id for s in statuses if s.reblog_of_id})
        ids = list({s.id: None for s in statuses} | dict.fromkeys(reblogged))
        if all("_reblog_of" in s.__dict__ for s in statuses):  # read with the page (select_related)
            originals = list({o.id: o for s in statuses if (o := s.__dict__["_reblog_of"]) is not None}.values())
        else:
            originals = await prepared.models(Status, "render.originals", lambda i: Status.filter(id__in=i), reblogged)
        authors = list({s.account_id for s in (*statuses, *originals)} | set(also_accounts))
        details, accounts, account_stats, media = await _page_details(self.viewer, ids, authors)
        self.originals = {o.id: o for o in originals}
        everything = {s.id: s for s in statuses} | self.originals
        wanted = {s.account_id for s in everything.values()} | set(also_accounts)
        self.account_rows = {i: accounts[i] for i in wanted if i in accounts}
        targets = live_targets(self.account_rows.values(), accounts)
        self.media: dict[int, list] = {i: [] for i in everything}
        for m in media:
            if m.status_id in everything:
                self.media[m.status_id].append(media_json(self.node, m, public=shown_publicly(everything[m.status_id])))
        self.mentions: dict[int, list] = {i: [] for i in ids}
        self.tags: dict[int, list] = {i: [] for i in ids}
        self.stats: dict[int, dict[str, int]] = {}
        self.favourited, self.reblogged, self.bookmarked, self.muted = set(), set(), set(), set()
        marks = {"f": self.favourited, "r": self.reblogged, "b": self.bookmarked}
        filters: list[dict[str, Any]] = []
        keywords: list[dict[str, Any]] = []
        filtered: list[dict[str, Any]] = []
        for row in details:
            kind = row["k"]
            if kind == "mention":
                name, domain = row["n"], row["d"]
                self.mentions[row["s"]].append({"id": str(row["a"]), "username": name, "url": row["u"] or row["v"],
                                                "acct": name if domain is None else f"{name}@{domain}"})
            elif kind == "tag":
                self.tags[row["s"]].append({"name": row["n"], "url": self.node.urls.tag(row["n"])})
            elif kind == "stats":
                self.stats[row["s"]] = {"replies_count": row["p"], "reblogs_count": row["r"],
                                        "favourites_count": row["f"], "remixes_count": row["x"]}
            elif kind == "m":
                self.muted.add(int(row["a"]))
            elif kind == "filter":
                filters.append(row)
            elif kind == "keyword":
                keywords.append(row)
            elif kind == "filtered":
                filtered.append(row)
            else:
                marks[kind].add(int(row["s"]))
        counts = counts_of(list(self.account_rows.values()), targets, account_stats)
        self.accounts = {aid: account_json(self.node, a, counts[aid]) for aid, a in self.account_rows.items()}
        rendered = [self._one(s) for s in statuses]
        if self.viewer is None:
            return rendered
        active = ActiveFilters.from_rows(
            [(r["o"], r["n"], r["u"], r["d"], r["t"]) for r in filters],
            [(r["a"], r["n"], bool(r["p"])) for r in keywords], [(r["a"], r["s"]) for r in filtered])
        return apply_filters(active, rendered, self.context, self.viewer.id)

    def _one(self, s: Status) -> dict[str, Any]:
        reblog = self._one(self.originals[s.reblog_of_id]) if s.reblog_of_id in self.originals else None
        account = self.account_rows[s.account_id]
        username = account.username
        stats = self.stats.get(s.id, {})
        return {
            "id": str(s.id),
            "uri": s.uri,
            "url": s.url or (self.node.urls.status_page(username, s.id) if s.local else s.uri),
            "created_at": iso(s.created_at),
            "account": self.accounts[s.account_id],
            "content": "" if reblog else s.content,
            "visibility": s.visibility,
            # A sensitized account's media show as sensitive to all but itself (as Mastodon).
            "sensitive": s.sensitive or (account.sensitized_at is not None
                                         and (self.viewer is None or self.viewer.id != s.account_id)),
            "spoiler_text": s.spoiler_text,
            "media_attachments": [] if reblog else self.media[s.id],
            "application": None,
            "mentions": self.mentions[s.id],
            "tags": self.tags[s.id],
            "emojis": [],
            "reblogs_count": stats.get("reblogs_count", 0),
            "favourites_count": stats.get("favourites_count", 0),
            "replies_count": stats.get("replies_count", 0),
            "edited_at": iso(s.edited_at),
            "in_reply_to_id": str(s.in_reply_to_id) if s.in_reply_to_id else None,
            "in_reply_to_account_id": str(s.in_reply_to_account_id) if s.in_reply_to_account_id else None,
            "reblog": reblog,
            "poll": None,
            "card": None,
            "language": s.language,
            "favourited": s.id in self.favourited,
            "reblogged": s.id in self.reblogged,
            "muted": s.account_id in self.muted,
            "bookmarked": s.id in self.bookmarked,
            "pinned": False,
            "filtered": [],
            "vitascope": {
                "remixable": s.remixable,
                "remix_of_id": str(s.remix_of_id) if s.remix_of_id else None,
                "remix_of_uri": s.remix_of_uri,
                "remixes_count": stats.get("remixes_count", 0),
            },
        }


# The columns of a page's details statement (`_page_details`): k the kind of row, o its order within
# the kind, s a status, a an account (or a filter), n d u v texts, p r f x counts, t a time; then
# every column of an account (`account` rows) and of a media attachment (`media` rows).
_DETAIL_TYPES = {"k": "TEXT", "o": "BIGINT", "s": "BIGINT", "a": "BIGINT", "n": "TEXT", "d": "TEXT", "u": "TEXT",
                 "v": "TEXT", "p": "BIGINT", "r": "BIGINT", "f": "BIGINT", "x": "BIGINT",
                 "t": "TIMESTAMP WITH TIME ZONE"}
_WHOLE = {Account: "w", MediaAttachment: "y"}  # the prefixes of their columns: w_id, y_status_id, …


@functools.cache
def _whole_columns(model) -> tuple[str, ...]:
    return tuple(model._meta.fields_db_projection.values())


@functools.cache
def _columns() -> tuple[str, ...]:
    return (*_DETAIL_TYPES, *(f"{prefix}_{c}" for model, prefix in _WHOLE.items() for c in _whole_columns(model)))


def _branch(kind: str, source: str, *, named: bool = False, **columns: str) -> str:
    """One SELECT of the details statement: `columns` by name, NULL for the others; `named`: each
    value given its column's name (SQLite names a UNION's columns after its first branch)."""
    values = [f"'{kind}'", *(columns.get(name, "NULL") for name in _columns()[1:])]
    if named:
        values = [f"{value} AS {name}" for value, name in zip(values, _columns())]
    return f"SELECT {', '.join(values)} FROM {source}"


def _whole(model, alias: str) -> dict[str, str]:
    """Every column of `model`'s table aliased `alias`, as the details statement names them."""
    return {f"{_WHOLE[model]}_{c}": f"{alias}.{c}" for c in _whole_columns(model)}


def _typed_header() -> str:
    """PostgreSQL: the statement's first branch, which returns no row and gives every column its
    name and type (a UNION resolves its types pairwise: two NULLs would make text); the account and
    media columns take their models' types."""
    typed = [f"CAST(NULL AS {t}) AS {name}" for name, t in _DETAIL_TYPES.items()]
    for model, prefix in _WHOLE.items():
        fields = {column: model._meta.fields_map[name] for name, column in model._meta.fields_db_projection.items()}
        typed += [f"CAST(NULL AS {field.get_for_dialect('postgres', 'SQL_TYPE')}) AS {prefix}_{column}"
                  for column, field in fields.items()]
    return f"SELECT {', '.join(typed)} WHERE FALSE"


_sql: dict[bool, str] = {}  # PostgreSQL: the statement's text, with and without a viewer (one each)


async def _page_details(viewer: Account | None, status_ids: list[int], account_ids: list[int]
                        ) -> tuple[list, dict[int, Account], dict[int, tuple[int, int, int]], list[MediaAttachment]]:
    """One statement for everything a page shows besides its statuses (one round trip, not three):
    the page's accounts and the accounts they moved to (deleted and suspended ones included: the
    caller keeps only live ones, `live_targets`) and their counts, the statuses' media, mentions
    and tags (each in id order), their counts, and with a viewer which of these statuses it
    favourited (f), reblogged (r), bookmarked (b), which of these accounts it muted (m), and its
    filters (filter: id o, title n, action d, context u, expiry t), their keywords (keyword:
    filter a, keyword n, whole word p) and which of these statuses they name (filtered: filter a,
    status s). Each branch starts from the page's ids, so none reads more of its table as the
    table grows.

    Returns the other rows (by kind, in order), the accounts by id, their counts by id (followers,
    following, statuses), and the media in id order."""
    db = connections.get("default")
    q = prepared.Values(db)
    ids = q.among("ids", status_ids)
    accounts = q.among("accounts", account_ids)
    me = q.one("me", viewer.id) if viewer is not None else None
    if not q.pg or (sql := _sql.get(me is not None)) is None:
        sql = _details_sql(ids, accounts, me, typed=q.pg)
        if q.pg:
            _sql[me is not None] = sql
    rows = await fetch(db, sql, q.values)
    details, found, counts, media = [], {}, {}, []
    account_at, media_at = len(_DETAIL_TYPES), len(_DETAIL_TYPES) + len(_whole_columns(Account))
    for row in rows:
        kind = row[0]
        if kind == "account":
            found[row[account_at]] = row[account_at:media_at]
        elif kind == "counts":  # an account without them counts zeros (counts_of)
            counts[row["a"]] = (row["p"], row["r"], row["f"])
        elif kind == "media":
            media.append(row[media_at:])
        else:
            details.append(row)
    # In order here, not by the statement: sorting there would sort its every (wide) row.
    details.sort(key=_kind_and_order)
    media.sort(key=itemgetter(0))
    shown = prepared.instances(db, Account, _whole_columns(Account), list(found.values()))
    return (details, {a.id: a for a in shown}, counts,
            prepared.instances(db, MediaAttachment, _whole_columns(MediaAttachment), media))


def _kind_and_order(row) -> tuple:
    return row[0], row[1] or 0


def _details_sql(ids: str, accounts: str, me: str | None, *, typed: bool) -> str:
    counted = {"a": "x.id", "p": "x.followers_count", "r": "x.following_count", "f": "x.statuses_count"}
    branches = [_typed_header()] if typed else []
    branches += [
        # The page's accounts and whom they moved to: two branches, each read off a primary key (an
        # OR of IN subqueries would make PostgreSQL read the whole accounts table).
        _branch("account", f"accounts a WHERE a.id {accounts}", named=not typed, o="a.id", **_whole(Account, "a")),
        _branch("account", f"accounts a JOIN accounts t ON t.id = a.moved_to_id WHERE a.id {accounts}", o="t.id",
                **_whole(Account, "t")),
        _branch("media", f"media_attachments m WHERE m.status_id {ids}", o="m.id", **_whole(MediaAttachment, "m")),
        _branch("mention", f"mentions m JOIN accounts a ON a.id = m.account_id WHERE m.status_id {ids}",
                o="m.id", s="m.status_id", a="m.account_id", n="a.username", d="a.domain", u="a.url", v="a.uri"),
        _branch("tag", f"status_tags st JOIN tags t ON t.id = st.tag_id WHERE st.status_id {ids}",
                o="st.id", s="st.status_id", n="t.name"),
        _branch("stats", f"status_stats WHERE id {ids}", s="id", p="replies_count", r="reblogs_count",
                f="favourites_count", x="remixes_count"),
        # Their counts (account_stats: followers p, following r, statuses f), driven from the
        # page's ids the same way (joined to the accounts above, PostgreSQL hashed account_stats).
        _branch("counts", f"account_stats x WHERE x.id {accounts}", **counted),
        _branch("counts", f"accounts a JOIN account_stats x ON x.id = a.moved_to_id WHERE a.id {accounts}", **counted),
    ]
    if me is not None:
        mine = f"custom_filters cf ON cf.id = {{}}.custom_filter_id AND cf.account_id = {me}"
        branches += [
            _branch("f", f"favourites WHERE account_id = {me} AND status_id {ids}", s="status_id"),
            _branch("r", f"statuses WHERE account_id = {me} AND reblog_of_id {ids} AND deleted_at IS NULL",
                    s="reblog_of_id"),
            _branch("b", f"bookmarks WHERE account_id = {me} AND status_id {ids}", s="status_id"),
            _branch("m", f"mutes WHERE account_id = {me} AND target_id {accounts}", a="target_id"),
            _branch("filter", f"custom_filters WHERE account_id = {me}", o="id", n="title", d="action",
                    u="CAST(context AS TEXT)", t="expires_at"),
            _branch("keyword", "custom_filter_keywords kw JOIN " + mine.format("kw"), o="kw.id",
                    a="kw.custom_filter_id", n="kw.keyword", p="CAST(kw.whole_word AS INTEGER)"),
            _branch("filtered", "custom_filter_statuses fs JOIN " + mine.format("fs") + f" WHERE fs.status_id {ids}",
                    o="fs.id", a="fs.custom_filter_id", s="fs.status_id"),
        ]
    return " UNION ALL ".join(branches)


async def statuses_json(node: Node, viewer: Account | None, statuses: list[Status], *,
                        context: str | None = None) -> list[dict[str, Any]]:
    """A page of statuses; with a filter `context`, without those the viewer's `hide` filters remove."""
    return await StatusRenderer(node, viewer, context).render(statuses)


async def status_json(node: Node, viewer: Account | None, status: Status) -> dict[str, Any]:
    return (await statuses_json(node, viewer, [status]))[0]


async def status_edits_json(node: Node, status: Status) -> list[dict[str, Any]]:
    """`GET /history`: Mastodon's StatusEdit list, oldest first; a status never edited has one
    entry, itself. Media show as they were then (with that revision's descriptions)."""
    edits = await StatusEdit.filter(status_id=status.id).order_by("id").prefetch_related("account")
    if not edits:
        media = await MediaAttachment.filter(status_id=status.id).order_by("id")
        edits = [StatusEdit(status_id=status.id, account=await status.account, text=status.text, content=status.content,
                            spoiler_text=status.spoiler_text, sensitive=status.sensitive,
                            created_at=status.edited_at or status.created_at, media_ids=[m.id for m in media],
                            media_descriptions=[m.description for m in media])]
    wanted = {mid for edit in edits for mid in edit.media_ids}
    media_by_id = {m.id: m for m in await MediaAttachment.filter(id__in=wanted)} if wanted else {}
    editors = {edit.account_id: edit.account for edit in edits}
    counts = await account_counts(editors.values())
    accounts = {aid: account_json(node, a, counts[aid]) for aid, a in editors.items()}
    public = shown_publicly(status)  # media removed by an edit is no longer the post's: private
    out = []
    for edit in edits:
        descriptions = list(edit.media_descriptions or []) + [""] * len(edit.media_ids)
        out.append({
            "content": edit.content,
            "spoiler_text": edit.spoiler_text,
            "sensitive": edit.sensitive,
            "created_at": iso(edit.created_at),
            "account": accounts[edit.account_id],
            "media_attachments": [{**media_json(node, media_by_id[mid], public=public and media_by_id[mid].status_id == status.id),
                                   "description": descriptions[i] or None}
                                  for i, mid in enumerate(edit.media_ids) if mid in media_by_id],
            "emojis": [],
        })
    return out


async def scheduled_status_json(node: Node, row) -> dict[str, Any]:
    """Mastodon's ScheduledStatus: when, what will be posted, and its media."""
    ids = [int(m) for m in row.params.get("media_ids") or []]
    media = {m.id: m for m in await MediaAttachment.filter(id__in=ids)} if ids else {}
    params = {"text": "", "poll": None, "media_ids": [], "sensitive": False, "spoiler_text": "", "visibility": "public",
              "in_reply_to_id": None, "language": None, "application_id": None, "scheduled_at": None,
              "idempotency": None, "with_rate_limit": False, **row.params}
    params["visibility"] = params["visibility"] or "public"
    return {"id": str(row.id), "scheduled_at": iso(row.scheduled_at), "params": params,
            "media_attachments": [media_json(node, media[i]) for i in ids if i in media]}


def status_source_json(status: Status) -> dict[str, Any]:
    """`GET /source`: what an edit starts from. Remote posts have no source: their HTML, as Mastodon."""
    return {"id": str(status.id), "text": status.text if status.local else status.content,
            "spoiler_text": status.spoiler_text}
