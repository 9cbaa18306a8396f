"""ActivityStreams documents: built from plain data (``to_ap``) and read back (``parse_*``).

The node turns its rows into the small dataclasses below and calls these
converters, so the wire shape of every object lives in one file and needs no
database. Reading goes the other way: ``parse_*`` accept what real peers send
(strings or objects or lists where the spec allows each) and return plain data
with the few fields we use, raising ``DocumentError`` for documents we cannot
use at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from provenance.consent import Cameo, CameoAuthorization, CameoPolicy, CameoRequest, ConsentError, ResolvedKey, sign

from .vocab import AP_CONTEXT, AS_PUBLIC, LD_MEDIA_TYPE

# FEP-844e: what this server implements, so peers (Fedify) skip the cavage retry.
RFC9421_IMPLEMENTS = {"name": "RFC-9421: HTTP Message Signatures", "href": "https://datatracker.ietf.org/doc/html/rfc9421"}
FEP_TERMS: dict[str, Any] = {"implements": {"@id": "https://w3id.org/fep/844e/implements", "@container": "@set"}}
CONTEXT: list[Any] = AP_CONTEXT[:-1] + [AP_CONTEXT[-1] | FEP_TERMS]

PUBLIC_ALIASES = frozenset({AS_PUBLIC, "as:Public", "Public"})
NOTE_TYPES = frozenset({"Note", "Article", "Page", "Question", "Video", "Image", "Audio", "Event"})
ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
PAGE_SIZE = 20
# alsoKnownAs entries kept from a remote actor (Mastodon users list a handful of old accounts).
MAX_ALIASES = 20
MAX_CAMEO_GRANTS = 8  # a video shows at most two cameos; reading a few more lets the node refuse, not miss, extras


class DocumentError(ValueError):
    """A remote document lacks what we need to use it (the message says what)."""


# --------------------------------------------------------------------------- helpers


def origin(url: str | None) -> str:
    """scheme-less ``host[:port]`` of a URL, lowercased; '' when there is none.

    Ports matter: two nodes on one host are different origins.
    """
    if not url or not isinstance(url, str):
        return ""
    return _origin(url)


# The usual shape of an id: an ASCII scheme and authority (RFC 3986 characters, no brackets) and
# printable ASCII after it. Anything else goes to urlsplit; the answers agree wherever this matches.
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9.:@%_~!$&'()*+,;=-]*)(?:[/?#][!-~]*)?")


@lru_cache(maxsize=4096)  # the inbox asks about the same actor and ids several times per POST
def _origin(url: str) -> str:
    plain = _PLAIN_URL.fullmatch(url)
    if plain is not None:
        return plain[1].lower()
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def same_origin(a: str | None, b: str | None) -> bool:
    return bool(origin(a)) and origin(a) == origin(b)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value: Any) -> str | None:
    """The id of a reference: a string, an object with ``id``, or the first of a list."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ref = value.get("id") or value.get("href")
        return ref if isinstance(ref, str) else None
    return None


def ids_of(value: Any) -> list[str]:
    return [i for i in (id_of(v) for v in as_list(value)) if i]


def type_of(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if isinstance(k, str)), None)
    return kind if isinstance(kind, str) else None


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def xsd_duration(seconds: float) -> str:
    """``PT5.25S``: ActivityStreams ``duration`` is an xsd:duration."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


_DURATION = re.compile(r"^P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(value: Any) -> float | None:
    """Seconds from an xsd:duration (``PT5S``) or a bare number (some peers send one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip())
    if not match or value.strip() in ("P", "PT"):
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _map_first(doc: dict[str, Any], name: str) -> tuple[str, str | None]:
    """``content`` or the first ``contentMap`` entry, and its language."""
    plain = doc.get(name)
    mapped = doc.get(name + "Map")
    if isinstance(mapped, dict):
        for language, text in mapped.items():
            if isinstance(text, str):
                return (plain if isinstance(plain, str) else text), language
    return (plain if isinstance(plain, str) else ""), None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 < value < 100_000:
        return value
    if isinstance(value, float) and 0 < value < 100_000:
        return int(value)
    return None


