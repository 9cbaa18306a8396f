"""Admin actions on one account, local or remote (Mastodon's Admin::AccountAction and its undo
actions). The limits live on the rows and every reader checks them:

- suspend: a local account cannot sign in or use its tokens, its posts are no longer served, and
  its actor (still served, as Mastodon serves a suspended one) says `suspended`: an Update of it goes
  to its followers' servers, and another when it is unsuspended (Mastodon's Suspend/
  UnsuspendAccountService); its follows stay, for when it comes back. A remote account's activities
  are ignored (kept with the reason) and its follows of our users end with a Reject{Follow}. Either
  way its posts leave every timeline. Reversible: unsuspend lifts it (removed follows stay removed).
- silence: posts stay out of public timelines and reach followers only.
- sensitive: its media show as sensitive to everyone but itself.
- disable (local accounts): no sign-in, no tokens.
- none: only a warning (`text`).

Every action is kept as a strike (node.services.account_warnings), with the admin's text and the
report's posts, and a local account is notified of it. Any action but `none` resolves the open
reports about the account; `none` resolves the report it names, if any.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from node.activitypub import resolve
from node.context import Node
from node.errors import unprocessable
from node.models import Account, AccountWarning, Report, User
from node.services import account_warnings, reports, social

log = logging.getLogger(__name__)

ACTIONS = ("none", "sensitive", "disable", "silence", "suspend")
TEXT_LIMIT = 5000


async def take_action(node: Node, admin: Account, target: Account, kind: str, *, text: str = "",
                      report: Report | None = None, notify: bool = True) -> AccountWarning:
    if kind not in ACTIONS:
        raise unprocessable(f"type must be one of {', '.join(ACTIONS)}")
    if kind == "disable" and target.domain is not None:
        raise unprocessable("disable applies to local accounts only")
    if len(text) > TEXT_LIMIT:
        raise unprocessable(f"text is too long (maximum is {TEXT_LIMIT} characters)")
    if report is not None and report.target_account_id != target.id:
        raise unprocessable("the report is about another account")
    now = datetime.now(timezone.utc)
    if kind == "disable":
        await User.filter(account_id=target.id).update(disabled=True)
    elif kind == "sensitive" and target.sensitized_at is None:
        target.sensitized_at = now
        await target.save(update_fields=["sensitized_at"])
    elif kind == "silence" and target.silenced_at is None:
        target.silenced_at = now
        await target.save(update_fields=["silenced_at"])
    elif kind == "suspend":
        await suspend(node, target, now)
    if kind == "none":
        resolved = [report] if report is not None else []
    else:
        resolved = list(await Report.filter(target_account_id=target.id, action_taken_at=None))
    warning = await account_warnings.record(node, admin, target, kind, text=text, report=report, notify=notify)
    for row in resolved:
        await reports.resolve(row, admin)
    log.info("%s took action %r on %s%s", admin.acct(), kind, target.uri, f": {text}" if text else "")
    return warning


async def approve(username: str) -> bool:
    """Let in the local sign-up ``username`` that waits for approval (registration.mode = approval);
    False when there is no such local user."""
    account = await Account.get_or_none(domain=None, username__iexact=username)
    return account is not None and bool(await User.filter(account_id=account.id).update(approved=True))


async def suspend(node: Node, target: Account, when: datetime) -> None:
    """Our suspension (one its own server had put on it becomes ours: no actor update lifts it)."""
    newly = target.suspended_at is None
    if newly or target.suspended_remotely:
        target.suspended_at = target.suspended_at or when
        target.suspended_remotely = False
        await target.save(update_fields=["suspended_at", "suspended_remotely"])
    if target.domain is None:
        if newly:  # its actor now says `suspended`: tell its followers' servers
            await node.emit("account.updated", account=target)
        return
    # A remote account is not suspended on its own server: it must stop following our users.
    # (Only follows of our users are known here: a remote account's follows of remote ones never reach us.)
    follows, requests = await social.end_follows(followers=[target.id])
    for follow in follows:
        followed = await Account.get(id=follow.target_id)
        await node.emit("follow.removed", follow=follow, account=target, target=followed)
    for request in requests:
        asked = await Account.get(id=request.target_id)
        await node.emit("follow.rejected", request=request, account=target, target=asked)


async def lift(node: Node, target: Account, kind: str) -> Account:
    """Undo one limit: unsuspend, unsilence, unsensitive, enable. Unsuspending a local account
    sends its actor, no longer `suspended`, to its followers' servers; a remote one is fetched again
    from its server (Mastodon's UnsuspendAccountService), so its profile and keys are current and a
    suspension its server made meanwhile applies (see `refresh_remote`)."""
    if kind == "enable":
        await User.filter(account_id=target.id).update(disabled=False)
        return target
    column = {"unsuspend": "suspended_at", "unsilence": "silenced_at", "unsensitive": "sensitized_at"}[kind]
    if getattr(target, column) is not None:
        setattr(target, column, None)
        if column != "suspended_at":
            await target.save(update_fields=[column])
        else:  # whoever had suspended it, an admin lifts it
            target.suspended_remotely = False
            await target.save(update_fields=[column, "suspended_remotely"])
            if target.domain is None:
                await node.emit("account.updated", account=target)
            else:
                target = await refresh_remote(node, target)
    log.info("%s: %s", kind, target.uri)
    return target


async def refresh_remote(node: Node, account: Account) -> Account:
    """A remote account fetched afresh from its server; as it was when that server cannot be had (the
    next activity or lookup after a day fetches it again)."""
    try:
        return await resolve.fetch_actor(node, account.uri, refresh=True)
    except resolve.ResolveError as exc:
        log.info("%s unsuspended but not refreshed: %s", account.uri, exc)
        return account
