"""Who may see what: visibility levels, blocks, and the query filters timelines use."""

from __future__ import annotations

from tortoise.expressions import Q

from node.models import Account, Block, Follow, Mention, Status


async def can_see(viewer: Account | None, status: Status) -> bool:
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


async def hidden_account_ids(viewer: Account | None) -> list[int]:
    """Accounts whose posts the viewer should not get in lists: blocked either way, or muted."""
    if viewer is None:
        return []
    from node.models import Mute

    ids = set(await Block.filter(account_id=viewer.id).values_list("target_id", flat=True))
    ids |= set(await Block.filter(target_id=viewer.id).values_list("account_id", flat=True))
    ids |= set(await Mute.filter(account_id=viewer.id).values_list("target_id", flat=True))
    return list(ids)


def readable_by(viewer: Account | None, following_ids: list[int]) -> Q:
    """A filter for statuses the viewer may read (without mentions of private ones)."""
    q = Q(visibility__in=["public", "unlisted"])
    if viewer is not None:
        q |= Q(account_id=viewer.id)
        if following_ids:
            q |= Q(visibility="private", account_id__in=following_ids)
        q |= Q(visibility__in=["private", "direct"], mentions__account_id=viewer.id)
    return q
