"""Accounts (Mastodon's Account, CredentialAccount, Relationship), their counts read in a fixed
number of queries."""

from __future__ import annotations

from typing import Any, Iterable

from node import prepared
from node.context import Node
from node.models import Account, Block, Follow, FollowRequest, Mute
from node.models.stats import AccountStats
from node.serializers.common import iso
from node.text import html_to_text


def _media_url(node: Node, path: str | None, remote: str | None, default: str) -> str:
    if path:
        return node.urls.media(path)
    return remote or f"{node.urls.base}{default}"


async def account_counts(accounts: Iterable[Account]) -> dict[int, dict[str, Any]]:
    """Per account: its counts and, for an account that moved, `moved`: (the account it moved to,
    that account's counts) — what `account_json` renders, in a fixed number of queries. The counts
    are read from account_stats, which the database keeps (node.models.stats)."""
    accounts = list(accounts)
    targets = await moved_targets(accounts)
    ids = list({a.id for a in accounts} | set(targets))
    rows = await prepared.values(AccountStats, "counts", lambda i: AccountStats.filter(id__in=i).values(
        "id", "followers_count", "following_count", "statuses_count"), ids) if ids else []
    return counts_of(accounts, targets, {row["id"]: (row["followers_count"], row["following_count"],
                                                     row["statuses_count"]) for row in rows})


async def moved_targets(accounts: list[Account]) -> dict[int, Account]:
    """The accounts these accounts moved to (those neither deleted nor suspended), by id: one query,
    run whether or not any moved."""
    return {t.id: t for t in await prepared.models(
        Account, "counts.moved", lambda i: Account.filter(id__in=i, deleted_at=None, suspended_at=None),
        list({a.moved_to_id for a in accounts if a.moved_to_id}))}


def live_targets(accounts: Iterable[Account], known: dict[int, Account]) -> dict[int, Account]:
    """`moved_targets` from accounts already read (`known`, by id, as a page's details statement
    gives them): whom these accounts moved to, those neither deleted nor suspended."""
    return {a.moved_to_id: t for a in accounts if (t := known.get(a.moved_to_id)) is not None
            and t.deleted_at is None and t.suspended_at is None}


def counts_of(accounts: list[Account], targets: dict[int, Account],
              stats: dict[int, tuple[int, int, int]]) -> dict[int, dict[str, Any]]:
    """`account_counts` from the accounts, those they moved to (`moved_targets`) and the account_stats
    of both, by id: (followers, following, statuses); an account without a row counts zeros."""
    out: dict[int, dict[str, Any]] = {}
    for i in {a.id for a in accounts} | set(targets):
        followers, following, statuses = stats.get(i, (0, 0, 0))
        out[i] = {"followers": followers, "following": following, "statuses": statuses}
    for account in accounts:
        if account.moved_to_id in targets:
            out[account.id]["moved"] = (targets[account.moved_to_id], out[account.moved_to_id])
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
    return html_to_text(note_html)


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


def full_acct(node: Node, account: Account) -> str:
    """`user@host` for any account (ours get this node's domain), as users type it."""
    return f"{account.username}@{account.domain or node.config.domain}"


def alias_json(node: Node, uri: str, account: Account | None) -> dict[str, str | None]:
    """An alias (alsoKnownAs) of an account: its actor id, and the account if this node knows it."""
    return {"acct": full_acct(node, account) if account else None, "uri": uri}
