"""Notifications: Mastodon's Notification, the grouped v2 list (NotificationGroup), notification
requests and the notification policy."""

from __future__ import annotations

from html import escape
from typing import Any, Callable

from tortoise.queryset import QuerySet

from node import prepared
from node.context import Node
from node.models import Account, Notification, NotificationPolicy, NotificationRequest, Status
from node.models.notification_policy import POLICY_FIELDS
from node.serializers.accounts import account_json, accounts_many
from node.serializers.common import iso
from node.serializers.moderation import warnings_by_id
from node.serializers.statuses import StatusRenderer, statuses_json


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


SAMPLE_ACCOUNTS = 8  # as Mastodon
# Mastodon's PartialAccountWithAvatar: what a client needs to draw the avatar row of a group.
PARTIAL_ACCOUNT_KEYS = ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")


# Our own notification types, which Mastodon clients drop unseen; shown to them as a `mention`
# whose notice says what happened.
NOTICES = {"vitascope.cameo_use": "used your cameo in a new video (an unposted draft until they post it)",
           "vitascope.cameo_use_deleted": "deleted a video that used your cameo"}
OWN_TYPES = frozenset(NOTICES)


def _notice_status(node: Node, viewer: Account, n: Notification, sender: dict[str, Any]) -> dict[str, Any]:
    """The direct, read-only status a `mention` needs, saying what happened (nothing more than the
    notification itself tells: a use may be an unposted draft only its creator and owner know of)."""
    text = f"<p>@{escape(sender['acct'])} {NOTICES[n.type]}. See every use of your cameos under Videos of me.</p>"
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
    if notes and all("_status" in n.__dict__ for n in notes):  # read with their statuses (select_related)
        statuses = sorted({s.id: s for n in notes if (s := n.__dict__["_status"]) is not None}.values(),
                          key=lambda s: s.id, reverse=True)
    else:
        statuses = await prepared.models(Status, "notifications.statuses", lambda i: Status.filter(id__in=i).order_by("-id"),
                                         list({n.status_id for n in notes if n.status_id}))
    renderer = StatusRenderer(node, viewer, context="notifications")
    rendered = {s["id"]: s for s in await renderer.render(list(statuses), {n.from_account_id for n in notes})}
    # A notification about a status a `hide` filter removes goes with it.
    found = {s.id for s in statuses}
    notes = [n for n in notes if n.status_id is None or n.status_id not in found or str(n.status_id) in rendered]
    accounts = renderer.accounts
    warning_ids = [n.account_warning_id for n in notes if n.account_warning_id]
    warnings: dict[int, dict[str, Any]] = {}
    if warning_ids:
        warnings = await warnings_by_id(node, warning_ids)
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


async def notification_groups_json(node: Node, me: Account, groups: list[tuple[str, list[Notification]]],
                                   members: Callable[[str], QuerySet[Notification]], *,
                                   paginated: bool, partial: bool = False) -> dict[str, Any]:
    """Mastodon's GroupedNotificationsResults: the groups, and the accounts and statuses they name
    once each. ``groups``: key and the group's notifications on this page, newest first;
    ``members``: the query for every notification of a group, from its key. With
    ``partial`` (expand_accounts=partial_avatars), only each group's latest sender is a full
    account; the other senders come once each in `partial_accounts`, avatar and handle only."""
    out, accounts, statuses = [], {}, {}
    # A group whose latest notification is about a status the viewer's `hide` filters remove is
    # left out with it.
    latest_rendered = {r["id"]: r for r in await notifications_json(node, me, [page[0] for _key, page in groups])}
    for key, page in groups:
        latest = page[0]
        rendered = latest_rendered.get(str(latest.id))
        if rendered is None:
            continue
        if key.startswith("ungrouped-"):
            count, senders = 1, [latest.from_account_id]
        else:
            group = members(key)
            count = await group.count()
            senders = list(dict.fromkeys(await group.order_by("-id").limit(200).values_list("from_account_id",
                                                                                                 flat=True)))
        senders = senders[:SAMPLE_ACCOUNTS]
        group = {"group_key": key, "notifications_count": count, "type": rendered["type"],
                 "most_recent_notification_id": latest.id, "sample_account_ids": [str(a) for a in senders]}
        if paginated:
            group.update(page_min_id=str(page[-1].id), page_max_id=str(latest.id),
                         latest_page_notification_at=iso(latest.created_at))
        if "status" in rendered:
            group["status_id"] = rendered["status"]["id"]
            statuses[rendered["status"]["id"]] = rendered["status"]
        if "moderation_warning" in rendered:
            group["moderation_warning"] = rendered["moderation_warning"]
        for sender in senders[:1] if partial else senders:
            accounts.setdefault(sender, None)
        out.append(group)
    partials = {s: None for g in out for s in map(int, g["sample_account_ids"][1:]) if s not in accounts}
    rows = await Account.filter(id__in=[*accounts, *partials])
    body = {"accounts": await accounts_many(node, [r for r in rows if r.id in accounts]),
            "statuses": list(statuses.values()), "notification_groups": out}
    if partials:  # as Mastodon, the key only when there is someone in it
        body["partial_accounts"] = [{k: full[k] for k in PARTIAL_ACCOUNT_KEYS}
                                    for full in (account_json(node, r) for r in rows if r.id in partials)]
    return body


async def notification_requests_json(node: Node, me: Account, rows: list[NotificationRequest],
                                     seen: list[Status]) -> list[dict[str, Any]]:
    """Mastodon's NotificationRequest (`from_account` and `last_status` loaded); ``seen``: the last
    statuses the viewer may see (the others show as null)."""
    accounts = {a["id"]: a for a in await accounts_many(node, list({r.from_account_id: r.from_account for r in rows}.values()))}
    statuses = {s["id"]: s for s in await statuses_json(node, me, seen)}
    counts: dict[int, int] = {}
    for sender in await Notification.filter(account_id=me.id, filtered=True,
                                            from_account_id__in=[r.from_account_id for r in rows]
                                            ).values_list("from_account_id", flat=True):
        counts[sender] = counts.get(sender, 0) + 1
    return [{"id": str(r.id), "created_at": iso(r.created_at), "updated_at": iso(r.updated_at),
             "account": accounts[str(r.from_account_id)],
             "notifications_count": str(counts.get(r.from_account_id, 0)),  # a string, as Mastodon
             "last_status": statuses.get(str(r.last_status_id))} for r in rows]


async def _summary(account: Account) -> dict[str, int]:
    return {"pending_requests_count": await NotificationRequest.filter(account_id=account.id).count(),
            "pending_notifications_count": await Notification.filter(account_id=account.id, filtered=True).count()}


async def policy_v2_json(account: Account, policy: NotificationPolicy) -> dict[str, Any]:
    """Mastodon's v2 NotificationPolicy."""
    return {**{f: getattr(policy, f) for f in POLICY_FIELDS}, "summary": await _summary(account)}


async def policy_v1_json(account: Account, policy: NotificationPolicy) -> dict[str, Any]:
    """v1 shows each rule as a boolean: true when it does not simply accept."""
    return {"filter_not_following": policy.for_not_following != "accept",
            "filter_not_followers": policy.for_not_followers != "accept",
            "filter_new_accounts": policy.for_new_accounts != "accept",
            "filter_private_mentions": policy.for_private_mentions != "accept",
            "summary": await _summary(account)}