# --------------------------------------------------------------------------- actors (to_ap)


@dataclass(frozen=True)
class ActorInfo:
    """A local account as its actor document shows it."""

    id: str
    username: str
    name: str
    summary_html: str
    url: str
    inbox: str
    outbox: str
    followers: str
    following: str
    featured: str
    shared_inbox: str
    public_key_id: str
    public_key_pem: str
    ed25519_key_id: str | None
    ed25519_multikey: str | None
    published: datetime
    icon_url: str | None = None
    image_url: str | None = None
    manually_approves_followers: bool = False
    discoverable: bool = True
    bot: bool = False
    fields: list[dict[str, str]] = field(default_factory=list)
    # Account migration as Mastodon does it: the ids this actor also is, and the actor it moved to.
    also_known_as: list[str] = field(default_factory=list)
    moved_to: str | None = None
    # Suspended by its server's admins: the actor stays, with `suspended` and no profile (as Mastodon).
    suspended: bool = False
    # Cameos: the collection of this actor's Cameo objects and who may use them (FEP-7aa9-style, actor level).
    cameos: str | None = None
    cameo_policy: CameoPolicy | None = None


def public_key(key_id: str, owner: str, pem: str) -> dict[str, Any]:
    return {"id": key_id, "owner": owner, "publicKeyPem": pem}


def multikey(key_id: str, controller: str, multibase: str) -> dict[str, Any]:
    """FEP-521a verification method for the Ed25519 key that signs our FEP-8b32 proofs."""
    return {"id": key_id, "type": "Multikey", "controller": controller, "publicKeyMultibase": multibase}


def person(actor: ActorInfo) -> dict[str, Any]:
    if actor.suspended:  # Mastodon's ActorSerializer for an unavailable account: keys and endpoints only
        actor = replace(actor, name=actor.username, summary_html="", icon_url=None, image_url=None,
                        manually_approves_followers=False, discoverable=False, fields=[], also_known_as=[],
                        moved_to=None)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": actor.id,
        "type": "Service" if actor.bot else "Person",
        "preferredUsername": actor.username,
        "name": actor.name,
        "summary": actor.summary_html,
        "url": actor.url,
        "published": iso(actor.published),
        "inbox": actor.inbox,
        "outbox": actor.outbox,
        "followers": actor.followers,
        "following": actor.following,
        "featured": actor.featured,
        "endpoints": {"sharedInbox": actor.shared_inbox},
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "discoverable": actor.discoverable,
        "indexable": actor.discoverable,
        "publicKey": public_key(actor.public_key_id, actor.id, actor.public_key_pem),
        "implements": [RFC9421_IMPLEMENTS],
        "attachment": [{"type": "PropertyValue", "name": f.get("name", ""), "value": f.get("value", "")}
                       for f in actor.fields],
    }
    if actor.ed25519_key_id and actor.ed25519_multikey:
        doc["assertionMethod"] = [multikey(actor.ed25519_key_id, actor.id, actor.ed25519_multikey)]
    if actor.icon_url:
        doc["icon"] = {"type": "Image", "url": actor.icon_url}
    if actor.image_url:
        doc["image"] = {"type": "Image", "url": actor.image_url}
    if actor.also_known_as:
        doc["alsoKnownAs"] = list(actor.also_known_as)
    if actor.moved_to:
        doc["movedTo"] = actor.moved_to
    if actor.suspended:
        doc["suspended"] = True
    elif actor.cameos:
        doc["cameos"] = actor.cameos
        if actor.cameo_policy is not None:
            doc["interactionPolicy"] = actor.cameo_policy.to_json()
    return doc


