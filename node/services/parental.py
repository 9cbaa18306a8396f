"""Parental controls: teen accounts, guardian links, and the limits the whole node enforces for them.

A teen account is one with a ParentalControls row that is in force (no date of birth known, or the
adult age not reached yet). Every client meets the same limits, because they are applied here, where
statuses are posted, feeds are served and generations are charged — not in a page. Guardian and teen
are always accounts of this node.

Contracts other features call:
- ``personalisation_allowed(account)``: the For You ranking personalises only when this is True.
- ``cameo_allowed(subject, requester)``: the cameo feature may put ``subject`` in a video asked for
  by ``requester`` only when this is True (on top of the subject's own cameo policy).
- ``ration_feed(account, statuses)``: every feed endpoint passes its page through it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from node import prepared
from node.context import Node
from node.errors import ApiError, forbidden, not_found, unprocessable
from node.models import Account, Follow, GenerationJob, MediaAttachment, Status
from node.models.parental import AUDIENCES, CONTROLS, FeedView, GuardianRequest, ParentalControls

MAX_DAILY = 1000  # the highest daily limit a guardian may set (feed videos, generations)


# ----- teen accounts ------------------------------------------------------------------------


def adult_on_for(node: Node, date_of_birth: str | None, today: date | None = None) -> date | None:
    """The day a new account reaches the adult age, from Mastodon's `date_of_birth` (YYYY-MM-DD);
    None when no date is given or the person is already an adult. 422 under the node's minimum age."""
    if date_of_birth is None or date_of_birth == "":
        return None
    try:
        born = date.fromisoformat(date_of_birth)
    except ValueError:
        raise unprocessable("date_of_birth must be a date like 2010-04-30") from None
    today = today or datetime.now(timezone.utc).date()
    if born > today or born.year < today.year - 150:
        raise unprocessable("date_of_birth is not a plausible date of birth")
    min_age, adult_age = node.config["parental.min_age"], node.config["parental.adult_age"]
    if _birthday(born, min_age) > today:
        raise unprocessable(f"date_of_birth: you must be at least {min_age} years old to sign up")
    adult_on = _birthday(born, adult_age)
    return adult_on if adult_on > today else None


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        return born.replace(year=born.year + years, day=28)


def strict_defaults(node: Node) -> dict[str, Any]:
    """The settings a teen account starts with (config [parental]; 0 there means no limit)."""
    c = node.config
    return {"personalisation": c["parental.personalisation"],
            "daily_feed_videos": c["parental.daily_feed_videos"] or None,
            "direct_messages": c["parental.direct_messages"], "cameo": c["parental.cameo"],
            "generations_per_day": c["parental.generations_per_day"] or None}


async def make_teen(node: Node, account: Account, adult_on: date | None) -> ParentalControls:
    """Make a local account a teen account with the strict defaults (part of the caller's transaction)."""
    return await ParentalControls.create(account=account, adult_on=adult_on, **strict_defaults(node))


def in_force(controls: ParentalControls | None) -> bool:
    return controls is not None and (controls.adult_on is None
                                     or datetime.now(timezone.utc).date() < controls.adult_on)


async def controls_of(account: Account | None, *, as_read: bool = False) -> ParentalControls | None:
    """The account's controls when they are in force; None for everyone else (adults, remote actors).

    `as_read`: the controls read with the account where they were (the request's token look-up reads
    the signed-in account's, node.auth), not read again — for a read path that changes none."""
    if account is None or account.domain is not None:
        return None
    if as_read and "_parental_controls" in account.__dict__:
        found = [c] if (c := account.__dict__["_parental_controls"]) is not None else []
    else:
        found = await prepared.models(ParentalControls, "parental.controls",
                                      lambda me: ParentalControls.filter(account_id=me[0]), [account.id])
    return found[0] if found and in_force(found[0]) else None


async def is_mutual(a_id: int, b_id: int) -> bool:
    return (await Follow.filter(account_id=a_id, target_id=b_id).exists()
            and await Follow.filter(account_id=b_id, target_id=a_id).exists())


async def _audience_allows(controls: ParentalControls, setting: str, other: Account) -> bool:
    if other.id == controls.account_id or other.id == controls.guardian_id:
        return True
    if setting == "everyone":
        return True
    return setting == "mutuals" and await is_mutual(controls.account_id, other.id)


# ----- what other features ask -------------------------------------------------------------


