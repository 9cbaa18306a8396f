"""While a remote post is stored: linking it into its thread, and queueing what it lacks.

A post is stored at once with what we already have (node.activitypub.astointernal): its parent if we
hold it, the mentioned accounts we know; the replies that arrived before it are linked to it
(`link_waiting_replies`), and an unknown parent and unknown mentioned actors are queued as jobs on
redis_keys.CONTEXT_QUEUE (`fetch_missing`), which node.activitypub.context_jobs runs, so a slow host never holds the
inbox processor.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from federation import documents as ap
from node import redis_keys
from node.context import Node
from node.models import Account, Status

log = logging.getLogger(__name__)

# Mentions read from one remote post, and how many unknown mentioned actors it may make us fetch.
MAX_MENTIONS = 500
MAX_MENTION_FETCHES = 10


async def known_parent(note: ap.RemoteNote, below: tuple[str, ...]) -> Status | None:
    """The post a reply answers, if we have it — never one of the posts ``below`` it in the thread
    being fetched (a reply cycle), so the reply graph stays acyclic."""
    if not note.in_reply_to or note.in_reply_to in below:
        return None
    return await Status.get_or_none(uri=note.in_reply_to).prefetch_related("account")


async def link_waiting_replies(status: Status) -> None:
    """Replies stored before their parent ``status`` could be had are linked to it now, except its own
    ancestors (a thread that loops back), so the reply graph never gets a cycle."""
    waiting = await Status.filter(in_reply_to_uri=status.uri, in_reply_to_id=None).values_list("id", flat=True)
    if not waiting:
        return
    ancestors = {status.id}
    cursor = status.in_reply_to_id
    while cursor is not None and cursor not in ancestors:
        ancestors.add(cursor)
        parents = await Status.filter(id=cursor).values_list("in_reply_to_id", flat=True)
        cursor = parents[0] if parents else None
    replies = [reply_id for reply_id in waiting if reply_id not in ancestors]
    if replies:
        await Status.filter(id__in=replies).update(in_reply_to_id=status.id, in_reply_to_account_id=status.account_id)


async def known_mentions(node: Node, hrefs: list[str]) -> tuple[list[Account], list[str]]:
    """(the accounts we know that a post mentions, the unknown remote actors to fetch for it — at most
    MAX_MENTION_FETCHES)."""
    hrefs = list(dict.fromkeys(hrefs))[:MAX_MENTIONS]
    known = {account.uri: account for account in await Account.filter(uri__in=hrefs)} if hrefs else {}
    return sort_mentions(node, hrefs, known)


def sort_mentions(node: Node, hrefs: list[str], known: dict[str, Account]) -> tuple[list[Account], list[str]]:
    """known_mentions, with the accounts already looked up (``known``, by URI; a batch of posts shares one)."""
    hrefs = list(dict.fromkeys(hrefs))[:MAX_MENTIONS]
    found: dict[int, Account] = {}
    unknown: list[str] = []
    for href in hrefs:
        account = known.get(href)
        if account is None:
            if not node.urls.is_local(href) and len(unknown) < MAX_MENTION_FETCHES:
                unknown.append(href)
        elif account.deleted_at is None:
            found.setdefault(account.id, account)
    return list(found.values()), unknown


async def fetch_missing(node: Node, status: Status, below: tuple[str, ...], actors: list[str]) -> None:
    """Queue what a just-stored (committed) remote post lacks: its parent — unless we have it, it is in
    the thread ``below`` (a cycle), or it is more than `federation.max_thread_fetch_depth` ancestors up
    from the post that arrived — and its unknown mentioned ``actors``.

    The post is already usable; a queue that cannot be reached is logged and costs only the context.
    """
    if node.arq is None:
        return
    parent_uri = status.in_reply_to_uri
    jobs: list[tuple[str, str, tuple[Any, ...]]] = []
    if (parent_uri and status.in_reply_to_id is None and parent_uri not in below
            and not node.urls.is_local(parent_uri) and len(below) <= node.config["federation.max_thread_fetch_depth"]):
        jobs.append(("context_parent", parent_job_id(parent_uri), (parent_uri, list(below))))
    by_host: dict[str, list[str]] = {}
    for href in actors:
        by_host.setdefault(ap.origin(href), []).append(href)
    for host, hrefs in by_host.items():
        jobs.append(("context_mentions", f"context:mentions:{status.id}:{host}", (status.id, hrefs)))
    for function, job_id, args in jobs:
        try:
            await node.arq.enqueue_job(function, *args, _job_id=job_id, _queue_name=redis_keys.CONTEXT_QUEUE)
        except Exception:  # Redis unreachable: the post stays as stored, its reply links up on arrival
            log.exception("could not queue %s for %s", function, status.uri)


def parent_job_id(uri: str) -> str:
    return "context:parent:" + hashlib.sha256(uri.encode()).hexdigest()[:32]


async def link_all_waiting_replies(statuses: list[Status]) -> None:
    """link_waiting_replies for many new posts, with one query for which of them have replies waiting."""
    waiting = set(await Status.filter(in_reply_to_uri__in=[status.uri for status in statuses], in_reply_to_id=None)
                  .values_list("in_reply_to_uri", flat=True))
    for status in statuses:
        if status.uri in waiting:
            await link_waiting_replies(status)
