"""The context of remote posts, fetched in the background: unknown parents up the thread, and
unknown mentioned actors (as Mastodon's ThreadResolveWorker does), and — when a local user opens a
remote post's thread — the replies its server lists that we never received, and the replies listed by
those replies, and by the replies we already held, in turn, within one budget per thread (as
Mastodon 4.4's FetchAllRepliesWorker does).

A post is stored at once with what we already have (`astointernal.store_remote_status`); what it lacks
is queued (node.activitypub.context_fetch) and fetched here, so a host that accepts connections but
answers slowly holds a context job, never the inbox processor. Jobs are arq jobs on their own queue, run by a worker inside the web process:
- durable without new machinery: the node's Redis keeps an append-only file (node.redis_server),
  and arq re-runs a job that was cancelled by a shutdown or whose worker died;
- de-duplicated by job id: a parent's job id is derived from its uri, so many replies waiting on one
  parent cause one fetch, and the kept result remembers a fetched or failed parent for a while;
- bounded: `federation.context_fetch_concurrency` jobs at once, each request limited by
  `federation.fetch_timeout_seconds`, each job by a multiple of it;
- fair to healthy hosts: a job counts against the host of the documents it fetches (a parent and its
  author share a host; mentions are queued per host; a replies collection lives on its post's host,
  and each reply is a job of its own), and at most `federation.context_fetch_per_host`
  jobs wait on one host at once.
  A job whose host is at that cap is deferred for HOST_BUSY_DEFER seconds rather than holding a slot,
  so one slow host never occupies every slot.
A database table would need its own poller, claiming and de-duplication for the same result.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

from arq.constants import retry_key_prefix
from arq.worker import Retry, Worker, func
from tortoise.expressions import Q

from federation import documents as ap
from federation.fetcher import FetchError, FetchFailed
from node import redis_keys
from node.activitypub import blocked_domains, resolve
from node.activitypub.context_fetch import link_waiting_replies
from node.activitypub.errors import Ignored, ResolveError
from node.context import Node
from node.models import Mention, Status
from node.redis_server import in_process_worker, run_in_process_worker
from node.supervise import start

log = logging.getLogger(__name__)

# A job makes at most this many requests (a parent or a reply: its document, its author, its media;
# mentions: MAX_MENTION_FETCHES actors), each within the fetch timeout. A replies job, and a reply job
# (which reads the reply's own collection), have more, from federation.replies_fetch_max_pages.
REQUESTS_PER_JOB = 10
# A parent fetched (or not to be had) is not fetched again for this long, however many replies ask.
REMEMBER_SECONDS = 600
# A parent whose host did not answer is tried again after these many seconds (as Mastodon does).
RETRY_DELAYS = (30, 300)
# A job whose host already has `federation.context_fetch_per_host` jobs waiting on it looks again after
# this many seconds.
HOST_BUSY_DEFER = 2
# One round of fetching a thread's replies shares a budget (ThreadBudget, under
# redis_keys.CONTEXT_BUDGET_PREFIX) for this long: longer than its jobs take, tries again after
# RETRY_DELAYS included, level after level.
BUDGET_SECONDS = 3600


# --------------------------------------------------------------------------- jobs


@contextlib.asynccontextmanager
async def host_slot(ctx: dict[str, Any], url: str) -> AsyncIterator[None]:
    """Hold one of the `federation.context_fetch_per_host` slots of ``url``'s host for the job's
    requests. When the host has none free, the job is deferred (arq Retry) without counting as a try:
    arq counts every run it starts, so the run is taken back first, and a job deferred many times
    behind a slow host still has all its tries for that host's failures (RETRY_DELAYS)."""
    busy: Counter[str] = ctx["busy_hosts"]
    host = ap.origin(url)
    if busy[host] >= ctx["node"].config["federation.context_fetch_per_host"]:
        await ctx["redis"].decr(retry_key_prefix + ctx["job_id"])
        raise Retry(defer=HOST_BUSY_DEFER)
    busy[host] += 1
    try:
        yield
    finally:
        busy[host] -= 1
        if not busy[host]:
            del busy[host]