def instance_actor(actor_id: str, domain: str, *, inbox: str, outbox: str, shared_inbox: str, url: str,
                   key_id: str, public_key_pem: str, ca_url: str | None = None) -> dict[str, Any]:
    """The ``Application`` that signs our fetches; always fetchable without a signature.

    `ca_url` points peers at the C2PA CAs they should pin for this node's videos."""
    doc = {
        "@context": CONTEXT,
        "id": actor_id,
        "type": "Application",
        "preferredUsername": domain,
        "name": domain,
        "url": url,
        "inbox": inbox,
        "outbox": outbox,
        "endpoints": {"sharedInbox": shared_inbox},
        "manuallyApprovesFollowers": True,
        "publicKey": public_key(key_id, actor_id, public_key_pem),
        "implements": [RFC9421_IMPLEMENTS],
    }
    if ca_url:
        doc["c2paTrustAnchors"] = ca_url
    return doc


def tombstone(object_id: str, former_type: str | None = None, deleted: datetime | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CONTEXT, "id": object_id, "type": "Tombstone"}
    if former_type:
        doc["formerType"] = former_type
    if deleted:
        doc["deleted"] = iso(deleted)
    return doc


# --------------------------------------------------------------------------- notes (to_ap)


@dataclass(frozen=True)
class VideoInfo:
    """A video attachment: Mastodon and Loops play a ``Document`` with ``video/mp4``."""

    url: str
    width: int | None
    height: int | None
    duration: float | None
    blurhash: str | None
    poster_url: str | None
    digest_multibase: str | None
    description: str = ""
    media_type: str = "video/mp4"
    focal_point: tuple[float, float] = (0.0, 0.0)
    manifest_id: str | None = None


@dataclass(frozen=True)
class NoteInfo:
    id: str
    url: str
    attributed_to: str
    content_html: str
    published: datetime
    to: list[str]
    cc: list[str]
    summary: str = ""
    sensitive: bool = False
    updated: datetime | None = None
    in_reply_to: str | None = None
    language: str | None = None
    attachments: list[VideoInfo] = field(default_factory=list)
    mentions: list[tuple[str, str]] = field(default_factory=list)  # (actor id, "@user@host")
    hashtags: list[tuple[str, str]] = field(default_factory=list)  # (tag page url, "#name")
    remix_of: str | None = None
    remixable: bool = True
    ai_generated: bool = False
    manifest_id: str | None = None
    replies: str | None = None
    cameo_grants: list[str] = field(default_factory=list)  # CameoAuthorization ids (with a Mention of each owner)


def document(video: VideoInfo) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "Document", "mediaType": video.media_type, "url": video.url,
                           "name": video.description or None}
    if video.width and video.height:
        doc["width"], doc["height"] = video.width, video.height
    if video.duration is not None:
        doc["duration"] = xsd_duration(video.duration)
    if video.blurhash:
        doc["blurhash"] = video.blurhash
    if video.focal_point != (0.0, 0.0):
        doc["focalPoint"] = list(video.focal_point)
    if video.poster_url:
        doc["icon"] = {"type": "Image", "mediaType": "image/jpeg", "url": video.poster_url}
    if video.digest_multibase:
        doc["digestMultibase"] = video.digest_multibase
    if video.manifest_id:
        doc["manifestId"] = video.manifest_id
    return doc


def note(info: NoteInfo, *, with_context: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CONTEXT} if with_context else {}
    doc.update({
        "id": info.id,
        "type": "Note",
        "url": info.url,
        "attributedTo": info.attributed_to,
        "to": info.to,
        "cc": info.cc,
        "published": iso(info.published),
        "summary": info.summary or None,
        "sensitive": info.sensitive,
        "inReplyTo": info.in_reply_to,
        "content": info.content_html,
        "attachment": [document(v) for v in info.attachments],
        "tag": [{"type": "Mention", "href": href, "name": name} for href, name in info.mentions]
        + [{"type": "Hashtag", "href": href, "name": name} for href, name in info.hashtags],
        "remixable": info.remixable,
    })
    if info.language:
        doc["contentMap"] = {info.language: info.content_html}
    if info.updated:
        doc["updated"] = iso(info.updated)
    if info.replies:
        doc["replies"] = info.replies
    if info.remix_of:
        doc["remixOf"] = info.remix_of
        # FEP-e232: an object link, so servers that know nothing of remixes still show the source.
        doc["tag"].append({"type": "Link", "mediaType": LD_MEDIA_TYPE, "href": info.remix_of,
                           "rel": "https://vitascope.social/ns#remixOf", "name": "Remix source"})
    if info.ai_generated:
        doc["aiGenerated"] = True
    if info.manifest_id:
        doc["manifestId"] = info.manifest_id
    if info.cameo_grants:
        doc["cameoGrant"] = list(info.cameo_grants)
    return doc


