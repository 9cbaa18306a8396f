"""Domain blocks (Mastodon's): limits an admin puts on a whole remote server and its subdomains.

Creating, changing or lifting a block applies it to what we already have, then tells every process
of this node (node.activitypub.blocked_domains), whose in-memory copy the federation paths consult:

- suspend: the inbox refuses POSTs signed by its actors (403, nothing stored), nothing is fetched
  from or delivered to it, queued deliveries to it are skipped, its accounts are suspended (their
  posts leave every timeline, their activities still in the queue are ignored) and follows both
  ways are removed — without telling it, as Mastodon does;
- silence: its accounts are silenced (out of public timelines; their posts reach followers only);
- reject_media: its videos are never downloaded; reject_reports: its Flags are ignored.

Accounts limited by a block carry its `created_at` as their `suspended_at` / `silenced_at`, so
lifting (or softening) the block lifts exactly those limits, as Mastodon's UnblockDomainService.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from node.activitypub import blocked_domains
from node.context import Node
from node.errors import ApiError, unprocessable
from node.models import Account, Delivery, DomainBlock
from node.models.moderation import SEVERITIES
from node.serializers import domain_block_json
from node.services.social import end_follows

log = logging.getLogger(__name__)

COMMENT_LIMIT = 1000
# host[:port] after IDNA encoding: labels of letters, digits and hyphens, or an IPv4 address.
_DOMAIN = re.compile(r"^(?=.{1,253}(:|$))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
                     r"(?::[0-9]{1,5})?$")
_CHUNK = 500


def normalize_domain(node: Node, value: str | None) -> str:
    """A domain as blocks store it: lower-case, IDNA-encoded, no scheme, path or trailing dot."""
    text = (value or "").strip().rstrip(".").lower()
    if not text:
        raise unprocessable("domain is missing")
    host, sep, port = text.partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise unprocessable(f"domain {value!r} is not a valid domain") from None
    domain = host + sep + port
    if not _DOMAIN.match(domain):
        raise unprocessable(f"domain {value!r} is not a valid domain (give host or host:port, without scheme or path)")
    if blocked_domains.covers(domain, node.config.domain):
        raise unprocessable(f"{domain} covers this server's own domain")
    return domain


def _check(severity: str | None, private_comment: str | None, public_comment: str | None) -> None:
    if severity is not None and severity not in SEVERITIES:
        raise unprocessable(f"severity must be one of {', '.join(SEVERITIES)}")
    for name, comment in (("private_comment", private_comment), ("public_comment", public_comment)):
        if comment is not None and len(comment) > COMMENT_LIMIT:
            raise unprocessable(f"{name} is too long (maximum is {COMMENT_LIMIT} characters)")


async def existing_for(domain: str) -> DomainBlock | None:
    """A block that already covers ``domain`` (itself or a parent domain), like Mastodon's rule_for."""
    rows = await DomainBlock.filter(domain__in=blocked_domains.names(domain))
    by_domain = {r.domain: r for r in rows}
    return next((by_domain[n] for n in blocked_domains.names(domain) if n in by_domain), None)


class DomainBlockExists(ApiError):
    """422 with the block in the way, in Mastodon's ExistingDomainBlockErrorSerializer shape."""

    def __init__(self, existing: DomainBlock) -> None:
        super().__init__(422, f"You have already imposed limits on {existing.domain}",
                         existing_domain_block=domain_block_json(existing))


async def create(node: Node, domain: str, *, severity: str = "silence", reject_media: bool = False,
                 reject_reports: bool = False, private_comment: str | None = None,
                 public_comment: str | None = None, obfuscate: bool = False) -> DomainBlock:
    domain = normalize_domain(node, domain)
    _check(severity, private_comment, public_comment)
    existing = await existing_for(domain)
    if existing is not None:
        raise DomainBlockExists(existing)
    try:
        block = await DomainBlock.create(domain=domain, severity=severity, reject_media=reject_media,
                                         reject_reports=reject_reports, private_comment=private_comment,
                                         public_comment=public_comment, obfuscate=obfuscate)
    except IntegrityError:  # created at the same moment by another request
        raise DomainBlockExists(await DomainBlock.get(domain=domain)) from None
    block = await DomainBlock.get(id=block.id)  # created_at exactly as stored: accounts get stamped with it
    await _apply(block)
    await blocked_domains.announce(node)
    log.info("domain block on %s: %s", domain, severity)
    return block


async def update(node: Node, block: DomainBlock, **changes: Any) -> DomainBlock:
    """Change severity, rejections or comments (not the domain); limits follow the new severity."""
    _check(changes.get("severity"), changes.get("private_comment"), changes.get("public_comment"))
    for name, value in changes.items():
        setattr(block, name, value)
    await block.save()
    await _apply(block)
    await blocked_domains.announce(node)
    log.info("domain block on %s changed: %s", block.domain, block.severity)
    return block


async def remove(node: Node, block: DomainBlock) -> None:
    """Lift the block: the limits it put on accounts go; removed follows stay removed (as Mastodon)."""
    await _apply(block, lifting=True)
    await block.delete()
    await blocked_domains.announce(node)
    log.info("domain block on %s lifted", block.domain)


async def _accounts_of(block: DomainBlock) -> list[dict[str, Any]]:
    """Remote accounts of the block's domain and subdomains (a LIKE narrows, `covers` decides)."""
    rows = await Account.filter(domain__icontains=block.domain).values("id", "domain", "suspended_at", "silenced_at")
    return [r for r in rows if blocked_domains.covers(block.domain, r["domain"])]


async def _apply(block: DomainBlock, *, lifting: bool = False) -> None:
    """Bring the accounts of the domain in line with the block (Mastodon's BlockDomainService): the
    limits this block stamped and no longer imposes go, the one it imposes is stamped where absent."""
    stamp = block.created_at
    severity = None if lifting else block.severity
    accounts = await _accounts_of(block)
    for kind, column in (("suspend", "suspended_at"), ("silence", "silenced_at")):
        if severity == kind:
            await _update([r["id"] for r in accounts if r[column] is None], **{column: stamp})
        else:
            await _update([r["id"] for r in accounts if r[column] == stamp], **{column: None})
    if severity == "suspend":
        await _cut_off([r["id"] for r in accounts], block.domain)


async def _update(ids: list[int], **values: Any) -> None:
    for start in range(0, len(ids), _CHUNK):
        await Account.filter(id__in=ids[start:start + _CHUNK]).update(**values)


async def _cut_off(ids: list[int], domain: str) -> None:
    """A suspended domain: follows both ways go (and its accounts leave our users' lists), and
    nothing queued for it is sent."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        async with in_transaction():
            await end_follows(followers=chunk)
            await end_follows(targets=chunk)
    pending = await Delivery.filter(state="pending", domain__icontains=domain).values_list("id", "domain")
    skipped = [i for i, d in pending if blocked_domains.covers(domain, d)]
    for start in range(0, len(skipped), _CHUNK):
        await Delivery.filter(id__in=skipped[start:start + _CHUNK]).update(
            state="skipped", last_error="domain is suspended by this server")