async def personalisation_allowed(account: Account | None) -> bool:
    """False when a guardian switched personalisation off: the ranking then uses recency and
    popularity only, and records no personal signal as a reason."""
    controls = await controls_of(account)
    return controls is None or controls.personalisation


async def cameo_allowed(subject: Account, requester: Account) -> bool:
    """Whether ``requester`` may put ``subject`` in a cameo, as far as parental controls go (the
    subject's own cameo policy applies on top). Always True for accounts that are not teens."""
    controls = await controls_of(subject)
    return controls is None or await _audience_allows(controls, controls.cameo, requester)


async def direct_recipients(author: Account, mentioned: list[Account]) -> list[Account]:
    """Who a direct message may reach, applying each teen's direct-message setting both ways.

    A local author is refused (422) naming the first recipient it may not write to; a remote
    author's message simply does not reach the teens it may not write to (they are dropped from
    its recipients, so they never see it nor are notified)."""
    author_controls = await controls_of(author)
    allowed: list[Account] = []
    for recipient in mentioned:
        ok = True
        if author_controls is not None and not await _audience_allows(
                author_controls, author_controls.direct_messages, recipient):
            ok = False
        recipient_controls = await controls_of(recipient)
        if ok and recipient_controls is not None and not await _audience_allows(
                recipient_controls, recipient_controls.direct_messages, author):
            ok = False
        if ok:
            allowed.append(recipient)
        elif author.domain is None:
            if author_controls is not None:
                raise unprocessable(f"your direct messages are limited by your guardian: you cannot write to "
                                    f"@{recipient.acct()}")
            raise unprocessable(f"@{recipient.acct()} cannot receive direct messages from you")
    return allowed


# ----- the teen's day ----------------------------------------------------------------------


def _day(controls: ParentalControls) -> tuple[date, datetime]:
    """Today in the teen's time zone, and when it ends (UTC)."""
    zone = ZoneInfo(controls.timezone)
    today = datetime.now(zone).date()
    ends = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)
    return today, ends


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class FeedAllowance:
    """The daily feed limit of a teen after a page was served; ``ended``: the page stopped at the limit."""
    limit: int
    served: int
    resets_at: datetime
    ended: bool

    def headers(self) -> dict[str, str]:
        """What a page carries: Mastodon clients just see the feed end (no further page); the web
        app reads `Vitascope-Feed-End: daily-limit` and shows "that's all for today"."""
        headers = {"Vitascope-Feed-Limit": f"limit={self.limit}, served={self.served}, "
                                           f"resets-at={_iso(self.resets_at)}"}
        if self.ended:
            headers["Vitascope-Feed-End"] = "daily-limit"
        return headers


async def ration_feed(account: Account | None, statuses: list[Status]) -> tuple[list[Status], FeedAllowance | None]:
    """The part of a feed page a teen may still get today.

    Each video status (or share of one) served for the first time today counts once; one already
    served today is free again (a refresh costs nothing), and statuses without video are free. The page
    stops before the first new video beyond the limit, so that once the limit is reached every feed
    ends there until the teen's midnight. None as allowance: no limit applies."""
    controls = await controls_of(account, as_read=True)
    if controls is None or controls.daily_feed_videos is None:
        return statuses, None
    today, resets_at = _day(controls)
    await FeedView.filter(account_id=account.id, day__lt=today).delete()
    seen = set(await FeedView.filter(account_id=account.id, day=today).values_list("status_id", flat=True))
    keys = [s.reblog_of_id or s.id for s in statuses]
    videos = set(await MediaAttachment.filter(status_id__in=keys, type__in=["video", "gifv"])
                 .values_list("status_id", flat=True)) if keys else set()
    kept: list[Status] = []
    new: list[int] = []
    ended = False
    for status, key in zip(statuses, keys):
        if key in videos and key not in seen:
            if len(seen) >= controls.daily_feed_videos:
                ended = True
                break
            seen.add(key)
            new.append(key)
        kept.append(status)
    if new:
        await FeedView.bulk_create([FeedView(account_id=account.id, day=today, status_id=key) for key in new],
                                   ignore_conflicts=True)
    ended = ended or (not kept and len(seen) >= controls.daily_feed_videos)
    return kept, FeedAllowance(controls.daily_feed_videos, len(seen), resets_at, ended)