# --------------------------------------------------------------------------- activities (to_ap)


def activity(kind: str, activity_id: str, actor: str, obj: Any, *, to: Iterable[str] = (), cc: Iterable[str] = (),
             published: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """Any activity; embedded objects lose their own @context (the activity carries it)."""
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "@context"}
    doc: dict[str, Any] = {"@context": CONTEXT, "id": activity_id, "type": kind, "actor": actor, "object": obj}
    if to:
        doc["to"] = list(to)
    if cc:
        doc["cc"] = list(cc)
    if published:
        doc["published"] = iso(published)
    doc.update({k: v for k, v in extra.items() if v is not None})
    return doc


def create(activity_id: str, note_doc: dict[str, Any]) -> dict[str, Any]:
    return activity("Create", activity_id, note_doc["attributedTo"], note_doc, to=note_doc.get("to", []),
                    cc=note_doc.get("cc", []), published=parse_datetime(note_doc.get("published")))


def follow(activity_id: str, actor: str, target: str) -> dict[str, Any]:
    return activity("Follow", activity_id, actor, target, to=[target])


def embedded(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "@context"}


# --------------------------------------------------------------------------- cameos (consent, FEP-044f style)
# The objects and their checks live in provenance.consent; here they get our @context and their
# activities. Signed documents keep their own @context even when embedded: their proof covers it.


def cameo(info: Cameo, private_pem: str, key_id: str) -> dict[str, Any]:
    """The owner's signed, dereferenceable Cameo (no references, no liveness evidence)."""
    return sign(info.to_json(CONTEXT), private_pem, key_id)


def cameo_authorization(grant: CameoAuthorization, private_pem: str, key_id: str) -> dict[str, Any]:
    """The grant (stamp) as its owner's node serves it and as the C2PA claim carries it."""
    return sign(grant.to_json(CONTEXT), private_pem, key_id)


def cameo_request(request: CameoRequest) -> dict[str, Any]:
    """The renderer's CameoRequest activity, addressed to the owner only."""
    return request.to_json(CONTEXT)


def accept_cameo_request(accept_id: str, owner: str, request_id: str, renderer: str,
                         signed_grant: dict[str, Any]) -> dict[str, Any]:
    """Accept{object: the request, result: the full signed grant}; private to the renderer."""
    return activity("Accept", accept_id, owner, request_id, to=[renderer], result=signed_grant)


def reject_cameo_request(reject_id: str, owner: str, request_id: str, renderer: str) -> dict[str, Any]:
    return activity("Reject", reject_id, owner, request_id, to=[renderer])


def revoke_cameo_grant(grant_id: str, owner: str, renderer: str) -> dict[str, Any]:
    """Delete of the stamp as Mastodon revokes a quote authorization: id `<stamp>#delete`, the bare
    stamp IRI as object, to Public and the renderer (who must take the post down and forward it)."""
    return activity("Delete", f"{grant_id}#delete", owner, grant_id, to=[AS_PUBLIC], cc=[renderer])


@dataclass(frozen=True)
class CameoAnswer:
    """An owner's Accept or Reject of a CameoRequest, read from the renderer's inbox."""

    request_id: str
    accepted: bool
    grant: dict[str, Any] | str | None  # the signed grant (or its IRI, to dereference) when accepted


