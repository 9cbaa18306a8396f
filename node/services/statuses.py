"""Posting, editing, deleting, favouriting, reblogging and bookmarking statuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import cache
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from node.context import Node
from node.errors import ApiError, not_found, unprocessable
from node import ids
from node.ids import new_id
from node.models import (Account, Bookmark, Favourite, Follow, GenerationJob, IdempotencyKey, MediaAttachment,
                         Mention, Notification, Status, StatusEdit, StatusTag, Tag, User, UserList)
from node.models.statuses import VISIBILITIES
from node.services import conversations, lists, parental
from node.services.media import parse_focus, unpublish_files
from node.services.visibility import can_see, seen_status
from node.text import find_mentions, find_tags, render


async def resolve_mentions(node: Node, text: str) -> list[Account]:
    """Local @name and known remote @name@host; unknown ones are left as text (federation may
    resolve them before calling us)."""
    found: list[Account] = []
    for username, domain in find_mentions(text):
        if domain is None or domain.lower() == node.config.domain:
            account = await Account.get_or_none(domain=None, username__iexact=username, deleted_at=None)
        else:
            account = await Account.get_or_none(domain=domain.lower(), username__iexact=username, deleted_at=None)
        if account and account not in found:
            found.append(account)
    return found


def check_text(node: Node, text: str, spoiler_text: str, media_ids: list[int]) -> None:
    limit = node.config["limits.max_status_chars"]
    if len(text) + len(spoiler_text) > limit:
        raise unprocessable(f"text is too long (maximum is {limit} characters)")
    if not text.strip() and not media_ids:
        raise unprocessable("text can't be blank")
    if len(media_ids) > 4:
        raise unprocessable("too many media attachments (maximum is 4)")


async def own_media(account: Account, media_ids: list[int], status_id: int | None = None) -> list[MediaAttachment]:
    """The author's own media for a post. A local MediaAttachment exists only for a video that passed
    C2PA verification at upload (or came from our workers), so owning it is the whole check; it may
    not belong to another post (``status_id``: the post being edited, which may keep its own)."""
    media = []
    for mid in media_ids:
        m = await MediaAttachment.get_or_none(id=mid, account_id=account.id)
        if m is None:
            raise unprocessable(f"media {mid} not found")
        if m.status_id is not None and m.status_id != status_id:
            raise unprocessable(f"media {mid} is already attached to a status")
        media.append(m)
    return media


async def compose(node: Node, text: str) -> tuple[str, list[Account], list[str]]:
    """A local status's text as HTML, with the accounts it mentions and its hashtags."""
    mentioned = await resolve_mentions(node, text)
    tags = find_tags(text)
    html = render(text, mention_urls={(a.acct() if a.domain else a.username).lower(): a.url or a.uri for a in mentioned}
                  | {f"{a.username}@{a.domain or node.config.domain}".lower(): a.url or a.uri for a in mentioned},
                  tag_url=node.urls.tag)
    return html, mentioned, tags


