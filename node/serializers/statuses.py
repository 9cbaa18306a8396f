"""Statuses (Mastodon's Status, StatusEdit, StatusSource, ScheduledStatus). Pages of statuses are
rendered with a fixed number of batched look-ups by key (accounts, media, counts, the viewer's
relations), whatever the page size, never one query per row per field."""

from __future__ import annotations

from typing import Any, Iterable

from tortoise import connections

from node import prepared
from node.context import Node
from node.media.access import shown_publicly
from node.models import Account, MediaAttachment, Status, StatusEdit
from node.serializers.accounts import account_counts, account_json, counts_of, moved_targets
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
        the statuses' own, for a page that shows other accounts too (notifications)."""
        originals = {o.id: o for o in await prepared.models(
            Status, "render.originals", lambda i: Status.filter(id__in=i), list({s.reblog_of_id for s in statuses if s.reblog_of_id}))}
        self.originals = originals
        everything = {s.id: s for s in statuses} | originals
        ids = list(everything)
        wanted = list({s.account_id for s in everything.values()} | set(also_accounts))
        self.account_rows = {a.id: a for a in await prepared.models(
            Account, "render.accounts", lambda i: Account.filter(id__in=i), wanted)}
        targets = await moved_targets(list(self.account_rows.values()))
        self.media: dict[int, list] = {i: [] for i in ids}
        for m in await prepared.models(MediaAttachment, "render.media",
                                       lambda i: MediaAttachment.filter(status_id__in=i).order_by("id"), ids):
            self.media[m.status_id].append(media_json(self.node, m, public=shown_publicly(everything[m.status_id])))
        details = await _page_details(self.viewer, ids, list(self.account_rows), list(self.account_rows.keys() | targets))
        account_stats: dict[int, tuple[int, int, int]] = {}
        self.mentions: dict[int, list] = {i: [] for i in ids}
        self.tags: dict[int, list] = {i: [] for i in ids}
        self.stats: dict[int, dict[str, int]] = {}
        self.favourited, self.reblogged, self.bookmarked, self.muted = set(), set(), set(), set()
        marks = {"f": self.favourited, "r": self.reblogged, "b": self.bookmarked}
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
            elif kind == "account":
                account_stats[row["a"]] = (row["p"], row["r"], row["f"])
            elif kind == "m":
                self.muted.add(int(row["a"]))
            else:
                marks[kind].add(int(row["s"]))
        counts = counts_of(list(self.account_rows.values()), targets, account_stats)
        self.accounts = {aid: account_json(self.node, a, counts[aid]) for aid, a in self.account_rows.items()}
        rendered = [self._one(s) for s in statuses]
        if self.viewer is None:
            return rendered
        active = await ActiveFilters.load(self.viewer.id, ids)
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


async def _page_details(viewer: Account | None, status_ids: list[int], account_ids: list[int],
                        counted: list[int]) -> list[dict[str, Any]]:
    """One statement for what a page shows besides its accounts and media: the statuses' mentions and
    tags (each in id order), their counts, the counts of the `counted` accounts (account_stats:
    followers p, following r, statuses f), and with a viewer which of these statuses it favourited
    (f), reblogged (r), bookmarked (b) and which of these accounts it muted (m). Rows by kind `k`:
    s the status, a the account, n d u v texts, p r f x counts. The ids are integers of ours, written in
    the SQL; the first branch types every column (PostgreSQL resolves a UNION pairwise: two NULLs
    would make text)."""
    ids = ",".join(str(int(i)) for i in status_ids) or "NULL"
    sql = (
        "SELECT 'mention' AS k, m.id AS o, m.status_id AS s, m.account_id AS a, a.username AS n, a.domain AS d, "
        "a.url AS u, a.uri AS v, CAST(NULL AS BIGINT) AS p, CAST(NULL AS BIGINT) AS r, CAST(NULL AS BIGINT) AS f, "
        "CAST(NULL AS BIGINT) AS x "
        f"FROM mentions m JOIN accounts a ON a.id = m.account_id WHERE m.status_id IN ({ids}) "
        "UNION ALL SELECT 'tag', st.id, st.status_id, NULL, t.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
        f"FROM status_tags st JOIN tags t ON t.id = st.tag_id WHERE st.status_id IN ({ids}) "
        "UNION ALL SELECT 'stats', NULL, id, NULL, NULL, NULL, NULL, NULL, "
        f"replies_count, reblogs_count, favourites_count, remixes_count FROM status_stats WHERE id IN ({ids}) "
        "UNION ALL SELECT 'account', NULL, NULL, id, NULL, NULL, NULL, NULL, followers_count, following_count, "
        f"statuses_count, NULL FROM account_stats WHERE id IN ({','.join(str(int(i)) for i in counted) or 'NULL'})")
    if viewer is not None:
        me = int(viewer.id)
        accounts = ",".join(str(int(i)) for i in account_ids) or "NULL"
        nothing = ", ".join(["NULL"] * 8)  # n d u v p r f x
        sql += (
            f" UNION ALL SELECT 'f', NULL, status_id, NULL, {nothing} FROM favourites "
            f"WHERE account_id = {me} AND status_id IN ({ids}) "
            f"UNION ALL SELECT 'r', NULL, reblog_of_id, NULL, {nothing} FROM statuses "
            f"WHERE account_id = {me} AND reblog_of_id IN ({ids}) AND deleted_at IS NULL "
            f"UNION ALL SELECT 'b', NULL, status_id, NULL, {nothing} FROM bookmarks "
            f"WHERE account_id = {me} AND status_id IN ({ids}) "
            f"UNION ALL SELECT 'm', NULL, NULL, target_id, {nothing} FROM mutes "
            f"WHERE account_id = {me} AND target_id IN ({accounts})")
    _, rows = await connections.get("default").execute_query(sql + " ORDER BY k, o")
    return rows


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