async def fetch_parent(ctx: dict[str, Any], uri: str, below: list[str]) -> str:
    """The arq job: fetch and store the parent ``uri`` of the replies ``below`` it. Storing it links
    the replies waiting for it and queues its own parent in turn, up to the depth limit. A host that
    does not answer is tried again after RETRY_DELAYS; one that refuses is not."""
    node: Node = ctx["node"]
    parent = await Status.get_or_none(uri=uri)
    if parent is not None:
        # It arrived meanwhile; a reply committed after it was linking is linked now.
        await link_waiting_replies(parent)
        return "known"
    try:
        async with host_slot(ctx, uri):
            doc = await resolve.fetch_document(node, uri)
            await resolve.status_from_document(node, doc, ancestry=tuple(below))
    except (FetchError, ResolveError, ap.DocumentError, Ignored) as exc:
        _try_again_later(ctx, exc, f"parent {uri} of {below[-1]}")
        return f"not stored: {exc}"
    return "stored"


def _may_pass(exc: Exception) -> bool:
    """Network trouble, timeouts, 5xx, 408 and 429 (also while fetching the author) may pass."""
    cause = exc if isinstance(exc, FetchFailed) else exc.__cause__
    return isinstance(cause, FetchFailed) and (cause.status is None or cause.status >= 500 or cause.status in (408, 429))


def _try_again_later(ctx: dict[str, Any], exc: Exception, what: str) -> None:
    """A failed fetch: arq's Retry after RETRY_DELAYS when the trouble may pass and tries are left;
    otherwise it is logged and the job ends."""
    try_number = ctx.get("job_try", 1)
    if _may_pass(exc) and try_number <= len(RETRY_DELAYS):
        log.info("%s: %s; trying again later", what, exc)
        raise Retry(defer=RETRY_DELAYS[try_number - 1]) from exc
    log.info("%s: %s; given up", what, exc)


async def fetch_mentions(ctx: dict[str, Any], status_id: int, hrefs: list[str]) -> str:
    """The arq job: fetch the unknown actors (on one host) a remote post mentions and add its mentions
    of them; one that cannot be fetched is left out."""
    node: Node = ctx["node"]
    if not await Status.exists(id=status_id, deleted_at=None):
        return "post gone"
    added = 0
    async with host_slot(ctx, hrefs[0]):
        for href in hrefs:
            try:
                account = await resolve.fetch_actor(node, href)
            except (ResolveError, FetchError) as exc:
                log.info("mentioned actor %s skipped: %s", href, exc)
                continue
            if account.deleted_at is None:
                _, created = await Mention.get_or_create(status_id=status_id, account_id=account.id)
                added += created
    return f"{added} mentions added"


# --------------------------------------------------------------------------- replies (a thread opened here)


async def fetch_replies_later(node: Node, status: Status) -> bool:
    """node.extras["fetch_replies"], when a signed-in local user opens the context of ``status``: for a
    remote public or unlisted post whose replies were not fetched within
    `federation.replies_fetch_cooldown_seconds`, queue the job that reads its `replies` collection.
    Returns whether it queued one. The cooldown is claimed by one conditional UPDATE, so of many
    views at once (in any process) one queues the job. A post published less than
    `federation.replies_fetch_initial_wait_seconds` ago is put off by that job, which alone knows when
    it was published (see `fetch_replies`)."""
    config = node.config
    if (node.arq is None or status.local or status.reblog_of_id is not None or status.deleted_at is not None
            or status.visibility not in ("public", "unlisted") or blocked_domains.suspends(ap.origin(status.uri))
            or not all(config[f"federation.replies_fetch_{key}"] for key in
                       ("max_pages", "max_items", "max_total", "max_total_pages"))):
        return False
    now = datetime.now(timezone.utc)
    if not await _claim(node, now, id=status.id):
        return False
    try:  # one job per cooldown period: its id names the claim, so a kept result never hides a new one
        await node.arq.enqueue_job("context_replies", status.id, _queue_name=redis_keys.CONTEXT_QUEUE,
                                   _job_id=f"context:replies:{status.id}:{int(now.timestamp() * 1000)}")
    except Exception:  # Redis unreachable: the thread shows what we have; the next view may try again
        log.exception("could not queue the replies of %s", status.uri)
        await Status.filter(id=status.id, fetched_replies_at=now).update(fetched_replies_at=status.fetched_replies_at)
        return False
    return True


