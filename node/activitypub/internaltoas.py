"""Our rows → ActivityStreams JSON, through federation.documents (the direction GoToSocial's typeutils
calls internaltoas; the other way is node.activitypub.astointernal)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from federation import documents as ap
from node.activitypub.runtime import federation
from node.context import Node
from node.media.access import media_url, shown_publicly
from node.models import Account, MediaAttachment, Mention, Status, StatusTag
from node.services.cameo_documents import actor_cameos, with_cameos
from provenance.digests import digest_multibase


def actor_info(node: Node, account: Account, *, moved_to: str | None = None) -> ap.ActorInfo:
    urls = node.urls
    u = account.username

    def media(path: str | None) -> str | None:
        return urls.media(path) if path else None

    return ap.ActorInfo(
        id=account.uri, username=u, name=account.display_name or u, summary_html=account.note, url=account.url
        or urls.profile(u), inbox=urls.inbox(u), outbox=urls.outbox(u), followers=urls.followers(u),
        following=urls.following(u), featured=urls.featured(u), shared_inbox=urls.shared_inbox,
        public_key_id=account.public_key_id or urls.key(u), public_key_pem=account.public_key_pem or "",
        ed25519_key_id=account.ed25519_key_id, ed25519_multikey=account.ed25519_public_multikey,
        published=account.created_at, icon_url=media(account.avatar_path), image_url=media(account.header_path),
        manually_approves_followers=account.locked, discoverable=account.discoverable, bot=account.bot,
        fields=list(account.fields_json or []), also_known_as=list(account.also_known_as or []), moved_to=moved_to,
        suspended=account.suspended_at is not None,
    )


async def person(node: Node, account: Account) -> dict[str, Any]:
    moved_to = await Account.get_or_none(id=account.moved_to_id) if account.moved_to_id else None
    cameos, policy = await actor_cameos(node, account)
    return ap.person(replace(actor_info(node, account, moved_to=moved_to.uri if moved_to else None),
                             cameos=cameos, cameo_policy=policy))


def instance_actor(node: Node) -> dict[str, Any]:
    urls = node.urls
    return ap.instance_actor(urls.instance_actor, node.config.domain, inbox=f"{urls.instance_actor}/inbox",
                             outbox=f"{urls.instance_actor}/outbox", shared_inbox=urls.shared_inbox,
                             url=urls.base + "/", key_id=urls.instance_actor_key,
                             public_key_pem=federation(node).instance_public_pem, ca_url=urls.ca_certificates)


def video_info(node: Node, media: MediaAttachment, *, public: bool) -> ap.VideoInfo | None:
    """``public`` False: a followers-only or direct post's video, whose URLs are signed for the post's
    audience, long enough for their servers to fetch it (node.media.access)."""
    url = media_url(node, media.file_path, public=public, federated=True) if media.file_path else media.remote_url
    if not url:
        return None
    poster = (media_url(node, media.preview_path, public=public, federated=True) if media.preview_path
              else media.preview_remote_url)
    digest = digest_multibase(bytes.fromhex(media.sha256)) if media.sha256 and media.file_path else None
    return ap.VideoInfo(url=url, width=media.width, height=media.height, duration=media.duration,
                        blurhash=media.blurhash, poster_url=poster, digest_multibase=digest,
                        description=media.description, media_type=media.content_type,
                        focal_point=(media.focus_x, media.focus_y), manifest_id=media.manifest_id)


async def status_audience(node: Node, status: Status) -> tuple[list[str], list[str], list[Account]]:
    """(to, cc, mentioned accounts) of one of our posts."""
    mentioned = [m.account for m in await Mention.filter(status_id=status.id).prefetch_related("account")]
    to, cc = ap.audience(status.visibility, node.urls.followers(status.account.username), [a.uri for a in mentioned])
    return to, cc, mentioned


async def note_info(node: Node, status: Status) -> ap.NoteInfo:
    return await with_cameos(node, await _note_info(node, status), status)


async def _note_info(node: Node, status: Status) -> ap.NoteInfo:
    account = status.account
    to, cc, mentioned = await status_audience(node, status)
    media = await MediaAttachment.filter(status_id=status.id).order_by("id")
    videos = [v for v in (video_info(node, m, public=shown_publicly(status)) for m in media) if v]
    tags = await StatusTag.filter(status_id=status.id).prefetch_related("tag")
    ai = any((m.provenance or {}).get("ai_generated") for m in media)
    manifest = next((m.manifest_id for m in media if m.manifest_id), None)
    return ap.NoteInfo(
        id=status.uri, url=status.url or node.urls.status_page(account.username, status.id),
        attributed_to=account.uri, content_html=status.content, published=status.created_at, to=to, cc=cc,
        summary=status.spoiler_text, sensitive=status.sensitive, updated=status.edited_at,
        in_reply_to=status.in_reply_to_uri, language=status.language, attachments=videos,
        mentions=[(a.uri, "@" + (f"{a.username}@{a.domain}" if a.domain else f"{a.username}@{node.config.domain}"))
                  for a in mentioned],
        hashtags=[(node.urls.tag(t.tag.name), "#" + t.tag.name) for t in tags],
        remix_of=status.remix_of_uri, remixable=status.remixable, ai_generated=ai, manifest_id=manifest,
        replies=node.urls.status_replies(account.username, status.id),
    )


async def note(node: Node, status: Status, *, with_context: bool = True) -> dict[str, Any]:
    return ap.note(await note_info(node, status), with_context=with_context)


async def create(node: Node, status: Status) -> dict[str, Any]:
    return ap.create(node.urls.status_activity(status.account.username, status.id), await note(node, status))


async def announce(node: Node, boost: Status) -> dict[str, Any]:
    original = boost.reblog_of
    account = boost.account
    followers = node.urls.followers(account.username)
    original_author = await original.account
    to, cc = (([ap.AS_PUBLIC], [followers, original_author.uri]) if boost.visibility == "public"
              else ([followers], [ap.AS_PUBLIC, original_author.uri]))
    return ap.activity("Announce", boost.uri, account.uri, original.uri, to=to, cc=cc, published=boost.created_at)
