"""What moderation shows: strikes (Mastodon's AccountWarning), reports (user and admin views), admin
accounts, domain blocks (admin and public views) and received activities (inbox items)."""

from __future__ import annotations

import hashlib
from typing import Any

from node.context import Node
from node.models import Account, AccountWarning, DomainBlock, InboxItem, Report, Status, User
from node.serializers.accounts import account_counts, account_json, account_one
from node.serializers.common import iso
from node.serializers.statuses import statuses_json


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


async def warnings_by_id(node: Node, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Rendered warnings by id (for notifications)."""
    rows = await AccountWarning.filter(id__in=ids) if ids else []
    return {w.id: item for w, item in zip(rows, await warnings_json(node, list(rows)))}


async def report_json(node: Node, report: Report) -> dict[str, Any]:
    """Mastodon's REST::ReportSerializer: what the reporter sees."""
    target = await report.target_account
    return {
        "id": str(report.id),
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": [str(i) for i in report.status_ids],
        "rule_ids": [],
        "target_account": await account_one(node, target),
    }


def _role(user: User | None) -> dict[str, Any] | None:
    """The user's role as Mastodon 4.x shows it (the same as in verify_credentials); None for remote accounts."""
    if user is None:
        return None
    return {"id": "3" if user.admin else "-99", "name": "Admin" if user.admin else "",
            "permissions": "1" if user.admin else "0", "color": "", "highlighted": user.admin}


async def admin_accounts(node: Node, accounts: list[Account]) -> dict[int, dict[str, Any]]:
    """Mastodon's REST::Admin::AccountSerializer for each account, by id, in grouped queries."""
    unique = {a.id: a for a in accounts}
    users = {u.account_id: u for u in await User.filter(account_id__in=list(unique))}
    counts = await account_counts(unique.values())
    out = {}
    for account_id, account in unique.items():
        user = users.get(account_id)
        out[account_id] = {
            "id": str(account.id),
            "username": account.username,
            "domain": account.domain,
            "created_at": iso(account.created_at),
            "email": user.email if user else None,
            "ip": None,
            "ips": [],
            "role": _role(user),
            "confirmed": user is not None,
            "suspended": account.suspended_at is not None,
            "silenced": account.silenced_at is not None,
            "sensitized": account.sensitized_at is not None,
            "disabled": bool(user and user.disabled),
            "approved": bool(user and user.approved),
            "locale": user.locale if user else None,
            "invite_request": None,
            "account": account_json(node, account, counts[account_id]),
        }
    return out


async def admin_reports_json(node: Node, admin: Account, reports: list[Report]) -> list[dict[str, Any]]:
    """Mastodon's REST::Admin::ReportSerializer for a page of reports."""
    account_ids = {i for r in reports for i in (r.account_id, r.target_account_id, r.assigned_account_id,
                                                  r.action_taken_by_account_id) if i is not None}
    accounts = await admin_accounts(node, list(await Account.filter(id__in=list(account_ids))))
    status_ids = {i for r in reports for i in r.status_ids}
    statuses = list(await Status.filter(id__in=list(status_ids))) if status_ids else []
    rendered = {int(s["id"]): s for s in await statuses_json(node, admin, statuses)}
    return [{
        "id": str(r.id),
        "action_taken": r.action_taken_at is not None,
        "action_taken_at": iso(r.action_taken_at),
        "category": r.category,
        "comment": r.comment,
        "forwarded": r.forwarded,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "account": accounts[r.account_id],
        "target_account": accounts[r.target_account_id],
        "assigned_account": accounts.get(r.assigned_account_id) if r.assigned_account_id else None,
        "action_taken_by_account": accounts.get(r.action_taken_by_account_id) if r.action_taken_by_account_id else None,
        "statuses": [rendered[i] for i in r.status_ids if i in rendered],
        "rules": [],
    } for r in reports]


def domain_block_json(block: DomainBlock) -> dict[str, Any]:
    """Mastodon's REST::Admin::DomainBlockSerializer."""
    return {
        "id": str(block.id),
        "domain": block.domain,
        "created_at": iso(block.created_at),
        "severity": block.severity,
        "reject_media": block.reject_media,
        "reject_reports": block.reject_reports,
        "private_comment": block.private_comment,
        "public_comment": block.public_comment,
        "obfuscate": block.obfuscate,
    }


def public_domain_block_json(block: DomainBlock, *, with_comment: bool) -> dict[str, Any]:
    """Mastodon's REST::DomainBlockSerializer (GET /api/v1/instance/domain_blocks): an obfuscated
    domain shows with its middle starred out (dots kept); the SHA-256 digest lets anyone check a
    domain they know; the public comment only ``with_comment`` (null otherwise)."""
    domain = block.domain
    if block.obfuscate:
        keep = len(domain) // 4
        domain = "".join("*" if keep < i < len(domain) - keep and c != "." else c for i, c in enumerate(domain))
    return {"domain": domain, "digest": hashlib.sha256(block.domain.encode()).hexdigest(),
            "severity": block.severity, "comment": block.public_comment if with_comment else None}


def inbox_item_json(item: InboxItem) -> dict[str, Any]:
    """One shape for the admin API and `vitascope admin inbox --json`."""
    return {
        "id": str(item.id),
        "activity_id": item.activity_id,
        "type": item.type,
        "actor": item.actor_uri,
        "signer": item.signer,
        "received_at": iso(item.created_at),
        "state": item.state,
        "reason": item.error,
        "attempts": item.attempts,
        "processed_at": iso(item.processed_at),
    }