def _due(node: Node, now: datetime) -> Q:
    """Posts whose replies were not read within `federation.replies_fetch_cooldown_seconds`."""
    due = now - timedelta(seconds=node.config["federation.replies_fetch_cooldown_seconds"])
    return Q(fetched_replies_at__isnull=True) | Q(fetched_replies_at__lte=due)


async def _claim(node: Node, now: datetime, **post: Any) -> bool:
    """Claim the reading of a post's replies for one cooldown with one conditional UPDATE, so that of
    many claimants at once (views, jobs, in any process) one wins."""
    return bool(await Status.filter(_due(node, now), **post).update(fetched_replies_at=now))


class ThreadBudget:
    """What one round of fetching a thread's replies (one `context_replies` job and the `context_reply`
    and `context_known_reply` jobs it leads to, at every depth) may still fetch:
    `federation.replies_fetch_max_total` replies and `federation.replies_fetch_max_total_pages`
    collection pages in all, as Mastodon's FetchAllRepliesWorker bounds its walk (MAX_REPLIES,
    MAX_PAGES), there within a single job.

    It is a Redis hash named after the round's root job, because the jobs that share it live in that
    Redis: with its append-only file it survives a restart exactly as the queued jobs do, each job
    reserves from it with one atomic script (no database row that every reply job of a thread would
    write), and it expires BUDGET_SECONDS after the round began, where a column on the root post would
    outlive its round. A job that finds it gone (expired, or from before an upgrade) walks no further:
    the bound fails closed."""

    _OPEN = "if redis.call('hsetnx', KEYS[1], 'replies', 0) == 1 then redis.call('expire', KEYS[1], ARGV[1]) end"
    _TAKE = """
if redis.call('exists', KEYS[1]) == 0 then return 0 end
local granted = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - tonumber(redis.call('hget', KEYS[1], ARGV[1]) or '0'))
if granted <= 0 then return 0 end
redis.call('hincrby', KEYS[1], ARGV[1], granted)
return granted"""
    _GIVE_BACK = "if redis.call('exists', KEYS[1]) == 1 then redis.call('hincrby', KEYS[1], ARGV[1], -ARGV[2]) end"

    def __init__(self, ctx: dict[str, Any], key: str) -> None:
        self.key = key
        self._redis = ctx["redis"]
        config = ctx["node"].config
        self._limits = {"replies": config["federation.replies_fetch_max_total"],
                        "pages": config["federation.replies_fetch_max_total_pages"]}

    @classmethod
    def of_root_job(cls, ctx: dict[str, Any]) -> ThreadBudget:
        return cls(ctx, redis_keys.CONTEXT_BUDGET_PREFIX + ctx["job_id"])

    async def open(self) -> None:
        """Start the round's budget (again on a retried root job: it keeps what was spent)."""
        await self._redis.eval(self._OPEN, 1, self.key, BUDGET_SECONDS)

    async def take(self, kind: str, wanted: int) -> int:
        """Reserve up to ``wanted`` replies or pages; returns how many were granted (0 when spent)."""
        if wanted <= 0:
            return 0
        return int(await self._redis.eval(self._TAKE, 1, self.key, kind, wanted, self._limits[kind]))

    async def give_back(self, kind: str, unused: int) -> None:
        if unused > 0:
            await self._redis.eval(self._GIVE_BACK, 1, self.key, kind, unused)


