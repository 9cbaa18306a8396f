"""Who may see what: visibility levels, blocks, and the query filters timelines use."""

from __future__ import annotations

from tortoise.expressions import Q, RawSQL, Subquery

from node.models import Account, Block, Follow, Mention, Mute, Status


async def can_see(viewer: Account | None, status: Status) -> bool:
    """The one answer to "may this viewer see this status" (API, ActivityPub, remixes, notifications)."""
    if status.deleted_at is not None:
        return False
    if viewer is not None:
        if viewer.id == status.account_id:
            return True
        if await Block.filter(Q(account_id=status.account_id, target_id=viewer.id)
                              | Q(account_id=viewer.id, target_id=status.account_id)).exists():
            return False
    if status.visibility in ("public", "unlisted"):
        return True
    if viewer is None:
        return False
    if status.visibility == "private":
        if await Follow.filter(account_id=viewer.id, target_id=status.account_id).exists():
            return True
    return await Mention.filter(status_id=status.id, account_id=viewer.id).exists()


async def seen_status(viewer: Account, status_id: int) -> Status | None:
    """The status (a boost: its original) the viewer may see, else None — an id the viewer may not
    see is answered exactly like an unknown one, so its existence does not leak."""
    status = await Status.get_or_none(id=status_id, deleted_at=None).prefetch_related("account")
    if status is not None and status.reblog_of_id:
        status = await Status.get_or_none(id=status.reblog_of_id, deleted_at=None).prefetch_related("account")
    if status is None or status.account.suspended_at is not None or not await can_see(viewer, status):
        return None
    return status


def outer(table: str, column: str) -> RawSQL:
    """A column of the row the outer query is reading, inside a subquery: the subquery then looks up
    that row's own mentions (one index probe per row of the page) instead of reading — and
    hashing — every mention of the viewer, or of whom it hides, on every request."""
    return RawSQL(f'"{table}"."{column}"')


def seen_by(viewer: Account | None, via: str | None = None, *, table: str = "statuses") -> Q:
    """``can_see`` as one query filter: on statuses, or (``via``: the relation's name, e.g.
    ``"status"``, of the rows of ``table``) on rows that reference one, for lists that must never
    carry what the viewer may not open. Sub-selects, not joins, so a row is never repeated. Through
    ``via`` (notifications) the mention is looked up for the row at hand (`outer`: a viewer's
    mentions only grow; hashing them all cost 1 ms a page); on statuses themselves (an account's
    page) PostgreSQL planned that look-up badly for deep pages (36 ms), so there the viewer's
    mentions, follows and blocks are read as sets, hashed once a statement."""
    path, status_id = (f"{via}__", f"{via}_id") if via else ("", "id")
    q = Q(**{f"{path}visibility__in": ["public", "unlisted"]})
    if viewer is not None:
        following = Subquery(Follow.filter(account_id=viewer.id).values("target_id"))
        mentions = Mention.filter(account_id=viewer.id)
        if via:
            mentions = mentions.filter(status_id=outer(table, status_id))
        mentioned = Subquery(mentions.values("status_id"))
        q |= (Q(**{f"{path}account_id": viewer.id})
              | Q(**{f"{status_id}__in": mentioned})
              | Q(Q(**{f"{path}visibility": "private"}), Q(**{f"{path}account_id__in": following})))
        q &= ~Q(**{f"{path}account_id__in": Subquery(Block.filter(account_id=viewer.id).values("target_id"))})
        q &= ~Q(**{f"{path}account_id__in": Subquery(Block.filter(target_id=viewer.id).values("account_id"))})
    return q & Q(**{f"{path}deleted_at__isnull": True})


async def hidden_account_ids(viewer: Account | None) -> list[int]:
    """Accounts whose posts the viewer should not get in lists: blocked either way, or muted."""
    if viewer is None:
        return []
    ids = set(await Block.filter(account_id=viewer.id).values_list("target_id", flat=True))
    ids |= set(await Block.filter(target_id=viewer.id).values_list("account_id", flat=True))
    ids |= set(await Mute.filter(account_id=viewer.id).values_list("target_id", flat=True))
    return list(ids)


def without_hidden(query, viewer: Account | None, *, boosts: bool = True):
    """`query` (of statuses) less what the viewer never gets on a timeline or a stream, as Mastodon's
    FeedManager and streaming server: posts and boosts by accounts it blocked, muted or is blocked
    by, boosts of their posts (`boosts`: the query may hold boosts), and others' posts that mention
    an account it blocked or muted. Every timeline and every streamed status goes through this one
    rule, as subqueries of the same statement. The viewer's blocks and mutes are read as sets (few,
    and hashed once a statement); a boost's original author is the joined row's, and the mentions
    are those of the row at hand (`outer`) — never all the posts or mentions of a hidden account."""
    if viewer is None:
        return query

    def blocked():
        return Block.filter(account_id=viewer.id).values("target_id")

    def blocking():
        return Block.filter(target_id=viewer.id).values("account_id")

    def muted():
        return Mute.filter(account_id=viewer.id).values("target_id")

    for hidden in (blocked, blocking, muted):
        query = query.exclude(account_id__in=Subquery(hidden()))
        if boosts:  # NOT (boost AND …): a post that boosts nothing must not meet a NULL inside the NOT
            query = query.exclude(Q(reblog_of_id__not_isnull=True) & Q(reblog_of__account_id__in=Subquery(hidden())))
    for hidden in (blocked, muted):
        mentions_them = Mention.filter(status_id=outer("statuses", "id"), account_id__in=Subquery(hidden()))
        query = query.exclude(Q(id__in=Subquery(mentions_them.values("status_id"))) & ~Q(account_id=viewer.id))
    return query


async def visible_ids(viewer: Account | None, statuses: list[Status]) -> set[int]:
    """`can_see` for many statuses at once: four look-ups whatever their number (none for an
    anonymous viewer)."""
    live = [s for s in statuses if s.deleted_at is None]
    if viewer is None:
        return {s.id for s in live if s.visibility in ("public", "unlisted")}
    authors = list({s.account_id for s in live})
    blocked = set(await Block.filter(account_id=viewer.id, target_id__in=authors).values_list("target_id", flat=True))
    blocked |= set(await Block.filter(target_id=viewer.id, account_id__in=authors).values_list("account_id", flat=True))
    followed = set(await Follow.filter(account_id=viewer.id, target_id__in=authors).values_list("target_id", flat=True))
    mentioned = set(await Mention.filter(account_id=viewer.id, status_id__in=[s.id for s in live])
                    .values_list("status_id", flat=True))
    return {s.id for s in live if s.account_id == viewer.id or (
        s.account_id not in blocked and (s.visibility in ("public", "unlisted")
                                         or (s.visibility == "private" and s.account_id in followed)
                                         or s.id in mentioned))}