async def check_generation_allowed(account: Account) -> None:
    """429 when a teen has used the generations its guardian allows today (credits do not lift it).
    Counted like the node's quota: failed jobs do not count, cancelled ones do."""
    controls = await controls_of(account)
    if controls is None or controls.generations_per_day is None:
        return
    today, resets_at = _day(controls)
    starts = datetime.combine(today, time(0), tzinfo=ZoneInfo(controls.timezone)).astimezone(timezone.utc)
    used = await GenerationJob.filter(account_id=account.id, created_at__gte=starts).exclude(state="failed").count()
    if used >= controls.generations_per_day:
        seconds = max(1, math.ceil((resets_at - datetime.now(timezone.utc)).total_seconds()))
        allowed = controls.generations_per_day
        raise ApiError(429, f"Your guardian allows {allowed} generation{'' if allowed == 1 else 's'} a day and "
                            f"you have used {'it' if allowed == 1 else 'them'}; you can generate again after "
                            f"midnight ({controls.timezone}).",
                       headers={"Retry-After": str(seconds)}, resets_at=_iso(resets_at))


async def usage_today(controls: ParentalControls) -> dict[str, Any]:
    today, resets_at = _day(controls)
    starts = datetime.combine(today, time(0), tzinfo=ZoneInfo(controls.timezone)).astimezone(timezone.utc)
    return {"feed_videos": await FeedView.filter(account_id=controls.account_id, day=today).count(),
            "generations": await GenerationJob.filter(account_id=controls.account_id, created_at__gte=starts)
            .exclude(state="failed").count(),
            "resets_at": _iso(resets_at)}


# ----- links ----------------------------------------------------------------------------------


async def _local(account_id: int) -> Account:
    account = await Account.get_or_none(id=account_id, deleted_at=None, suspended_at=None)
    if account is None:
        raise not_found()
    if account.domain is not None:
        raise unprocessable("guardian and teen must both have accounts on this node; remote accounts cannot be linked")
    return account


async def request_link(me: Account, *, teen_id: int | None = None, guardian_id: int | None = None) -> GuardianRequest:
    """Ask to become the guardian of ``teen_id``, or ask ``guardian_id`` to become mine. The other
    side accepts or declines; asking again while a request is pending returns that request."""
    if (teen_id is None) == (guardian_id is None):
        raise unprocessable("give either teen_id (to become their guardian) or guardian_id (to ask them)")
    other = await _local(teen_id if teen_id is not None else guardian_id)
    guardian, teen = (me, other) if teen_id is not None else (other, me)
    await _check_link(guardian, teen)
    existing = await GuardianRequest.get_or_none(guardian_id=guardian.id, teen_id=teen.id)
    if existing is not None:
        return existing
    return await GuardianRequest.create(guardian=guardian, teen=teen, by_guardian=guardian.id == me.id)


async def _check_link(guardian: Account, teen: Account) -> None:
    if guardian.id == teen.id:
        raise unprocessable("you cannot be your own guardian")
    if await controls_of(guardian) is not None:
        raise unprocessable("a teen account cannot be a guardian")
    if await ParentalControls.filter(guardian_id=teen.id).exists():
        raise unprocessable(f"@{teen.acct()} is the guardian of a teen account and cannot be supervised")
    controls = await controls_of(teen)
    if controls is not None and controls.guardian_id is not None:
        if controls.guardian_id == guardian.id:
            raise unprocessable(f"you are already linked with @{teen.acct()}")
        raise unprocessable(f"@{teen.acct()} already has a guardian")


async def pending_requests(me: Account) -> list[GuardianRequest]:
    """Requests waiting on either side that involve me, newest first."""
    return await (GuardianRequest.filter(Q(guardian_id=me.id) | Q(teen_id=me.id)).order_by("-id")
                  .prefetch_related("guardian", "teen"))


async def _request_for(me: Account, request_id: int) -> GuardianRequest:
    request = await GuardianRequest.get_or_none(id=request_id).prefetch_related("guardian", "teen")
    if request is None or me.id not in (request.guardian_id, request.teen_id):
        raise not_found()
    return request


async def accept_request(node: Node, me: Account, request_id: int) -> ParentalControls:
    """The side that did not ask accepts: the teen account gets its guardian (and, if it was not a
    teen account yet, the strict defaults)."""
    request = await _request_for(me, request_id)
    if (request.guardian_id if request.by_guardian else request.teen_id) == me.id:
        raise forbidden("the other side must accept this request")
    await _check_link(request.guardian, request.teen)
    async with in_transaction():
        controls = await ParentalControls.get_or_none(account_id=request.teen_id)
        if controls is None or not in_force(controls):
            if controls is not None:
                await controls.delete()
            controls = await make_teen(node, request.teen, None)
        controls.guardian_id = request.guardian_id
        await controls.save(update_fields=["guardian_id", "updated_at"])
        await GuardianRequest.filter(teen_id=request.teen_id).delete()
    return controls