async def fetch_replies(ctx: dict[str, Any], status_id: int) -> str:
    """The arq job: fetch the remote post from its origin, read its `replies` collection and queue a
    fetch (`context_reply`) of each reply we do not have, except ours and those of suspended domains;
    each reply fetched reads its own collection in turn, breadth-first through the thread, within the
    round's ThreadBudget (Mastodon 4.4's FetchAllRepliesWorker).

    A post published less than `federation.replies_fetch_initial_wait_seconds` ago (Mastodon's
    FETCH_REPLIES_CREATED_RECENTLY, 5 minutes: its replies still arrive by delivery) is left alone: its
    claim is moved so the first view after that time is due to queue it again. `published` is read here,
    from the post as its origin serves it: our row's created_at is when we stored it."""
    node: Node = ctx["node"]
    status = await Status.get_or_none(id=status_id, deleted_at=None, local=False)
    if status is None:
        return "post gone"
    budget = ThreadBudget.of_root_job(ctx)
    try:
        async with host_slot(ctx, status.uri):
            doc = await resolve.fetch_document(node, status.uri)
            if doc["id"] != status.uri:
                raise ResolveError(f"{status.uri}: served a document with another id")
            if ready := await _put_off_while_new(node, status, doc):
                return (f"published less than {node.config['federation.replies_fetch_initial_wait_seconds']} s ago; "
                        f"due again at {ready:%H:%M:%S}")
            await budget.open()
            uris = await read_replies(node, doc, budget)
    except (FetchError, ResolveError, ap.DocumentError) as exc:
        _try_again_later(ctx, exc, f"replies of {status.uri}")
        return f"replies not read: {exc}"
    return await _queue_replies(ctx, status, uris, budget)


async def _put_off_while_new(node: Node, status: Status, doc: dict[str, Any]) -> datetime | None:
    """When the post was published within the initial wait: when it is due (its claim, fetched_replies_at,
    set so the cooldown ends then). None when it may be read now."""
    now = datetime.now(timezone.utc)
    published = min(ap.parse_datetime(doc.get("published")) or status.created_at, now)
    ready = published + timedelta(seconds=node.config["federation.replies_fetch_initial_wait_seconds"])
    if ready <= now:
        return None
    cooldown = timedelta(seconds=node.config["federation.replies_fetch_cooldown_seconds"])
    await Status.filter(id=status.id).update(fetched_replies_at=ready - cooldown)
    return ready


async def _queue_replies(ctx: dict[str, Any], post: Status, uris: list[str], budget: ThreadBudget) -> str:
    """Queue, as far as the thread's budget allows, a `context_reply` of each of the reply ``uris`` of
    ``post`` that we do not have, and a `context_known_reply` of each that we hold and whose own
    replies are due to be read (as FetchAllRepliesWorker walks known statuses, so a thread fills in
    below a reply that reached us by delivery) — never ours or those of suspended domains.

    A held reply is walked only if it is a remote public or unlisted reply to ``post`` that is claimed
    here for one cooldown (`_claim`): concurrent rounds walk it once, and a reply listing one of its
    ancestors (already claimed by this round) does not make the walk loop. Both kinds cost one reply
    of the budget, given back when no job is queued."""
    node: Node = ctx["node"]
    listed = [uri for uri in uris if not node.urls.is_local(uri) and uri.startswith(("https://", "http://"))
              and not blocked_domains.suspends(ap.origin(uri))]
    held = set(await Status.filter(uri__in=listed).values_list("uri", flat=True)) if listed else set()
    now = datetime.now(timezone.utc)
    walkable = set(await Status.filter(
        _due(node, now), uri__in=held, local=False, deleted_at=None, reblog_of_id=None, in_reply_to_uri=post.uri,
        visibility__in=("public", "unlisted")).values_list("uri", flat=True)) if held else set()
    wanted = [uri for uri in listed if uri not in held or uri in walkable]
    granted = await budget.take("replies", len(wanted))
    queued = 0
    for uri in wanted[:granted]:
        if uri not in held:
            job = await ctx["redis"].enqueue_job("context_reply", post.id, uri, budget.key, _job_id=reply_job_id(uri),
                                                 _queue_name=redis_keys.CONTEXT_QUEUE)
        elif await _claim(node, now, uri=uri):
            job = await ctx["redis"].enqueue_job("context_known_reply", uri, budget.key,
                                                 _job_id=known_reply_job_id(uri), _queue_name=redis_keys.CONTEXT_QUEUE)
        else:  # claimed meanwhile by another round or view
            job = None
        queued += job is not None
    await budget.give_back("replies", granted - queued)
    spent = f"; the thread's budget is spent ({len(wanted) - granted} left out)" if granted < len(wanted) else ""
    return f"{queued} of {len(uris)} replies queued{spent}"


