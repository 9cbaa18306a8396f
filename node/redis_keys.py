"""The one place that names this node's Redis keys, channels and arq queues, so writers and
readers in different modules (and different web processes) cannot drift apart.

The generation queue's names are shared with the workers, so they live in the workers'
contract instead: generation.contract (queue ``vitascope:gen``, its progress channel and keys).
"""

from __future__ import annotations

DELIVERY_QUEUE = "vitascope:delivery"  # arq: ActivityPub deliveries and web push notifications
CONTEXT_QUEUE = "vitascope:context"  # arq: fetching the missing parts of remote threads
CONTEXT_BUDGET_PREFIX = "vitascope:context:thread-budget:"  # + the job id: one thread's fetch budget
DOMAIN_BLOCKS_CHANNEL = "vitascope:domain_blocks"  # pub/sub: the blocked domains changed, reload them
GENERATION_COLLECTOR_LEASE = "vitascope:gen:collector"  # lock: the web process that follows the workers


def stream(name: str) -> str:
    """The pub/sub channel of one Mastodon stream ("public:local", "user:<account id>", …)."""
    return f"vitascope:stream:{name}"


STREAM_IDLE = stream("__idle__")  # a channel nobody publishes on: keeps a subscriber with no streams valid


def rate_limit(who_digest: str, window: int) -> str:
    """A client's request counter for one fixed one-minute window."""
    return f"vitascope:rl:{who_digest}:{window}"


def move_in_progress(account_id: int) -> str:
    """Set while (and for a while after) a Move from this account is taken up."""
    return f"vitascope:move_in_progress:{account_id}"


def generation_user_lock(user_id: int) -> str:
    """Lock: one generation request of a user at a time, across web processes."""
    return f"vitascope:gen:user-lock:{user_id}"


def for_you_snapshot(viewer_id: int) -> str:
    """A signed-in viewer's latest ranked For You (its token, then ids, scores, reasons), which the
    cursor of its first page continues; one per viewer, so Redis holds at most one per account."""
    return f"vitascope:for_you:{viewer_id}"