async def create_status(node: Node, user: User, *, text: str, visibility: str | None, spoiler_text: str = "",
                        sensitive: bool = False, in_reply_to_id: int | None = None, media_ids: list[int] = (),
                        language: str | None = None, idempotency_key: str | None = None,
                        remix_of_id: int | None = None, remixable: bool = True) -> Status:
    account = user.account
    if idempotency_key:
        previous = await IdempotencyKey.get_or_none(user=user, key=idempotency_key).prefetch_related("status")
        if previous is not None:
            return previous.status
    visibility = visibility or "public"
    if visibility not in VISIBILITIES:
        raise unprocessable(f"visibility must be one of {', '.join(VISIBILITIES)}")
    check_text(node, text, spoiler_text, media_ids)
    parent = None
    if in_reply_to_id is not None:
        parent = await Status.get_or_none(id=in_reply_to_id, deleted_at=None).prefetch_related("account")
        if parent is None or not await can_see(account, parent):
            raise not_found()
    media = await own_media(account, media_ids)
    remix_source = None
    if remix_of_id is not None:  # one the author may not see is answered as an unknown id
        remix_source = await seen_status(account, remix_of_id)
        if remix_source is None:
            raise not_found()
    else:  # a post of a remixed video links the video's source, if its author may (still) see it
        made_by = [m.generation_id for m in media if m.generation_id]
        job = await GenerationJob.filter(id__in=made_by).exclude(remix_of_id=None).first() if made_by else None
        remix_source = await seen_status(account, job.remix_of_id) if job else None
    if remix_source is not None and not remix_source.remixable:
        raise unprocessable("the source video does not allow remixing")
    html, mentioned, tags = await compose(node, text)
    if visibility == "direct":
        await parental.direct_recipients(account, mentioned)
    status_id = new_id()
    status = Status(
        id=status_id, account=account, uri=node.urls.status(account.username, status_id),
        url=node.urls.status_page(account.username, status_id), text=text, content=html,
        spoiler_text=spoiler_text, sensitive=sensitive or bool(spoiler_text), visibility=visibility,
        language=language, local=True, in_reply_to=parent,
        in_reply_to_account_id=parent.account_id if parent else None,
        in_reply_to_uri=parent.uri if parent else None,
        remix_of=remix_source, remix_of_uri=remix_source.uri if remix_source else None, remixable=remixable)

    async def keep_idempotency_key() -> None:
        try:
            await IdempotencyKey.create(user=user, key=idempotency_key, status=status)
        except IntegrityError:
            raise ApiError(409, "A request with this Idempotency-Key is already being processed") from None

    await insert_status(status, media=media, mentioned=mentioned, tags=tags,
                        within=keep_idempotency_key if idempotency_key else None)
    await after_status_created(node, status, mentioned, tags, parent)
    return status


async def insert_status(status: Status, *, media: list[MediaAttachment], mentioned: list[Account], tags: list[str],
                        within: Callable[[], Awaitable[None]] | None = None) -> None:
    """The one insert of a new status, local or remote (``status`` unsaved, its ``account`` set): the
    row, its media (each must be unattached), mentions and hashtags, and its author's last_status_at,
    in one transaction; ``within`` runs in that transaction too (a local post's idempotency key, the
    replies that waited for a remote one)."""
    author = status.account
    async with in_transaction():
        await status.save(force_create=True)
        for m in media:
            claimed = await MediaAttachment.filter(id=m.id, status_id=None).update(status_id=status.id)
            if not claimed:
                raise unprocessable(f"media {m.id} is already attached to a status")
        for a in mentioned:
            await Mention.create(status=status, account=a)
        for name in tags:
            tag, _ = await Tag.get_or_create(name=name)
            await StatusTag.create(status=status, tag=tag)
        if within is not None:
            await within()
        author.last_status_at = datetime.now(timezone.utc)
        await author.save(update_fields=["last_status_at"])


async def insert_statuses(new: list[tuple[dict[str, Any], Account, list[Account], list[str]]], *,
                          within: Callable[[list[Status]], Awaitable[None]] | None = None) -> list[Status]:
    """insert_status for many new statuses without media (a run of remote posts), with a few
    statements for all: (column values of the status, its author, mentioned accounts, hashtags)
    each; returns the statuses (saved, ``account`` set). ``within(statuses)`` runs in the transaction.

    The rows go in by one prepared statement per table (``executemany``), and the Status objects
    are made as the ORM makes those it reads: its per-field checks and bulk_create cost more than
    the inserts themselves (about 100 µs a post). ``values`` must be every field's stored value
    (``status_values`` fills the defaults)."""
    names = {name for _, _, _, tags in new for name in tags}
    known = dict(await Tag.filter(name__in=list(names)).values_list("name", "id")) if names else {}
    authors = {author.id: author for _, author, _, _ in new}
    statuses = []
    for values, author, _, _ in new:
        for column, field in _validated_status_columns():  # what Status.save checks (lengths, ranges)
            field.validate(values[column])
        status = Status._init_from_db(**values)
        status.account = author
        statuses.append(status)
    now = datetime.now(timezone.utc)
    async with in_transaction():
        for name in names - known.keys():
            known[name] = (await Tag.get_or_create(name=name))[0].id
        await _insert_rows(Status, [values for values, _, _, _ in new])
        await _insert_rows(Mention, [{"id": new_id(), "created_at": now, "status_id": values["id"], "account_id": a.id}
                                     for values, _, mentioned, _ in new for a in mentioned])
        await _insert_rows(StatusTag, [{"id": new_id(), "created_at": now, "status_id": values["id"],
                                        "tag_id": known[name]} for values, _, _, tags in new for name in tags])
        await Account.filter(id__in=list(authors)).update(last_status_at=now)
        if within is not None:
            await within(statuses)
    for author in authors.values():
        author.last_status_at = now
    return statuses


