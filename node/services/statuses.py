"""Posting, deleting, favouriting, reblogging and bookmarking statuses."""

from __future__ import annotations

from datetime import datetime, timezone

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from node.context import Node
from node.errors import ApiError, unprocessable
from node.ids import new_id
from node.models import (Account, Bookmark, Favourite, Follow, GenerationJob, IdempotencyKey, MediaAttachment,
                         Mention, Status, StatusTag, Tag, User)
from node.models.statuses import VISIBILITIES
from node.services.notifications import notify
from node.services.visibility import can_see
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
    limit = node.config["limits.max_status_chars"]
    if len(text) + len(spoiler_text) > limit:
        raise unprocessable(f"text is too long (maximum is {limit} characters)")
    if not text.strip() and not media_ids:
        raise unprocessable("text can't be blank")
    if len(media_ids) > 4:
        raise unprocessable("too many media attachments (maximum is 4)")
    parent = None
    if in_reply_to_id is not None:
        parent = await Status.get_or_none(id=in_reply_to_id, deleted_at=None).prefetch_related("account")
        if parent is None or not await can_see(account, parent):
            raise ApiError(404, "Record not found")
    media = []
    for mid in media_ids:
        m = await MediaAttachment.get_or_none(id=mid, account_id=account.id)
        if m is None:
            raise unprocessable(f"media {mid} not found")
        if m.status_id is not None:
            raise unprocessable(f"media {mid} is already attached to a status")
        media.append(m)
    if remix_of_id is None:  # a post of a remixed video links the video's source
        made_by = [m.generation_id for m in media if m.generation_id]
        job = await GenerationJob.filter(id__in=made_by).exclude(remix_of_id=None).first() if made_by else None
        remix_of_id = job.remix_of_id if job else None
    remix_source = None
    if remix_of_id is not None:
        remix_source = await Status.get_or_none(id=remix_of_id, deleted_at=None)
        if remix_source is None or not remix_source.remixable:
            raise unprocessable("the source video does not allow remixing")
    mentioned = await resolve_mentions(node, text)
    tags = find_tags(text)
    html = render(text, mention_urls={(a.acct() if a.domain else a.username).lower(): a.url or a.uri for a in mentioned}
                  | {f"{a.username}@{a.domain or node.config.domain}".lower(): a.url or a.uri for a in mentioned},
                  tag_url=node.urls.tag)
    status_id = new_id()
    async with in_transaction():
        status = await Status.create(
            id=status_id, account=account, uri=node.urls.status(account.username, status_id),
            url=node.urls.status_page(account.username, status_id), text=text, content=html,
            spoiler_text=spoiler_text, sensitive=sensitive or bool(spoiler_text), visibility=visibility,
            language=language, local=True, in_reply_to=parent,
            in_reply_to_account_id=parent.account_id if parent else None,
            in_reply_to_uri=parent.uri if parent else None,
            remix_of=remix_source, remix_of_uri=remix_source.uri if remix_source else None, remixable=remixable)
        for m in media:
            claimed = await MediaAttachment.filter(id=m.id, status_id=None).update(status_id=status.id)
            if not claimed:
                raise unprocessable(f"media {m.id} is already attached to a status")
        for a in mentioned:
            await Mention.create(status=status, account=a)
        for name in tags:
            tag, _ = await Tag.get_or_create(name=name)
            await StatusTag.create(status=status, tag=tag)
        if idempotency_key:
            try:
                await IdempotencyKey.create(user=user, key=idempotency_key, status=status)
            except IntegrityError:
                raise ApiError(409, "A request with this Idempotency-Key is already being processed") from None
        account.last_status_at = datetime.now(timezone.utc)
        await account.save(update_fields=["last_status_at"])
    status.account = account
    await after_status_created(node, status, mentioned, tags, parent)
    return status


