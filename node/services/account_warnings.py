"""Strikes (Mastodon's AccountWarning): every admin action on an account is kept, with the admin's
text and the report it came from, and a local account's user is told with a `moderation_warning`
notification (Mastodon 4.3's shape). Users read their own through a Vitascope extension, admins
everyone's (Mastodon shows strikes in its admin web pages only; its REST API has no list of them).
"""

from __future__ import annotations

from typing import Any

from node.context import Node
from node.models import Account, AccountWarning, Notification, Report
from node.serializers import account_counts, account_json, iso, notifications_json


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


async def warnings_json(node: Node, warnings: list[AccountWarning], *, for_admin: bool = False
                        ) -> list[dict[str, Any]]:
    """Mastodon's REST::AccountWarningSerializer; ``for_admin`` adds who acted (`account`) and the
    `report_id` (Vitascope extension). Appeals are not offered here: `appeal` is always null."""
    ids = {w.target_account_id for w in warnings} | ({w.account_id for w in warnings if w.account_id}
                                                      if for_admin else set())
    accounts = {a.id: a for a in await Account.filter(id__in=list(ids))} if ids else {}
    counts = await account_counts(accounts.values())
    rendered = {i: account_json(node, a, counts[i]) for i, a in accounts.items()}
    out = []
    for w in warnings:
        item = {
            "id": str(w.id),
            "action": w.action,
            "text": w.text,
            "status_ids": [str(i) for i in w.status_ids] if w.status_ids is not None else None,
            "created_at": iso(w.created_at),
            "target_account": rendered[w.target_account_id],
            "appeal": None,
        }
        if for_admin:
            item["account"] = rendered.get(w.account_id) if w.account_id else None
            item["report_id"] = str(w.report_id) if w.report_id else None
        out.append(item)
    return out


async def by_id(node: Node, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Rendered warnings by id (for notifications)."""
    rows = await AccountWarning.filter(id__in=ids) if ids else []
    return {w.id: item for w, item in zip(rows, await warnings_json(node, list(rows)))}