async def read_replies(node: Node, post: dict[str, Any], budget: ThreadBudget) -> list[str]:
    """The reply ids a remote post's origin lists in its `replies` collection (``post`` is the post as
    its origin served it), as Mastodon's FetchRepliesService reads them: from the collection's `first`
    page on, following `next`, at most `federation.replies_fetch_max_pages` pages (and no more than the
    thread's budget has left) and `federation.replies_fetch_max_items` ids. The collection and its
    pages must live on the post's host (or be embedded in what it served), so a post cannot make us
    crawl another server."""
    if not post.get("replies"):
        return []
    max_items = node.config["federation.replies_fetch_max_items"]
    max_pages = await budget.take("pages", node.config["federation.replies_fetch_max_pages"])
    pages = 0
    uris: dict[str, None] = {}
    try:
        if not max_pages:
            return []
        page = await _collection_page(node, post["id"], post["replies"])
        if page.first is not None:
            page = await _collection_page(node, post["id"], page.first)
        seen = {page.id}
        pages = 1
        while True:
            uris.update(dict.fromkeys(page.items))
            onward = page.next
            looped = isinstance(onward, str) and onward in seen
            if len(uris) >= max_items or pages >= max_pages or onward is None or looped:
                break
            page = await _collection_page(node, post["id"], onward)
            if page.id is not None and page.id in seen:
                break
            seen.add(page.id)
            pages += 1
    finally:
        await budget.give_back("pages", max_pages - pages)
    return list(uris)[:max_items]


async def _collection_page(node: Node, post_uri: str, value: Any) -> ap.RemoteCollectionPage:
    """A collection document embedded in what the post's origin served, or fetched from that host."""
    if isinstance(value, dict):
        return ap.parse_collection_page(value)
    if ap.origin(value) != ap.origin(post_uri):
        raise ResolveError(f"{value}: the replies of {post_uri} are not on its host")
    return ap.parse_collection_page(await resolve.fetch_document(node, value))


def reply_job_id(uri: str) -> str:
    return "context:reply:" + hashlib.sha256(uri.encode()).hexdigest()[:32]


def known_reply_job_id(uri: str) -> str:
    return "context:known-reply:" + hashlib.sha256(uri.encode()).hexdigest()[:32]


async def fetch_reply(ctx: dict[str, Any], post_id: int, uri: str, budget_key: str | None = None) -> str:
    """The arq job: fetch one reply that the collection of the post ``post_id`` listed and store it
    as a parent is stored (served by its origin, its author on that host, its media verified), if it
    does answer that post. Like a parent, tried again after RETRY_DELAYS when its host does not answer.
    A public or unlisted reply stored here has its own `replies` collection read in turn, within the
    thread's budget (``budget_key``; a job queued before replies of replies were fetched has none), and
    is marked as read (fetched_replies_at) so no round or view reads it again within the cooldown."""
    node: Node = ctx["node"]
    if await Status.exists(uri=uri):
        return "known"
    post = await Status.get_or_none(id=post_id, deleted_at=None)
    if post is None:
        return "post gone"
    budget = ThreadBudget(ctx, budget_key) if budget_key else None
    uris: list[str] = []
    try:
        async with host_slot(ctx, uri):
            doc = await resolve.fetch_document(node, uri)
            if ap.id_of(doc.get("inReplyTo")) != post.uri:
                log.info("%s, listed as a reply of %s, answers %s", uri, post.uri, ap.id_of(doc.get("inReplyTo")))
                return "not a reply to the post"
            reply = await resolve.status_from_document(node, doc)
            if budget is None or reply.visibility not in ("public", "unlisted"):
                return "stored"
            await Status.filter(id=reply.id).update(fetched_replies_at=datetime.now(timezone.utc))
            try:  # the reply is stored whatever its collection holds: this is not tried again
                uris = await read_replies(node, doc, budget)
            except (FetchError, ResolveError, ap.DocumentError) as exc:
                log.info("replies of %s (in the thread of %s) not read: %s", uri, post.uri, exc)
                return f"stored; its replies not read: {exc}"
    except (FetchError, ResolveError, ap.DocumentError, Ignored) as exc:
        _try_again_later(ctx, exc, f"reply {uri} of {post.uri}")
        return f"not stored: {exc}"
    return "stored; " + await _queue_replies(ctx, reply, uris, budget)


