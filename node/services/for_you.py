"""Writes the For You ranking's signals: plays reported by the player, shares, "not interested",
and the viewer's steering preferences. Per-status sums count each viewer once (a replay or a second
share adds nothing), so one account cannot inflate a video."""

from __future__ import annotations

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from node.models import Account, ForYouPreference, Status, StatusEngagement, StatusViewerSignal


async def _signal(account: Account, status: Status) -> tuple[StatusViewerSignal, bool]:
    return await StatusViewerSignal.get_or_create(status_id=status.id, account_id=account.id)


async def _add(status: Status, **deltas: int) -> None:
    row, _ = await StatusEngagement.get_or_create(status_id=status.id)
    await StatusEngagement.filter(id=row.id).update(**{k: F(k) + v for k, v in deltas.items() if v})


async def record_view(account: Account, status: Status, *, watched_ms: int, duration_ms: int, completed: bool) -> None:
    """One play: its watch time (capped at the video's duration) and whether it reached the end."""
    watched = min(watched_ms, duration_ms)
    completed = completed or watched >= duration_ms
    async with in_transaction():
        signal, created = await _signal(account, status)
        first_completion = completed and not signal.completed
        await StatusViewerSignal.filter(id=signal.id).update(
            plays=F("plays") + 1, watched_ms=F("watched_ms") + watched, completed=signal.completed or completed)
        await _add(status, viewers=int(created or signal.plays == 0), completions=int(first_completion),
                   watched_ms=watched)


async def record_share(account: Account, status: Status) -> None:
    async with in_transaction():
        signal, _ = await _signal(account, status)
        if not signal.shared:
            await StatusViewerSignal.filter(id=signal.id).update(shared=True)
            await _add(status, shares=1)


async def not_interested(account: Account, status: Status) -> None:
    """The status leaves the viewer's For You; its author's other videos are pushed down."""
    signal, _ = await _signal(account, status)
    if not signal.not_interested:
        await StatusViewerSignal.filter(id=signal.id).update(not_interested=True)


async def set_preferences(account: Account, *, more: str | None, less: str | None,
                          personalized: bool | None) -> ForYouPreference:
    """Change only what was given."""
    pref, _ = await ForYouPreference.get_or_create(account_id=account.id)
    changes = {k: v for k, v in (("more", more), ("less", less), ("personalized", personalized)) if v is not None}
    if changes:
        for key, value in changes.items():
            setattr(pref, key, value)
        await pref.save(update_fields=[*changes, "updated_at"])
    return pref