async def after_status_created(node: Node, status: Status, mentioned: list[Account], tags: list[str],
                               parent: Status | None) -> None:
    """Notifications, live streams and federation for a new status (local or remote)."""
    from node.serializers import status_json

    author = status.account
    for a in mentioned:
        await notify(node, a, author, "mention", status)
    if parent is not None and parent.account_id != author.id and parent.account.domain is None \
            and parent.account not in mentioned:
        await notify(node, parent.account, author, "mention", status)
    if status.remix_of_id:
        source = await Status.get_or_none(id=status.remix_of_id).prefetch_related("account")
        if source is not None:
            await notify(node, source.account, author, "remix", status)
    streams = [f"user:{author.id}"] if author.domain is None else []
    if status.visibility != "direct":
        followers = await Follow.filter(target_id=author.id, account__domain=None).values_list("account_id", flat=True)
        streams += [f"user:{fid}" for fid in followers]
    if status.visibility == "public" and status.reblog_of_id is None:
        streams.append("public")
        streams.append("public:local" if author.domain is None else "public:remote")
        streams += [f"hashtag:{t}" for t in tags]
        if author.domain is None:
            streams += [f"hashtag:local:{t}" for t in tags]
    listening = await listened_streams(node, streams)
    if listening:  # rendering costs a dozen queries: only for someone who will see it
        await node.stream(listening, "update", await status_json(node, None, status))
    await node.emit("status.created", status=status)


async def listened_streams(node: Node, streams: list[str]) -> list[str]:
    """The streams someone is subscribed to right now, in any web process (one Redis round trip).

    Publishing to the others would reach nobody; a client that subscribes in the same instant may
    miss the event either way.
    """
    if not streams:
        return []
    channels = [f"vitascope:stream:{name}" for name in streams]  # as Node.stream names them
    counts = await node.redis.pubsub_numsub(*channels)
    return [name for name, (_channel, count) in zip(streams, counts) if count]


async def delete_status(node: Node, account: Account, status_id: int) -> Status:
    status = await Status.get_or_none(id=status_id, account_id=account.id, deleted_at=None)
    if status is None:
        raise ApiError(404, "Record not found")
    await mark_deleted(node, status)
    await node.emit("status.deleted", status=status)
    return status


async def mark_deleted(node: Node, status: Status) -> None:
    """Delete content but keep the row as a tombstone (its id and uri stay known)."""
    async with in_transaction():
        await Status.filter(reblog_of_id=status.id).update(deleted_at=datetime.now(timezone.utc))
        status.deleted_at = datetime.now(timezone.utc)
        await status.save(update_fields=["deleted_at"])
        await MediaAttachment.filter(status_id=status.id).update(status_id=None)
        from node.models import Notification

        await Notification.filter(status_id=status.id).delete()
    await node.stream(["public", "public:local", "public:remote", f"user:{status.account_id}"], "delete", str(status.id))


async def favourite(node: Node, account: Account, status: Status, *, uri: str | None = None) -> None:
    """`uri`: the id of a remote account's Like, kept so its Undo finds the row."""
    try:
        fav = await Favourite.create(account=account, status=status, uri=uri)
    except IntegrityError:
        return  # already favourited: idempotent like Mastodon
    await notify(node, await status.account, account, "favourite", status)
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
    author = await status.account
    await notify(node, author, account, "reblog", status)
    from node.serializers import status_json

    followers = await Follow.filter(target_id=account.id, account__domain=None).values_list("account_id", flat=True)
    await node.stream([f"user:{account.id}"] + [f"user:{f}" for f in followers], "update",
                      await status_json(node, None, boost))
    await node.emit("reblog.created", status=boost)
    return boost


async def unreblog(node: Node, account: Account, status: Status) -> None:
    boost = await Status.get_or_none(account_id=account.id, reblog_of_id=status.id, deleted_at=None)
    if boost is not None:
        boost.deleted_at = datetime.now(timezone.utc)
        await boost.save(update_fields=["deleted_at"])
        await node.emit("reblog.deleted", status=boost, account=account)


async def bookmark(account: Account, status: Status, on: bool) -> None:
    if on:
        await Bookmark.get_or_create(account=account, status=status)
    else:
        await Bookmark.filter(account_id=account.id, status_id=status.id).delete()