def parse_cameo_answer(doc: dict[str, Any]) -> CameoAnswer:
    """DocumentError unless this is an Accept/Reject naming a request; the grant is checked with
    provenance.consent.verify_grant, not here."""
    kind = type_of(doc)
    request_id = id_of(doc.get("object"))
    if kind not in ("Accept", "Reject") or not request_id:
        raise DocumentError("not an answer to a cameo request")
    if kind == "Reject":
        return CameoAnswer(request_id, False, None)
    result = doc.get("result")
    if isinstance(result, list):
        result = result[0] if len(result) == 1 else None
    if not (isinstance(result, str) or (isinstance(result, dict) and type_of(result) == "CameoAuthorization")):
        raise DocumentError("an accepted cameo request must carry its CameoAuthorization as result")
    return CameoAnswer(request_id, True, result)


def parse_cameo_request(doc: dict[str, Any]) -> CameoRequest:
    try:
        return CameoRequest.from_json(doc)
    except ConsentError as exc:
        raise DocumentError(f"bad CameoRequest: {exc}") from exc


def parse_cameo(doc: dict[str, Any]) -> Cameo:
    try:
        return Cameo.from_json(doc)
    except ConsentError as exc:
        raise DocumentError(f"bad Cameo: {exc}") from exc


def actor_key(actor: RemoteActor) -> ResolvedKey | None:
    """The actor's FEP-521a key as provenance.consent resolvers return it (None if it has none)."""
    if actor.ed25519_key_id and actor.ed25519_multikey:
        return ResolvedKey(actor.ed25519_key_id, actor.id, actor.ed25519_multikey)
    return None


# --------------------------------------------------------------------------- collections