async def decline_request(me: Account, request_id: int) -> None:
    """The other side declines, or the side that asked withdraws."""
    request = await _request_for(me, request_id)
    await request.delete()


async def ward_controls(guardian: Account, teen_id: int) -> ParentalControls:
    controls = await ParentalControls.get_or_none(account_id=teen_id, guardian_id=guardian.id)
    if not in_force(controls):
        raise not_found()
    return controls


async def wards(guardian: Account) -> list[ParentalControls]:
    return [c for c in await ParentalControls.filter(guardian_id=guardian.id).prefetch_related("account")
            if in_force(c)]


async def unlink(node: Node, guardian: Account, teen_id: int) -> None:
    """Only the guardian ends a link (a teen cannot free itself of its limits). A teen by date of
    birth stays a teen account, back to the strict defaults; one that was a teen only by the link
    becomes an ordinary account."""
    controls = await ward_controls(guardian, teen_id)
    if controls.adult_on is None:
        await controls.delete()
        return
    for key, value in strict_defaults(node).items():
        setattr(controls, key, value)
    controls.guardian_id = None
    await controls.save()


# ----- changing the controls ------------------------------------------------------------------

_ORDER = {a: i for i, a in enumerate(AUDIENCES)}  # nobody < mutuals < everyone


def _limit(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None  # no limit
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise unprocessable(f"{name} must be a number from 0 to {MAX_DAILY}, or null for no limit")
    try:
        number = int(value)
    except ValueError:
        raise unprocessable(f"{name} must be a number from 0 to {MAX_DAILY}, or null for no limit") from None
    if not 0 <= number <= MAX_DAILY:
        raise unprocessable(f"{name} must be a number from 0 to {MAX_DAILY}, or null for no limit")
    return number


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    """Validated new settings for the CONTROLS keys given (others are ignored, as Mastodon ignores
    unknown parameters); 422 for a malformed value."""
    changes: dict[str, Any] = {}
    for key in CONTROLS:
        if key not in values:
            continue
        value = values[key]
        if key == "personalisation":
            if not isinstance(value, bool):
                raise unprocessable("personalisation must be true or false")
            changes[key] = value
        elif key in ("daily_feed_videos", "generations_per_day"):
            changes[key] = _limit(value, key)
        elif key in ("direct_messages", "cameo"):
            if value not in AUDIENCES:
                raise unprocessable(f"{key} must be one of {', '.join(AUDIENCES)}")
            changes[key] = value
        else:
            if not isinstance(value, str) or value not in available_timezones():
                raise unprocessable("timezone must be an IANA time zone name, like Europe/Paris")
            changes[key] = value
    return changes


def _looser(controls: ParentalControls, key: str, value: Any) -> bool:
    """Whether a change gives the teen more than it has (None as a limit: no limit, the loosest)."""
    current = getattr(controls, key)
    if key == "personalisation":
        return value and not current
    if key in ("daily_feed_videos", "generations_per_day"):
        return current is not None and (value is None or value > current)
    if key in ("direct_messages", "cameo"):
        return _ORDER[value] > _ORDER[current]
    return value != current  # the time zone moves the teen's midnight: the guardian's to set


async def update_by_guardian(guardian: Account, teen_id: int, values: dict[str, Any]) -> ParentalControls:
    controls = await ward_controls(guardian, teen_id)
    return await _apply(controls, _changes(values))


async def update_by_teen(teen: Account, values: dict[str, Any]) -> ParentalControls:
    """A teen may make its own settings stricter, never looser (403)."""
    controls = await controls_of(teen)
    if controls is None:
        raise not_found()
    changes = _changes(values)
    looser = [key for key, value in changes.items() if _looser(controls, key, value)]
    if looser:
        raise forbidden(f"only your guardian can loosen {', '.join(looser)}")
    return await _apply(controls, changes)


async def _apply(controls: ParentalControls, changes: dict[str, Any]) -> ParentalControls:
    for key, value in changes.items():
        setattr(controls, key, value)
    await controls.save()
    return controls
