"""Strikes (Mastodon's AccountWarning): every admin action on an account is kept, with the admin's
text and the report it came from, and a local account's user is told with a `moderation_warning`
notification (Mastodon 4.3's shape). Users read their own through a Vitascope extension, admins
everyone's (Mastodon shows strikes in its admin web pages only; its REST API has no list of them).
"""

from __future__ import annotations

from node.context import Node
from node.models import Account, AccountWarning, Notification, Report
from node.serializers import notifications_json


async def record(node: Node, admin: Account, target: Account, action: str, *, text: str = "",
                 report: Report | None = None, notify: bool = True) -> AccountWarning:
    """Keep the strike; tell a local target (unless ``notify`` is False, Mastodon's
    send_email_notification), even a suspended one, who reads it once the suspension is lifted."""
    warning = await AccountWarning.create(target_account=target, account=admin, action=action, text=text,
                                          report=report,
                                          status_ids=list(report.status_ids) if report is not None else None)
    if notify and target.domain is None:
        note = await Notification.create(account=target, from_account=target, type="moderation_warning",
                                         account_warning=warning)
        payload = (await notifications_json(node, target, [note]))[0]
        await node.stream([f"user:{target.id}", f"user:notification:{target.id}"], "notification", payload)
    return warning