def ordered_collection(collection_id: str, total: int, *, first: str | None = None,
                       items: list[Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CONTEXT, "id": collection_id, "type": "OrderedCollection", "totalItems": total}
    if items is not None:
        doc["orderedItems"] = items
    elif first:
        doc["first"] = first
    return doc


def ordered_collection_page(page_id: str, part_of: str, items: list[Any], *, next_page: str | None = None,
                            prev_page: str | None = None, total: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CONTEXT, "id": page_id, "type": "OrderedCollectionPage", "partOf": part_of,
                           "orderedItems": items}
    if total is not None:
        doc["totalItems"] = total
    if next_page:
        doc["next"] = next_page
    if prev_page:
        doc["prev"] = prev_page
    return doc


def collection(collection_id: str, total: int, *, first: str) -> dict[str, Any]:
    """An unordered ``Collection`` (a post's ``replies``, as Mastodon serves them), paged from ``first``."""
    return {"@context": CONTEXT, "id": collection_id, "type": "Collection", "totalItems": total, "first": first}


def collection_page(page_id: str, part_of: str, items: list[Any], *, next_page: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": CONTEXT, "id": page_id, "type": "CollectionPage", "partOf": part_of,
                           "items": items}
    if next_page:
        doc["next"] = next_page
    return doc


# --------------------------------------------------------------------------- reading collections

COLLECTION_TYPES = frozenset({"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"})


@dataclass(frozen=True)
class RemoteCollectionPage:
    """One document of a remote collection. ``first`` and ``next`` are as given: an id to fetch, an
    embedded page (a dict), or None."""

    id: str | None
    items: list[str]
    first: Any
    next: Any


def _link(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    return value if isinstance(value, str) and value else None


def parse_collection_page(doc: Any) -> RemoteCollectionPage:
    """A Collection, OrderedCollection or one of their pages: its item ids (``items`` or
    ``orderedItems``, as its type says) and the links onwards."""
    kind = type_of(doc)
    if kind not in COLLECTION_TYPES:
        raise DocumentError(f"not a collection: type {kind!r}")
    raw = doc.get("orderedItems") if kind.startswith("Ordered") else doc.get("items")
    items = [i for i in ids_of(raw) if len(i) <= 2048]
    return RemoteCollectionPage(id=doc.get("id") if isinstance(doc.get("id"), str) else None, items=items,
                                first=_link(doc.get("first")), next=_link(doc.get("next")))


# --------------------------------------------------------------------------- NodeInfo


def nodeinfo(*, version: str, open_registrations: bool, users: int, active_month: int, active_halfyear: int,
             local_posts: int, node_name: str, node_description: str, mastodon_api: str) -> dict[str, Any]:
    """NodeInfo 2.1. `software` says what the node is; `metadata.upstream` names the client API it
    serves (Mastodon's, at version `mastodon_api`), the convention Mastodon forks use and generic
    clients (megalodon's detector) read to pick their Mastodon driver."""
    return {
        "version": "2.1",
        "software": {"name": "vitascope", "version": version,
                     "repository": "https://github.com/vitascope/vitascope",
                     "homepage": "https://github.com/vitascope/vitascope"},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {"users": {"total": users, "activeMonth": active_month, "activeHalfyear": active_halfyear},
                  "localPosts": local_posts},
        "metadata": {"nodeName": node_name, "nodeDescription": node_description,
                     "upstream": {"name": "mastodon", "version": mastodon_api}},
    }


# --------------------------------------------------------------------------- reading actors


@dataclass(frozen=True)
class RemoteActor:
    id: str
    type: str
    username: str
    name: str
    summary: str
    url: str | None
    inbox: str
    shared_inbox: str | None
    outbox: str | None
    followers: str | None
    following: str | None
    featured: str | None
    public_key_id: str | None
    public_key_owner: str | None
    public_key_pem: str | None
    ed25519_key_id: str | None
    ed25519_multikey: str | None
    icon_url: str | None
    image_url: str | None
    manually_approves_followers: bool
    discoverable: bool
    fields: list[dict[str, str]]
    also_known_as: tuple[str, ...] = ()
    moved_to: str | None = None
    suspended: bool = False  # its server suspended it (Mastodon's `suspended`, toot namespace)
    cameos: str | None = None  # collection of its Cameo objects


def _url_of(value: Any) -> str | None:
    """``url`` may be a string, a Link, an Image with a url, or a list of those."""
    for item in as_list(value):
        if isinstance(item, str):
            return item
        if isinstance(item, dict):
            inner = item.get("url") if "url" in item else item.get("href")
            found = _url_of(inner) if not isinstance(inner, str) else inner
            if found:
                return found
    return None


def _own_key_id(key_id: str, actor_id: str) -> bool:
    """Whether an actor document may claim this key id: one key id belongs to one actor, and the
    key id itself says whose it is. Its origin must be the actor's (another origin vouches for its
    own keys, not this document), and a fragment id (`<document>#main-key`) must be a fragment of
    the actor's own id, not of another actor's."""
    if origin(key_id) != origin(actor_id):
        return False
    return "#" not in key_id or key_id.split("#", 1)[0] == actor_id


def _actor_keys(doc: dict[str, Any], actor_id: str) -> tuple[str | None, str | None, str | None]:
    """The actor's RSA key (see `_own_key_id`), owned by the actor itself."""
    for key in as_list(doc.get("publicKey")):
        if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str) and isinstance(key.get("id"), str):
            owner = id_of(key.get("owner")) or actor_id
            if owner != actor_id or not _own_key_id(key["id"], actor_id):
                continue
            return key["id"], owner, key["publicKeyPem"]
    return None, None, None


def _actor_multikey(doc: dict[str, Any], actor_id: str) -> tuple[str | None, str | None]:
    for method in as_list(doc.get("assertionMethod")):
        if not isinstance(method, dict) or type_of(method) != "Multikey":
            continue
        if id_of(method.get("controller")) != actor_id:
            continue
        value = method.get("publicKeyMultibase")
        if (isinstance(value, str) and value.startswith("z6Mk") and isinstance(method.get("id"), str)
                and _own_key_id(method["id"], actor_id)):
            return method["id"], value
    return None, None


def _aliases(value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in ids_of(value) if len(i) <= 2048))[:MAX_ALIASES]