def status_values(**values: Any) -> dict[str, Any]:
    """Every stored field of a new status (by column): ``values`` over the model's defaults."""
    return {**_status_defaults(), **values}


@cache
def _status_defaults() -> dict[str, Any]:
    """The constant defaults of Status's columns (text "", sensitive False, edited_at None…); None
    for the id and the foreign keys. Read once the models are initialised (foreign key columns
    exist only then)."""
    meta = Status._meta
    return {column: None if callable(meta.fields_map[name].default) else meta.fields_map[name].default
            for name, column in meta.fields_db_projection.items()}


@cache
def _validated_status_columns() -> list[tuple[str, Any]]:
    """(column, field) of the Status fields that check their values on save."""
    meta = Status._meta
    return [(column, meta.fields_map[name]) for name, column in meta.fields_db_projection.items()
            if meta.fields_map[name].validators]


async def _insert_rows(model: type[Model], rows: list[dict[str, Any]]) -> None:
    """INSERT rows (each with the same columns, as Python values the driver takes) by one prepared
    statement."""
    if not rows:
        return
    db = model._meta.db
    columns = ", ".join(f'"{column}"' for column in rows[0])
    if db.capabilities.dialect == "postgres":
        marks = ", ".join(f"${n}" for n in range(1, len(rows[0]) + 1))
    else:
        marks = ", ".join("?" * len(rows[0]))
    await db.execute_many(f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES ({marks})',
                          [list(row.values()) for row in rows])


async def after_status_created(node: Node, status: Status, mentioned: list[Account], tags: list[str],
                               parent: Status | None, *, listening: list[str] | None = None) -> None:
    """`status.created` for a new status (local or remote): notifications, live streams and direct
    conversations (node.services.surface), then federation; ``listening``: its listened streams,
    when looked up already (``new_statuses_listening``)."""
    await node.emit("status.created", status=status,
                    details={"mentioned": mentioned, "tags": tags, "parent": parent, "listening": listening})


async def new_statuses_listening(node: Node, statuses: list[tuple[Status, list[str]]]) -> list[list[str]]:
    """The listened streams of each of many new (status, tags) — a run of remote posts — with each
    author's followers and lists looked up once and one Redis round trip for all."""
    followers: dict[int, list[str]] = {}
    author_lists: dict[int, list[UserList]] = {}
    per_status = []
    for status, tags in statuses:
        author_id = status.account_id
        if author_id not in followers:
            followers[author_id] = await follower_streams(author_id)
            author_lists[author_id] = await lists.member_lists(author_id)
        per_status.append(await status_streams(status, tags, followers=followers[author_id],
                                               author_lists=author_lists[author_id]))
    listening = set(await node.listened(list(dict.fromkeys(s for streams in per_status for s in streams))))
    return [[name for name in streams if name in listening] for streams in per_status]


