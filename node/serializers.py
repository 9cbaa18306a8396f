"""Internal models → Mastodon 4.x API JSON. Pages of statuses are rendered with a fixed number of
batched look-ups by key (accounts, media, counts, the viewer's relations), whatever the page size,
never one query per row per field."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Any, Iterable

from tortoise import connections

from node.context import Node
from node.media.access import media_url, shown_publicly
from node.models import (Account, Block, Conversation, Filter, FilterKeyword, FilterStatus, Follow,
                         FollowRequest, MediaAttachment, Mention, Mute, Notification, Status, StatusEdit, StatusTag,
                         UserList)
from node.models.stats import AccountStats, StatusStats
from node.services.filters import ActiveFilters, hides
from node.text import html_to_text


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _media_url(node: Node, path: str | None, remote: str | None, default: str) -> str:
    if path:
        return node.urls.media(path)
    return remote or f"{node.urls.base}{default}"


async def account_counts(accounts: Iterable[Account]) -> dict[int, dict[str, Any]]:
    """Per account: its counts and, for an account that moved, `moved`: (the account it moved to,
    that account's counts) — what `account_json` renders, in a fixed number of queries. The counts
    are read from account_stats, which the database keeps (node.models.stats)."""
    accounts = list(accounts)
    moved_ids = {a.moved_to_id for a in accounts if a.moved_to_id}
    targets = {t.id: t for t in await Account.filter(id__in=moved_ids, deleted_at=None, suspended_at=None)}
    ids = list({a.id for a in accounts} | set(targets))
    out: dict[int, dict[str, Any]] = {i: {"followers": 0, "following": 0, "statuses": 0} for i in ids}
    for account in accounts:
        if account.moved_to_id in targets:
            out[account.id]["moved"] = (targets[account.moved_to_id], out[account.moved_to_id])
    if not ids:
        return out
    for row in await AccountStats.filter(id__in=ids).values("id", "followers_count", "following_count", "statuses_count"):
        out[row["id"]].update(followers=row["followers_count"], following=row["following_count"],
                              statuses=row["statuses_count"])
    return out


def account_json(node: Node, account: Account, counts: dict[str, Any] | None = None) -> dict[str, Any]:
    counts = counts or {"followers": 0, "following": 0, "statuses": 0}
    avatar = _media_url(node, account.avatar_path, account.avatar_remote_url, "/static/avatar.png")
    header = _media_url(node, account.header_path, account.header_remote_url, "/static/header.png")
    created = account.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
    data = {
        "id": str(account.id),
        "username": account.username,
        "acct": account.acct(),
        "display_name": account.display_name,
        "locked": account.locked,
        "bot": account.bot,
        "discoverable": account.discoverable,
        "indexable": account.discoverable,
        "group": account.actor_type == "Group",
        "created_at": iso(created),
        "note": account.note,
        "url": account.url or account.uri,
        "uri": account.uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": counts["followers"],
        "following_count": counts["following"],
        "statuses_count": counts["statuses"],
        "last_status_at": account.last_status_at.date().isoformat() if account.last_status_at else None,
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [{"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None}
                   for f in (account.fields_json or [])],
    }
    if "moved" in counts:  # as Mastodon: the account it moved to, itself rendered without `moved`
        target, target_counts = counts["moved"]
        data["moved"] = account_json(node, target, {k: v for k, v in target_counts.items() if k != "moved"})
    return data


async def account_one(node: Node, account: Account) -> dict[str, Any]:
    counts = await account_counts([account])
    return account_json(node, account, counts[account.id])


async def accounts_many(node: Node, accounts: list[Account]) -> list[dict[str, Any]]:
    counts = await account_counts(accounts)
    return [account_json(node, a, counts[a.id]) for a in accounts]


async def credential_account(node: Node, account: Account) -> dict[str, Any]:
    """verify_credentials: the account plus its editable source."""
    data = await account_one(node, account)
    requests = await FollowRequest.filter(target_id=account.id).count()
    user = await account.user
    data["source"] = {
        "privacy": "public",
        "sensitive": False,
        "language": user.locale if user else "",
        "note": _note_source(account.note),
        "fields": [{"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None}
                   for f in (account.fields_json or [])],
        "follow_requests_count": requests,
        "hide_collections": False,
        "discoverable": account.discoverable,
        "indexable": account.discoverable,
    }
    data["role"] = {"id": "3" if user and user.admin else "-99", "name": "Admin" if user and user.admin else "",
                    "permissions": "1" if user and user.admin else "0", "color": "", "highlighted": bool(user and user.admin)}
    return data


def _note_source(note_html: str) -> str:
    from node.text import html_to_text

    return html_to_text(note_html)


def media_json(node: Node, media: MediaAttachment, *, public: bool = False) -> dict[str, Any]:
    """``public``: attached to a public or unlisted post (plain URLs); otherwise the URLs are signed
    for the viewer this is rendered for, who may see the media (node.media.access)."""
    url = media_url(node, media.file_path, public=public) if media.file_path else media.remote_url
    preview = media_url(node, media.preview_path, public=public) if media.preview_path else media.preview_remote_url
    original: dict[str, Any] = {}
    if media.width and media.height:
        original = {"width": media.width, "height": media.height, "size": f"{media.width}x{media.height}",
                    "aspect": round(media.width / media.height, 6)}
    if media.duration is not None:
        original["duration"] = round(media.duration, 3)
    if media.fps:
        original["frame_rate"] = f"{round(media.fps)}/1"
    if media.duration and media.file_size:
        original["bitrate"] = int(media.file_size * 8 / media.duration)
    meta: dict[str, Any] = {"focus": {"x": media.focus_x, "y": media.focus_y}}
    if original:
        meta["original"] = original
        meta["small"] = {k: v for k, v in original.items() if k in ("width", "height", "size", "aspect")}
    if media.has_audio:
        meta["audio_channels"] = "stereo"
    return {
        "id": str(media.id),
        "type": media.type,
        "url": url,
        "preview_url": preview,
        "remote_url": media.remote_url if media.file_path is None else None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description or None,
        "blurhash": media.blurhash,
        "provenance": media.provenance,
    }


def application_json(app) -> dict[str, Any] | None:
    if app is None:
        return None
    return {"name": app.name, "website": app.website}


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
        originals = {o.id: o for o in await Status.filter(id__in={s.reblog_of_id for s in statuses if s.reblog_of_id})}
        self.originals = originals
        everything = {s.id: s for s in statuses} | originals
        ids = list(everything)
        wanted = {s.account_id for s in everything.values()} | set(also_accounts)
        self.account_rows = {a.id: a for a in await Account.filter(id__in=wanted)}
        counts = await account_counts(self.account_rows.values())
        self.accounts = {aid: account_json(self.node, a, counts[aid]) for aid, a in self.account_rows.items()}
        self.media: dict[int, list] = {i: [] for i in ids}
        for m in await MediaAttachment.filter(status_id__in=ids).order_by("id"):
            self.media[m.status_id].append(media_json(self.node, m, public=shown_publicly(everything[m.status_id])))
        self.mentions: dict[int, list] = {i: [] for i in ids}
        for m in await Mention.filter(status_id__in=ids).order_by("id").values(
                "status_id", "account_id", "account__username", "account__domain", "account__url", "account__uri"):
            name, domain = m["account__username"], m["account__domain"]
            self.mentions[m["status_id"]].append({"id": str(m["account_id"]), "username": name,
                                                  "url": m["account__url"] or m["account__uri"],
                                                  "acct": name if domain is None else f"{name}@{domain}"})
        self.tags: dict[int, list] = {i: [] for i in ids}
        for st in await StatusTag.filter(status_id__in=ids).order_by("id").values("status_id", "tag__name"):
            self.tags[st["status_id"]].append({"name": st["tag__name"], "url": self.node.urls.tag(st["tag__name"])})
        self.stats = {row["id"]: row for row in await StatusStats.filter(id__in=ids).values()}
        marks = await _viewer_marks(self.viewer, ids, list(self.account_rows))
        self.favourited, self.reblogged, self.bookmarked, self.muted = (marks[k] for k in "frbm")
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


def status_ids_of(statuses: list[dict[str, Any]]) -> list[int]:
    """The ids of rendered statuses and of those they reblog (what status filters are looked up by)."""
    ids = []
    for s in statuses:
        ids.append(int(s["id"]))
        if s.get("reblog"):
            ids.append(int(s["reblog"]["id"]))
    return ids


def apply_filters(active: ActiveFilters, statuses: list[dict[str, Any]], context: str | None,
                  viewer_id: int) -> list[dict[str, Any]]:
    """Set `filtered` (FilterResults) on rendered statuses, and on the statuses they reblog, and leave
    out those a `hide` filter of `context` removes (never the viewer's own). Used on every page of
    statuses and on every status a stream sends, so both filter alike."""
    if not active.rules:
        return statuses
    kept = []
    for s in statuses:
        proper = s.get("reblog") or s
        text = "\n\n".join([proper.get("spoiler_text") or "", html_to_text(proper.get("content") or "")]
                            + [m.get("description") or "" for m in proper.get("media_attachments") or []])
        matches = active.match(text, [int(s["id"])] + ([int(proper["id"])] if proper is not s else []))
        if matches and hides(matches, context) and proper["account"]["id"] != str(viewer_id):
            continue
        results = [{"filter": filter_json(f), "keyword_matches": kw, "status_matches": st} for f, kw, st in matches]
        s["filtered"] = results
        if proper is not s:
            proper["filtered"] = results
        kept.append(s)
    return kept


async def _viewer_marks(viewer: Account | None, status_ids: list[int], account_ids: list[int]) -> dict[str, set[int]]:
    """Which of these statuses the viewer favourited (f), reblogged (r), bookmarked (b), and which of
    these accounts it muted (m): one statement. The ids are integers of ours, written in the SQL."""
    marks: dict[str, set[int]] = {k: set() for k in "frbm"}
    if viewer is None:
        return marks
    me = int(viewer.id)
    ids = ",".join(str(int(i)) for i in status_ids) or "NULL"
    accounts = ",".join(str(int(i)) for i in account_ids) or "NULL"
    _, rows = await connections.get("default").execute_query(
        f"SELECT 'f' AS k, status_id AS id FROM favourites WHERE account_id = {me} AND status_id IN ({ids}) "
        f"UNION ALL SELECT 'r', reblog_of_id FROM statuses WHERE account_id = {me} AND reblog_of_id IN ({ids}) "
        f"AND deleted_at IS NULL "
        f"UNION ALL SELECT 'b', status_id FROM bookmarks WHERE account_id = {me} AND status_id IN ({ids}) "
        f"UNION ALL SELECT 'm', target_id FROM mutes WHERE account_id = {me} AND target_id IN ({accounts})")
    for row in rows:
        marks[row["k"]].add(int(row["id"]))
    return marks


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


async def relationships(viewer: Account, targets: list[Account]) -> list[dict[str, Any]]:
    ids = [t.id for t in targets]
    following = {f.target_id: f for f in await Follow.filter(account_id=viewer.id, target_id__in=ids)}
    followed_by = set(await Follow.filter(target_id=viewer.id, account_id__in=ids).values_list("account_id", flat=True))
    requested = set(await FollowRequest.filter(account_id=viewer.id, target_id__in=ids).values_list("target_id", flat=True))
    requested_by = set(await FollowRequest.filter(target_id=viewer.id, account_id__in=ids).values_list("account_id", flat=True))
    blocking = set(await Block.filter(account_id=viewer.id, target_id__in=ids).values_list("target_id", flat=True))
    blocked_by = set(await Block.filter(target_id=viewer.id, account_id__in=ids).values_list("account_id", flat=True))
    mutes = {m.target_id: m for m in await Mute.filter(account_id=viewer.id, target_id__in=ids)}
    return [{
        "id": str(t.id),
        "following": t.id in following,
        "showing_reblogs": following[t.id].show_reblogs if t.id in following else False,
        "notifying": following[t.id].notify if t.id in following else False,
        "languages": None,
        "followed_by": t.id in followed_by,
        "blocking": t.id in blocking,
        "blocked_by": t.id in blocked_by,
        "muting": t.id in mutes,
        "muting_notifications": mutes[t.id].notifications if t.id in mutes else False,
        "requested": t.id in requested,
        "requested_by": t.id in requested_by,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    } for t in targets]


GROUPABLE = ("favourite", "reblog", "follow", "admin.sign_up")
GROUP_SPAN_HOURS = 12  # Mastodon's MAXIMUM_GROUP_SPAN_HOURS


def group_key(n: Notification) -> str:
    """Mastodon's grouping: favourites and boosts of one status, and follows (sign-ups), made within
    the same 12-hour window share a group; everything else is a group of one. Derived from the row,
    so a key names its members without being stored."""
    if n.type in ("favourite", "reblog") and n.status_id:
        prefix = f"{n.type}-{n.status_id}"
    elif n.type in ("follow", "admin.sign_up"):
        prefix = n.type
    else:
        return f"ungrouped-{n.id}"
    hours = int(n.created_at.timestamp()) // 3600
    return f"{prefix}-{hours - hours % GROUP_SPAN_HOURS}"


# Our own notification types, which Mastodon clients drop unseen; shown to them as a `mention`.
OWN_TYPES = frozenset({"vitascope.cameo_use"})


def _notice_status(node: Node, viewer: Account, n: Notification, sender: dict[str, Any]) -> dict[str, Any]:
    """The direct, read-only status a `mention` needs, saying what happened (nothing more than the
    notification itself tells: a use may be an unposted draft only its creator and owner know of)."""
    text = (f"<p>@{escape(sender['acct'])} used your cameo in a new video (an unposted draft until they "
            f"post it). See every use of your cameos under Videos of me.</p>")
    return {"id": str(n.id), "uri": f"{node.urls.base}/api/v1/notifications/{n.id}", "url": None,
            "created_at": iso(n.created_at), "edited_at": None, "account": sender, "content": text, "text": None,
            "visibility": "direct", "sensitive": False, "spoiler_text": "", "language": "en",
            "in_reply_to_id": None, "in_reply_to_account_id": None, "reblog": None, "poll": None, "card": None,
            "application": None, "media_attachments": [], "tags": [], "emojis": [], "filtered": [],
            "mentions": [{"id": str(viewer.id), "username": viewer.username, "acct": viewer.username,
                          "url": viewer.uri}],
            "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "favourited": False,
            "reblogged": False, "muted": False, "bookmarked": False, "pinned": False}


async def notifications_json(node: Node, viewer: Account, notes: list[Notification], *,
                             own_types: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Mastodon Notifications. Our own types are rendered as asked for only in `own_types` (a
    client that names them in `types[]`); for every other client they are a `mention` carrying
    a direct notice status, so Mastodon clients, which drop unknown types, show them."""
    # Look-ups run even when a page has no statuses: the same statements for every page. Senders
    # are loaded with the statuses' accounts.
    statuses = await Status.filter(id__in={n.status_id for n in notes if n.status_id}).order_by("-id")
    renderer = StatusRenderer(node, viewer, context="notifications")
    rendered = {s["id"]: s for s in await renderer.render(list(statuses), {n.from_account_id for n in notes})}
    # A notification about a status a `hide` filter removes goes with it.
    found = {s.id for s in statuses}
    notes = [n for n in notes if n.status_id is None or n.status_id not in found or str(n.status_id) in rendered]
    accounts = renderer.accounts
    warning_ids = [n.account_warning_id for n in notes if n.account_warning_id]
    warnings: dict[int, dict[str, Any]] = {}
    if warning_ids:
        from node.services.account_warnings import by_id

        warnings = await by_id(node, warning_ids)
    out = []
    for n in notes:
        item = {
            "id": str(n.id),
            "type": n.type,
            "created_at": iso(n.created_at),
            "group_key": group_key(n),
            "account": accounts[n.from_account_id],
        }
        if n.type == "move" and "moved" in item["account"]:
            item["target"] = item["account"]["moved"]  # where the account moved (Pleroma's `move`)
        if n.status_id and str(n.status_id) in rendered:
            item["status"] = rendered[str(n.status_id)]
        if n.account_warning_id in warnings:  # moderation_warning (Mastodon 4.3)
            item["moderation_warning"] = warnings[n.account_warning_id]
        if n.type in OWN_TYPES and n.type not in own_types:
            item["type"], item["status"] = "mention", _notice_status(node, viewer, n, item["account"])
        out.append(item)
    return out


def filter_json(f: Filter, keywords: list[FilterKeyword] | None = None,
                statuses: list[FilterStatus] | None = None) -> dict[str, Any]:
    """Mastodon's Filter; `keywords` and `statuses` only where the rules were asked for (the filters
    API), not inside a status's FilterResult."""
    data: dict[str, Any] = {"id": str(f.id), "title": f.title, "context": list(f.context),
                            "expires_at": iso(f.expires_at), "filter_action": f.action}
    if keywords is not None:
        data["keywords"] = [filter_keyword_json(k) for k in keywords]
    if statuses is not None:
        data["statuses"] = [filter_status_json(s) for s in statuses]
    return data


def filter_keyword_json(k: FilterKeyword) -> dict[str, Any]:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}


def filter_status_json(s: FilterStatus) -> dict[str, Any]:
    return {"id": str(s.id), "status_id": str(s.status_id)}


async def filters_json(filters: list[Filter]) -> list[dict[str, Any]]:
    """Filters with their keywords and statuses, in two queries."""
    ids = [f.id for f in filters]
    keywords: dict[int, list[FilterKeyword]] = {i: [] for i in ids}
    statuses: dict[int, list[FilterStatus]] = {i: [] for i in ids}
    if ids:
        for k in await FilterKeyword.filter(custom_filter_id__in=ids).order_by("id"):
            keywords[k.custom_filter_id].append(k)
        for s in await FilterStatus.filter(custom_filter_id__in=ids).order_by("id"):
            statuses[s.custom_filter_id].append(s)
    return [filter_json(f, keywords[f.id], statuses[f.id]) for f in filters]


def v1_filter_json(k: FilterKeyword) -> dict[str, Any]:
    """The v1 view: one keyword with its filter's settings (`custom_filter` loaded)."""
    f = k.custom_filter
    return {"id": str(k.id), "phrase": k.keyword, "context": list(f.context), "whole_word": k.whole_word,
            "expires_at": iso(f.expires_at), "irreversible": f.action == "hide"}


def list_json(lst: UserList) -> dict[str, Any]:
    return {"id": str(lst.id), "title": lst.title, "replies_policy": lst.replies_policy, "exclusive": lst.exclusive}


async def conversations_json(node: Node, viewer: Account, rows: list[Conversation]) -> list[dict[str, Any]]:
    """Mastodon's Conversation: the other participants (the viewer alone when it wrote to itself),
    unread, and the last status as the viewer sees it."""
    await Conversation.fetch_for_list(rows, "last_status")
    wanted = {i for r in rows for i in r.participant_ids}
    people = {a.id: a for a in await Account.filter(id__in=wanted)} if wanted else {}
    counts = await account_counts([viewer, *people.values()])
    rendered = {a.id: account_json(node, a, counts[a.id]) for a in [viewer, *people.values()]}
    statuses = [r.last_status for r in rows if r.last_status is not None]
    last = {s["id"]: s for s in await statuses_json(node, viewer, statuses)} if statuses else {}
    return [{"id": str(r.id), "unread": r.unread,
             "accounts": [rendered[i] for i in r.participant_ids if i in rendered] or [rendered[viewer.id]],
             "last_status": last.get(str(r.last_status_id))} for r in rows]