def parse_actor(doc: dict[str, Any]) -> RemoteActor:
    actor_id = doc.get("id")
    kind = type_of(doc)
    if not isinstance(actor_id, str) or kind not in ACTOR_TYPES:
        raise DocumentError("not an actor document")
    inbox = id_of(doc.get("inbox"))
    if not inbox:
        raise DocumentError("actor has no inbox")
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not re.fullmatch(r"[A-Za-z0-9_.\-~]{1,64}", username):
        # Mastodon needs a name; fall back to the last path segment as other servers do.
        username = urlsplit(actor_id).path.rstrip("/").rsplit("/", 1)[-1][:64] or "actor"
        username = re.sub(r"[^A-Za-z0-9_.\-]", "_", username)
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    key_id, key_owner, pem = _actor_keys(doc, actor_id)
    ed_id, ed_key = _actor_multikey(doc, actor_id)
    fields = [{"name": _text(a.get("name"), 255), "value": _text(a.get("value"), 2047)}
              for a in as_list(doc.get("attachment")) if type_of(a) == "PropertyValue"][:8]
    return RemoteActor(
        id=actor_id, type=kind, username=username, name=_text(doc.get("name"), 100),
        summary=_text(doc.get("summary"), 10_000), url=_url_of(doc.get("url")), inbox=inbox,
        shared_inbox=id_of(endpoints.get("sharedInbox")), outbox=id_of(doc.get("outbox")),
        followers=id_of(doc.get("followers")), following=id_of(doc.get("following")),
        featured=id_of(doc.get("featured")), public_key_id=key_id, public_key_owner=key_owner, public_key_pem=pem,
        ed25519_key_id=ed_id, ed25519_multikey=ed_key, icon_url=_url_of(doc.get("icon")),
        image_url=_url_of(doc.get("image")),
        manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
        discoverable=doc.get("discoverable") is not False, fields=fields,
        also_known_as=_aliases(doc.get("alsoKnownAs")), moved_to=id_of(doc.get("movedTo")),
        suspended=doc.get("suspended") is True, cameos=id_of(doc.get("cameos")),
    )


# --------------------------------------------------------------------------- reading notes


@dataclass(frozen=True)
class RemoteMedia:
    url: str
    media_type: str
    kind: str  # video | image | audio | unknown (Mastodon's attachment types)
    width: int | None
    height: int | None
    duration: float | None
    blurhash: str | None
    poster_url: str | None
    digest_multibase: str | None
    description: str
    focal_point: tuple[float, float]
    manifest_id: str | None


@dataclass(frozen=True)
class RemoteNote:
    id: str
    type: str
    url: str | None
    attributed_to: str
    content_html: str
    summary: str
    sensitive: bool
    published: datetime | None
    updated: datetime | None
    to: list[str]
    cc: list[str]
    in_reply_to: str | None
    language: str | None
    attachments: list[RemoteMedia]
    mentions: list[str]
    hashtags: list[str]
    remix_of: str | None
    remixable: bool
    ai_generated: bool
    cameo_grants: tuple[str, ...] = ()  # CameoAuthorization ids; every one must verify to accept the video


def _media_kind(media_type: str, declared: str | None) -> str:
    major = media_type.split("/", 1)[0]
    if major in ("video", "image", "audio"):
        return major
    return {"Video": "video", "Image": "image", "Audio": "audio"}.get(declared or "", "unknown")


def parse_attachment(doc: Any) -> RemoteMedia | None:
    """A ``Document``/``Image``/``Video`` attachment, or None when it has no usable URL."""
    if not isinstance(doc, dict):
        return None
    url = doc.get("url")
    media_type = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else ""
    if isinstance(url, list) or isinstance(url, dict):
        # PeerTube-style lists of Links: take the first mp4, else the first link.
        links = [u for u in as_list(url) if isinstance(u, dict)]
        mp4 = next((u for u in links if u.get("mediaType") == "video/mp4"), None) or (links[0] if links else None)
        if mp4 is not None:
            media_type = media_type or (mp4.get("mediaType") if isinstance(mp4.get("mediaType"), str) else "")
        url = _url_of(mp4 if mp4 is not None else url)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    focal = doc.get("focalPoint")
    focal_point = (0.0, 0.0)
    if isinstance(focal, list) and len(focal) == 2 and all(isinstance(v, (int, float)) for v in focal):
        focal_point = (max(-1.0, min(1.0, float(focal[0]))), max(-1.0, min(1.0, float(focal[1]))))
    blur = doc.get("blurhash")
    digest = doc.get("digestMultibase")
    manifest = doc.get("manifestId")
    return RemoteMedia(
        url=url[:2048], media_type=media_type[:64], kind=_media_kind(media_type, type_of(doc)),
        width=_int(doc.get("width")), height=_int(doc.get("height")), duration=parse_duration(doc.get("duration")),
        blurhash=blur if isinstance(blur, str) and len(blur) <= 64 else None,
        poster_url=_url_of(doc.get("icon") or doc.get("preview")),
        digest_multibase=digest if isinstance(digest, str) and len(digest) <= 128 else None,
        description=_text(doc.get("name") or doc.get("summary"), 1500),
        focal_point=focal_point, manifest_id=manifest if isinstance(manifest, str) and len(manifest) <= 255 else None,
    )