async def status_streams(status: Status, tags: list[str], *, deleting: bool = False,
                         followers: list[str] | None = None, author_lists: list[UserList] | None = None) -> list[str]:
    """The streams that show a status: its author's and local followers' homes (not of those who put
    the author in an exclusive list), the lists it shows in, and for public posts the public and
    hashtag timelines (not for a silenced author, unless ``deleting``: it may have been silenced
    since they showed it). Each subscriber then gets only what its timeline would list
    (node.api.streaming). ``followers`` and ``author_lists``: the author's, when looked up already."""
    author = status.account
    streams = [f"user:{author.id}"] if author.domain is None else []
    if status.visibility != "direct":
        streams += followers if followers is not None else await follower_streams(author.id)
        streams += await lists.list_streams(status, author_lists)
    if status.visibility == "public" and status.reblog_of_id is None and (deleting or author.silenced_at is None):
        streams.append("public")
        streams.append("public:local" if author.domain is None else "public:remote")
        streams += [f"hashtag:{t}" for t in tags]
        if author.domain is None:
            streams += [f"hashtag:local:{t}" for t in tags]
    return streams


async def follower_streams(author_id: int) -> list[str]:
    """The home streams of the author's local followers, less those whose exclusive lists hold it."""
    followers = await Follow.filter(target_id=author_id, account__domain=None).values_list("account_id", flat=True)
    exclusive = await lists.exclusive_owner_ids(author_id) if followers else set()
    return [f"user:{fid}" for fid in followers if fid not in exclusive]


async def edit_status(node: Node, account: Account, status_id: int, *, text: str, spoiler_text: str = "",
                      sensitive: bool = False, language: str | None = None, media_ids: list[int] = (),
                      media_attributes: list[dict[str, Any]] = ()) -> Status:
    """Edit one of the account's posts as Mastodon's `PUT /api/v1/statuses/:id` does.

    Every field is replaced by what the client sent: media left out of ``media_ids`` are removed,
    an absent spoiler is cleared; only the language is kept unless given. Visibility, reply and
    remix source cannot change. ``media_attributes`` (`{"id", "description", "focus"}`) edit the
    kept media. An edit that changes nothing records nothing (no revision, no `edited_at`).
    """
    status = await Status.get_or_none(id=status_id, account_id=account.id, deleted_at=None)
    if status is None:
        raise not_found()
    if status.reblog_of_id:
        raise unprocessable("a reblog cannot be edited")
    media_ids = list(dict.fromkeys(media_ids))
    check_text(node, text, spoiler_text, media_ids)
    media = await own_media(account, media_ids, status.id)
    media_updates = _media_updates(media, media_attributes)
    html, mentioned, tags = await compose(node, text)
    status.account = account
    await save_edit(node, status, account, fields={
        "text": text, "content": html, "spoiler_text": spoiler_text, "sensitive": sensitive or bool(spoiler_text),
        "language": language or status.language}, media=media, media_updates=media_updates, tags=tags,
        mentioned=mentioned, edited_at=datetime.now(timezone.utc))
    return status


