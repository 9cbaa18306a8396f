"""Reports: filed by our users or received as Flags from other servers, reviewed by our admins.

Filing notifies every admin (`admin.report`) and emits `report.created(report)`; federation
listens and, for a forwarded report about a remote account, sends a Flag to its server.
"""

from __future__ import annotations

from datetime import datetime, timezone

from node.context import Node
from node.errors import unprocessable
from node.ids import new_id
from node.models import Account, Report, Status, User
from node.models.federation import REPORT_CATEGORIES
from node.services.notifications import notify

COMMENT_LIMIT = 1000  # Mastodon's limit for reports filed through the API


async def file_report(node: Node, reporter: Account, target: Account, statuses: list[Status], comment: str, *,
                      category: str = "other", forward: bool = False, uri: str | None = None) -> Report:
    """Store a report and tell the admins. `forward` only counts for a remote target."""
    if category not in REPORT_CATEGORIES:
        raise unprocessable(f"category must be one of {', '.join(REPORT_CATEGORIES)}")
    forwarded = forward and target.domain is not None and reporter.domain is None
    report_id = new_id()
    if forwarded:
        uri = node.urls.instance_activity("flags", report_id)
    report = await Report.create(id=report_id, account=reporter, target_account=target,
                                 status_ids=[s.id for s in statuses], comment=comment, category=category,
                                 uri=uri, forwarded=forwarded)
    for admin in await User.filter(admin=True, disabled=False).prefetch_related("account"):
        await notify(node, admin.account, reporter, "admin.report")
    await node.emit("report.created", report=report)
    return report


async def _save(report: Report, *names: str) -> Report:
    report.updated_at = datetime.now(timezone.utc)
    await report.save(update_fields=[*names, "updated_at"])
    return report


async def resolve(report: Report, admin: Account) -> Report:
    """Mark the report handled, by `admin` (Mastodon's resolve without further action)."""
    report.action_taken_at = datetime.now(timezone.utc)
    report.action_taken_by_account_id = admin.id
    return await _save(report, "action_taken_at", "action_taken_by_account_id")


async def reopen(report: Report) -> Report:
    report.action_taken_at = None
    report.action_taken_by_account_id = None
    return await _save(report, "action_taken_at", "action_taken_by_account_id")


async def assign(report: Report, admin: Account | None) -> Report:
    """Assign to an admin, or to nobody with None."""
    report.assigned_account_id = admin.id if admin is not None else None
    return await _save(report, "assigned_account_id")