def parse_note(doc: dict[str, Any]) -> RemoteNote:
    object_id = doc.get("id")
    kind = type_of(doc)
    if not isinstance(object_id, str) or kind not in NOTE_TYPES:
        raise DocumentError(f"not a post: type {kind!r}")
    author = id_of(doc.get("attributedTo"))
    if not author:
        raise DocumentError("post has no attributedTo")
    content, language = _map_first(doc, "content")
    name = _text(doc.get("name"), 500)
    if kind in ("Article", "Page", "Event", "Question") and name and not content:
        content = f"<p>{_escape(name)}</p>"
    summary, _ = _map_first(doc, "summary")
    tags = [t for t in as_list(doc.get("tag")) if isinstance(t, dict)]
    mentions = [h for h in (id_of(t.get("href")) for t in tags if type_of(t) == "Mention") if h]
    hashtags = []
    for t in tags:
        if type_of(t) == "Hashtag" and isinstance(t.get("name"), str):
            tag = t["name"].lstrip("#").strip().lower()
            if tag and re.fullmatch(r"\w{1,128}", tag) and tag not in hashtags:
                hashtags.append(tag)
    attachments = [m for m in (parse_attachment(a) for a in as_list(doc.get("attachment"))[:8]) if m]
    language = language or (doc.get("language") if isinstance(doc.get("language"), str) else None)
    remix_of = id_of(doc.get("remixOf"))
    return RemoteNote(
        id=object_id, type=kind, url=_url_of(doc.get("url")), attributed_to=author, content_html=content,
        summary=_text(summary, 2000), sensitive=doc.get("sensitive") is True,
        published=parse_datetime(doc.get("published")), updated=parse_datetime(doc.get("updated")),
        to=ids_of(doc.get("to")), cc=ids_of(doc.get("cc")), in_reply_to=id_of(doc.get("inReplyTo")),
        language=language[:16] if language else None, attachments=attachments, mentions=mentions,
        hashtags=hashtags[:20], remix_of=remix_of, remixable=doc.get("remixable") is not False,
        ai_generated=doc.get("aiGenerated") is True,
        cameo_grants=tuple(dict.fromkeys(i for i in ids_of(doc.get("cameoGrant")) if len(i) <= 2048))
        [:MAX_CAMEO_GRANTS],
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def visibility(to: list[str], cc: list[str], followers: str | None) -> str:
    """Mastodon's reading of the audience: public, unlisted, private (followers) or direct."""
    if any(a in PUBLIC_ALIASES for a in to):
        return "public"
    if any(a in PUBLIC_ALIASES for a in cc):
        return "unlisted"
    if followers and followers in to + cc:
        return "private"
    return "direct"


def audience(visibility_name: str, followers: str, mentioned: list[str]) -> tuple[list[str], list[str]]:
    """(to, cc) for a post of ours with this visibility."""
    if visibility_name == "public":
        return [AS_PUBLIC], [followers, *mentioned]
    if visibility_name == "unlisted":
        return [followers], [AS_PUBLIC, *mentioned]
    if visibility_name == "private":
        return [followers], list(mentioned)
    return list(mentioned), []