async def fetch_known_reply(ctx: dict[str, Any], uri: str, budget_key: str) -> str:
    """The arq job: read the current `replies` collection of a reply we already hold (claimed by
    `_queue_replies`), fetched from its origin within the thread's budget, and queue its replies as
    those of a reply just fetched are. Nothing else of the reply is refreshed: its updates and
    deletion reach us as activities."""
    node: Node = ctx["node"]
    reply = await Status.get_or_none(uri=uri, local=False, deleted_at=None)
    if reply is None:
        return "reply gone"
    budget = ThreadBudget(ctx, budget_key)
    try:
        async with host_slot(ctx, uri):
            doc = await resolve.fetch_document(node, uri)
            if doc["id"] != uri:
                raise ResolveError(f"{uri}: served a document with another id")
            uris = await read_replies(node, doc, budget)
    except (FetchError, ResolveError, ap.DocumentError) as exc:
        _try_again_later(ctx, exc, f"replies of the known reply {uri}")
        return f"replies not read: {exc}"
    return await _queue_replies(ctx, reply, uris, budget)


# --------------------------------------------------------------------------- worker


def make_worker(node: Node) -> Worker:
    timeout = node.config["federation.fetch_timeout_seconds"]
    worker = in_process_worker(
        node, [func(fetch_parent, name="context_parent", max_tries=len(RETRY_DELAYS) + 1),
               func(fetch_mentions, name="context_mentions", max_tries=3),
               # the post, the collection, and its pages: one request each
               func(fetch_replies, name="context_replies", max_tries=len(RETRY_DELAYS) + 1,
                    timeout=timeout * (node.config["federation.replies_fetch_max_pages"] + 2) + 10),
               # a reply's requests, then its own collection and pages
               func(fetch_reply, name="context_reply", max_tries=len(RETRY_DELAYS) + 1,
                    timeout=timeout * (REQUESTS_PER_JOB + node.config["federation.replies_fetch_max_pages"] + 1) + 10),
               # a known reply's document, then its collection and pages; its claim (fetched_replies_at)
               # is what keeps it from being walked again, so its id is kept only while it is queued
               func(fetch_known_reply, name="context_known_reply", max_tries=len(RETRY_DELAYS) + 1, keep_result=0,
                    timeout=timeout * (node.config["federation.replies_fetch_max_pages"] + 2) + 10)],
        queue_name=redis_keys.CONTEXT_QUEUE, max_jobs=node.config["federation.context_fetch_concurrency"],
        job_timeout=timeout * REQUESTS_PER_JOB + 10,
        keep_result=REMEMBER_SECONDS, poll_delay=0.5)
    worker.ctx["busy_hosts"] = Counter()  # host -> jobs of this worker waiting on it (see host_slot)
    return worker


def start_worker(node: Node) -> asyncio.Task:
    """The in-process context worker, as a background task of the web app, started again (a fresh arq
    worker) whenever it fails, e.g. on a lost Redis."""
    return start("context worker", lambda: run_in_process_worker(make_worker(node)))