def _media_updates(media: list[MediaAttachment], attributes: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Validated description/focus changes by media id; attributes of media not kept are ignored
    (as Mastodon). A custom thumbnail is refused: the poster is always a frame of the signed video."""
    kept = {m.id: m for m in media}
    updates: dict[int, dict[str, Any]] = {}
    for attributes_of_one in attributes:
        if not isinstance(attributes_of_one, dict):
            raise unprocessable("media_attributes must be a list of objects")
        if attributes_of_one.get("thumbnail") not in (None, ""):
            raise unprocessable("custom thumbnails are not supported: the poster is a frame of the video")
        m = kept.get(ids.parse(attributes_of_one.get("id")))
        if m is None:
            continue
        values: dict[str, Any] = {}
        description = attributes_of_one.get("description")
        if description is not None:
            if not isinstance(description, str) or len(description) > 1500:
                raise unprocessable("description must be a string of at most 1500 characters")
            values["description"] = description
        focus = attributes_of_one.get("focus")
        if focus not in (None, ""):
            if not isinstance(focus, str):
                raise unprocessable("focus must be two numbers, like 0.5,-0.2")
            values["focus_x"], values["focus_y"] = parse_focus(focus)
        changed = {k: v for k, v in values.items() if getattr(m, k) != v}
        if changed:
            updates[m.id] = changed
    return updates


async def save_edit(node: Node, status: Status, editor: Account, *, fields: dict[str, Any],
                    media: list[MediaAttachment], tags: list[str], mentioned: list[Account], edited_at: datetime,
                    media_updates: dict[int, dict[str, Any]] | None = None) -> bool:
    """Apply an edit of a local or remote status (``status.account`` loaded), then notify, stream and
    federate it. False when it changes nothing, and then nothing is recorded.

    In one transaction: the first edit saves the original as a revision dated when it was posted,
    the status and its media, hashtags and mentions change, and the result is saved as a revision.
    ``media`` are the kept and added attachments (added ones must be unattached); removed ones are
    detached. Mentions are only added: whoever was mentioned keeps seeing the post, as on Mastodon.
    """
    media_updates = media_updates or {}
    media = sorted(media, key=lambda m: m.id)  # the order statuses show them in
    if status.visibility == "direct":  # an edit cannot add whom the teen rules keep out
        mentioned = await parental.direct_recipients(status.account, mentioned)
    before = await MediaAttachment.filter(status_id=status.id).order_by("id")
    if (not media_updates and [m.id for m in before] == [m.id for m in media]
            and all(getattr(status, name) == value for name, value in fields.items())):
        return False
    async with in_transaction():
        if not await StatusEdit.filter(status_id=status.id).exists():
            await _save_revision(status, status.account_id, status.created_at, before)
        kept = {m.id for m in media}
        removed = [m.id for m in before if m.id not in kept]
        if removed:
            await MediaAttachment.filter(id__in=removed, status_id=status.id).update(status_id=None)
        for m in media:
            if m.status_id != status.id:
                if not await MediaAttachment.filter(id=m.id, status_id=None).update(status_id=status.id):
                    raise unprocessable(f"media {m.id} is already attached to a status")
                m.status_id = status.id
            if m.id in media_updates:
                await MediaAttachment.filter(id=m.id).update(**media_updates[m.id])
                for name, value in media_updates[m.id].items():
                    setattr(m, name, value)
        for name, value in fields.items():
            setattr(status, name, value)
        status.edited_at = edited_at
        await status.save(update_fields=[*fields, "edited_at"])
        await StatusTag.filter(status_id=status.id).delete()
        for name in tags:
            tag, _ = await Tag.get_or_create(name=name)
            await StatusTag.create(status=status, tag=tag)
        known = set(await Mention.filter(status_id=status.id).values_list("account_id", flat=True))
        added = [a for a in mentioned if a.id not in known]
        for a in added:
            await Mention.create(status=status, account=a)
        await _save_revision(status, editor.id, edited_at, media)
    await after_status_edited(node, status, tags, added)
    return True


async def _save_revision(status: Status, account_id: int, at: datetime, media: list[MediaAttachment]) -> None:
    await StatusEdit.create(status=status, account_id=account_id, text=status.text, content=status.content,
                            spoiler_text=status.spoiler_text, sensitive=status.sensitive, created_at=at,
                            media_ids=[m.id for m in media], media_descriptions=[m.description for m in media])


async def after_status_edited(node: Node, status: Status, tags: list[str], mentioned: list[Account]) -> None:
    """`status.updated` after an edit: newly mentioned users and local boosters are notified and the
    streams that show the post updated (node.services.surface), then federation."""
    await node.emit("status.updated", status=status, details={"tags": tags, "mentioned": mentioned})


async def delete_status(node: Node, account: Account, status_id: int) -> Status:
    status = await Status.get_or_none(id=status_id, account_id=account.id, deleted_at=None)
    if status is None:
        raise not_found()
    await mark_deleted(node, status)
    await node.emit("status.deleted", status=status)
    return status


async def mark_deleted(node: Node, status: Status) -> None:
    """Delete content but keep the row as a tombstone (its id and uri stay known). Whatever removed
    it (its author, a moderator, its account's deletion, a remote Delete, a revoked cameo grant),
    `status.removed` then names the generations whose videos it showed: its media are detached here."""
    generations = list(await MediaAttachment.filter(status_id=status.id, generation_id__not_isnull=True)
                       .values_list("generation_id", flat=True)) if status.local else []
    boosts = await Status.filter(reblog_of_id=status.id, deleted_at=None)
    files = await MediaAttachment.filter(status_id=status.id).values_list("file_path", "preview_path")
    async with in_transaction():
        await Status.filter(reblog_of_id=status.id).update(deleted_at=datetime.now(timezone.utc))
        status.deleted_at = datetime.now(timezone.utc)
        await status.save(update_fields=["deleted_at"])
        await MediaAttachment.filter(status_id=status.id).update(status_id=None)
        await Notification.filter(status_id=status.id).delete()
        await conversations.status_deleted(status)
    for gone in (status, *boosts):
        await stream_deletion(node, gone)
    await unpublish_files(node, [path for pair in files for path in pair if path])
    await node.emit("status.removed", status=status, details={"generations": generations})


async def stream_deletion(node: Node, status: Status) -> None:
    """`delete` (just the id) to every stream that may have shown the status or boost, as Mastodon's
    RemoveStatusService: its author's and followers' homes, the lists and the public and hashtag
    timelines it reached."""
    status.account = await Account.get(id=status.account_id)
    tags = await StatusTag.filter(status_id=status.id).values_list("tag__name", flat=True)
    listening = await node.listened(await status_streams(status, list(tags), deleting=True))
    if listening:
        await node.stream(listening, "delete", str(status.id))


async def favourite(node: Node, account: Account, status: Status, *, uri: str | None = None) -> None:
    """`uri`: the id of a remote account's Like, kept so its Undo finds the row."""
    try:
        fav = await Favourite.create(account=account, status=status, uri=uri)
    except IntegrityError:
        return  # already favourited: idempotent like Mastodon
    await node.emit("favourite.created", favourite=fav)


async def unfavourite(node: Node, account: Account, status: Status) -> None:
    fav = await Favourite.get_or_none(account_id=account.id, status_id=status.id)
    if fav is not None:
        await fav.delete()
        await node.emit("favourite.deleted", favourite=fav, status=status, account=account)


async def reblog(node: Node, account: Account, status: Status, visibility: str = "public", *,
                 uri: str | None = None) -> Status:
    """`uri`: the id of a remote account's Announce (local boosts get one of ours)."""
    if status.reblog_of_id:
        status = await Status.get(id=status.reblog_of_id)
    if status.visibility not in ("public", "unlisted"):
        raise ApiError(422, "Validation failed: this status cannot be reblogged")
    existing = await Status.get_or_none(account_id=account.id, reblog_of_id=status.id, deleted_at=None)
    if existing is not None:
        return existing
    rid = new_id()
    boost = await Status.create(id=rid, account=account, reblog_of=status, visibility=visibility,
                                uri=uri or node.urls.activity(account.username, "announces", rid),
                                local=account.domain is None)
    boost.account = account
    boost.reblog_of = status
    await node.emit("reblog.created", status=boost)
    return boost


async def unreblog(node: Node, account: Account, status: Status) -> None:
    boost = await Status.get_or_none(account_id=account.id, reblog_of_id=status.id, deleted_at=None)
    if boost is not None:
        boost.deleted_at = datetime.now(timezone.utc)
        await boost.save(update_fields=["deleted_at"])
        await stream_deletion(node, boost)
        await node.emit("reblog.deleted", status=boost, account=account)


async def bookmark(account: Account, status: Status, on: bool) -> None:
    if on:
        await Bookmark.get_or_create(account=account, status=status)
    else:
        await Bookmark.filter(account_id=account.id, status_id=status.id).delete()
