"""Remote actors, keys and objects: fetched (signed, through the SafeFetcher) and cached as rows.

Remote `Account` rows are a cache of actor documents, including the keys that verify their
signatures and proofs; `Status` rows with `local=False` are a cache of their posts.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from federation.documents import (ACTOR_TYPES, NOTE_TYPES, DocumentError, RemoteActor, id_of, origin, parse_actor,
                                  type_of)
from federation.fetcher import FetchError
from federation.signatures import PublicKeyInfo
from federation.webfinger import JRD_MEDIA_TYPE
from federation.vocab import is_ap_media_type
from node.activitypub import blocked_domains
from node.activitypub.astointernal import store_remote_status
from node.activitypub.errors import ResolveError
from node.activitypub.runtime import federation
from node.context import Node
from node.models import Account, Status
from node.text import sanitize_html

log = logging.getLogger(__name__)

ACTOR_TTL = timedelta(days=1)
# Verified keys, briefly, so a burst of activities from one peer costs one database read.
_KEY_CACHE_SECONDS = 60
_key_cache: dict[str, tuple[float, PublicKeyInfo]] = {}
# Actor documents fetched to check a signature or proof, by actor id: stored (``remember``) only once
# the request they signed is accepted, so a refused request writes nothing.
_UNSAVED_SECONDS = 300
_UNSAVED_MAX = 1000
_unsaved: dict[str, tuple[float, RemoteActor]] = {}


async def fetch_document(node: Node, url: str) -> dict[str, Any]:
    """A signed GET of an ActivityStreams document whose id lives where it was served from."""
    fetched = await federation(node).fetcher.fetch_json(url, signed=True)
    doc = fetched.document
    if not isinstance(doc.get("id"), str) or origin(doc["id"]) != origin(fetched.url):
        raise ResolveError(f"{url}: document id is not on the host that served it")
    return doc


# --------------------------------------------------------------------------- actors


def _plain(text: str, limit: int) -> str:
    return re.sub(r"<[^>]+>", "", text)[:limit]


async def upsert_actor(node: Node, actor: RemoteActor) -> Account:
    """Create or refresh the remote Account for an actor document."""
    domain = origin(actor.id)
    values = dict(
        username=actor.username, domain=domain, display_name=_plain(actor.name, 100),
        note=sanitize_html(actor.summary) if actor.summary else "", locked=actor.manually_approves_followers,
        bot=actor.type in ("Service", "Application"), discoverable=actor.discoverable, fields_json=actor.fields,
        avatar_remote_url=(actor.icon_url or None) and actor.icon_url[:2048],
        header_remote_url=(actor.image_url or None) and actor.image_url[:2048],
        url=(actor.url or actor.id)[:2048], inbox_uri=actor.inbox, shared_inbox_uri=actor.shared_inbox,
        outbox_uri=actor.outbox, followers_uri=actor.followers, featured_uri=actor.featured,
        actor_type=actor.type, public_key_id=actor.public_key_id, public_key_pem=actor.public_key_pem,
        ed25519_key_id=actor.ed25519_key_id, ed25519_public_multikey=actor.ed25519_multikey,
        also_known_as=list(actor.also_known_as), moved_to_id=await _moved_to_id(actor),
        fetched_at=datetime.now(timezone.utc),
    )
    account = await Account.get_or_none(uri=actor.id)
    if account is None:
        # Same name on the same host under a new id: the actor moved its id; keep one row.
        account = await _holder_of_name(actor.username, domain)
        if account is not None:
            values["uri"] = actor.id
    elif account.username != actor.username and await _holder_of_name(actor.username, domain, besides=account.id):
        # A rename to a name another account of that host holds: one account per name and host
        # (compared as lookups compare them, ignoring case), so it keeps its name; the rest applies.
        log.info("%s renamed itself to %r, which another account of %s holds; keeping %r",
                 actor.id, actor.username, domain, account.username)
        values["username"] = account.username
    await _keep_keys_unique(actor, values, account)
    if account is None:
        # An account of a blocked domain starts suspended or silenced, as its domain's others; one
        # its server suspended starts suspended (remotely).
        limits = blocked_domains.limits_for_new_account(domain)
        if actor.suspended and "suspended_at" not in limits:
            limits |= {"suspended_at": values["fetched_at"], "suspended_remotely": True}
        try:
            return await Account.create(uri=actor.id, **values, **limits)
        except IntegrityError:
            account = await Account.get(uri=actor.id)
    values |= _remote_suspension(account, actor.suspended, values["fetched_at"])
    for name, value in values.items():
        setattr(account, name, value)
    await account.save()
    _key_cache.pop(actor.public_key_id or "", None)
    return account


_KEY_FIELDS = (("public_key_id", "public_key_pem"), ("ed25519_key_id", "ed25519_public_multikey"))


async def _keep_keys_unique(actor: RemoteActor, values: dict[str, Any], account: Account | None) -> None:
    """A key id belongs to exactly one actor, or one actor could cut another off (every look-up by
    key id would find two). `parse_actor` already drops key ids on another origin or fragments of
    another actor's id; a same-origin key id without a fragment (`/users/x/main-key`) that another
    account holds stays with it, unless the key id is a fragment of this actor's own id (then its
    own document proves it, and the other account, bound before this check, loses it)."""
    for id_field, key_field in _KEY_FIELDS:
        key_id = values[id_field]
        if not key_id:
            continue
        others = Account.filter(**{id_field: key_id}).exclude(uri=actor.id)
        if account is not None:
            others = others.exclude(id=account.id)
        if not await others.exists():
            continue
        if key_id.split("#", 1)[0] == actor.id:
            log.info("%s proves key %s, which another account claimed; it is theirs now", actor.id, key_id)
            await others.update(**{id_field: None, key_field: None})
        else:
            log.info("%s claims key %s, which another account holds; not bound", actor.id, key_id)
            values[id_field] = values[key_field] = None
        _key_cache.pop(key_id, None)


async def _key_holder(id_field: str, key_id: str) -> Account | None:
    """The account a key id is bound to. Rows stored before keys were kept unique may share one:
    then only the actor the key id is a fragment of counts."""
    holders = await Account.filter(**{id_field: key_id})
    if len(holders) == 1:
        return holders[0]
    return next((a for a in holders if a.uri == key_id.split("#", 1)[0]), None)


def _remote_suspension(account: Account, suspended: bool, now: datetime) -> dict[str, Any]:
    """Follow the actor's `suspended` (Mastodon's set_suspension!): its server suspending it suspends
    it here, and lifting it lifts ours only if it was theirs; our own suspension stays either way."""
    if account.suspended_at is not None and not account.suspended_remotely:
        return {}
    if account.suspended_remotely and not suspended:
        log.info("%s is no longer suspended by its server", account.uri)
        return {"suspended_at": None, "suspended_remotely": False}
    if account.suspended_at is None and suspended:
        log.info("%s is suspended by its server", account.uri)
        return {"suspended_at": now, "suspended_remotely": True}
    return {}


async def _holder_of_name(username: str, domain: str, *, besides: int | None = None) -> Account | None:
    """The account of ``domain`` called ``username`` (case-insensitively, as acct lookups match)."""
    query = Account.filter(username__iexact=username, domain=domain)
    if besides is not None:
        query = query.exclude(id=besides)
    return await query.order_by("id").first()


async def _moved_to_id(actor: RemoteActor) -> int | None:
    """The account a remote actor says it moved to, believed (as Mastodon shows it) only when that
    account is known and names the actor in its alsoKnownAs; a Move checks the target afresh."""
    if not actor.moved_to or actor.moved_to == actor.id:
        return None
    target = await Account.get_or_none(uri=actor.moved_to, deleted_at=None)
    return target.id if target is not None and actor.id in (target.also_known_as or []) else None


async def fetch_actor(node: Node, uri: str, *, refresh: bool = False) -> Account:
    """The Account for an actor id: cached for a day, then (or when ``refresh``) fetched again."""
    if node.urls.is_local(uri):
        account = await Account.get_or_none(uri=uri, domain=None)
        if account is None:
            raise ResolveError(f"{uri}: no such local account")
        return account
    account = await Account.get_or_none(uri=uri)
    fresh = (account is not None and account.fetched_at is not None
             and datetime.now(timezone.utc) - account.fetched_at < ACTOR_TTL)
    if account is not None and (fresh or account.deleted_at is not None) and not refresh:
        return account
    try:
        account, _ = await _fetch_remote_actor(node, uri)
    except (FetchError, DocumentError) as exc:
        if account is not None and not refresh:
            log.info("keeping cached actor %s: %s", uri, exc)
            return account
        raise ResolveError(f"{uri}: {exc}") from exc
    return account


async def _fetch_remote_actor(node: Node, uri: str) -> tuple[Account, RemoteActor]:
    """A remote actor fetched from its origin now and stored: its Account and the document as read."""
    actor = parse_actor(await fetch_document(node, uri))
    if actor.id != uri and not same_host_alias(uri, actor.id):
        raise ResolveError(f"{uri}: served an actor with another id")
    return await upsert_actor(node, actor), actor


@dataclass(frozen=True)
class FreshActor:
    """An actor as its origin shows it right now (account migration must not trust a cached copy)."""

    account: Account
    also_known_as: tuple[str, ...]
    moved_to: str | None  # the actor id it says it moved to, known to us or not


async def fresh_actor(node: Node, uri: str) -> FreshActor:
    """Ours from the database; a remote actor fetched from its origin now (ResolveError if it cannot be)."""
    if node.urls.is_local(uri):
        account = await fetch_actor(node, uri)
        moved = await Account.get_or_none(id=account.moved_to_id) if account.moved_to_id else None
        return FreshActor(account, tuple(account.also_known_as or ()), moved.uri if moved else None)
    try:
        account, actor = await _fetch_remote_actor(node, uri)
    except (FetchError, DocumentError) as exc:
        raise ResolveError(f"{uri}: {exc}") from exc
    return FreshActor(account, actor.also_known_as, actor.moved_to)


def same_host_alias(requested: str, actual: str) -> bool:
    """A profile URL (``/@user``) may serve the actor (``/users/user``) of the same host."""
    return origin(requested) == origin(actual)


async def actor_for(node: Node, reference: Any) -> Account:
    uri = id_of(reference)
    if not uri:
        raise ResolveError("no actor")
    return await fetch_actor(node, uri)


# --------------------------------------------------------------------------- keys


async def resolve_key(node: Node, key_id: str, refresh: bool) -> PublicKeyInfo | None:
    """The key behind an HTTP signature's keyId, for `federation.signatures.verify_request`."""
    if node.urls.is_local(key_id):
        if key_id == node.urls.instance_actor_key:
            runtime = federation(node)
            return PublicKeyInfo(key_id, node.urls.instance_actor, runtime.instance_public_pem)
        account = await Account.get_or_none(public_key_id=key_id, domain=None)
        return PublicKeyInfo(key_id, account.uri, account.public_key_pem) if account else None
    now = time.monotonic()
    if not refresh:
        cached = _key_cache.get(key_id)
        if cached and cached[0] > now:
            return cached[1]
        account = await _key_holder("public_key_id", key_id)
        if account is not None and account.public_key_pem:
            info = PublicKeyInfo(key_id, account.uri, account.public_key_pem)
            _key_cache[key_id] = (now + _KEY_CACHE_SECONDS, info)
            return info
    _key_cache.pop(key_id, None)
    try:
        doc = await fetch_document(node, key_id.split("#", 1)[0])
    except ResolveError:
        return None
    try:
        if type_of(doc) in ACTOR_TYPES:
            actor = parse_actor(doc)
        else:
            # A standalone key document (some servers): its owner must publish the same key id.
            actor_uri = id_of(doc.get("owner"))
            if doc.get("id") != key_id or not actor_uri or origin(actor_uri) != origin(key_id):
                return None
            actor = await _unsaved_actor(node, actor_uri)
    except (DocumentError, ResolveError, FetchError):
        return None
    if (actor.public_key_id != key_id or not actor.public_key_pem
            or await _held_by_another("public_key_id", key_id, actor)):
        return None
    _hold(actor)
    return PublicKeyInfo(key_id, actor.id, actor.public_key_pem)


async def _held_by_another(id_field: str, key_id: str, actor: RemoteActor) -> bool:
    """A key id another account holds and this actor's document does not prove its own: storing the
    actor would not bind it (`_keep_keys_unique`), so it does not verify this actor's requests."""
    return (key_id.split("#", 1)[0] != actor.id
            and await Account.filter(**{id_field: key_id}).exclude(uri=actor.id).exists())


async def _unsaved_actor(node: Node, uri: str) -> RemoteActor:
    """A remote actor as its origin serves it now, held in memory, not stored (see ``remember``)."""
    actor = parse_actor(await fetch_document(node, uri))
    if actor.id != uri and not same_host_alias(uri, actor.id):
        raise ResolveError(f"{uri}: served an actor with another id")
    _hold(actor)
    return actor


def _hold(actor: RemoteActor) -> None:
    now = time.monotonic()
    if len(_unsaved) >= _UNSAVED_MAX:
        for uri in [uri for uri, (until, _) in _unsaved.items() if until <= now] or list(_unsaved)[:_UNSAVED_MAX // 10]:
            del _unsaved[uri]
    _unsaved.pop(actor.id, None)
    _unsaved[actor.id] = (now + _UNSAVED_SECONDS, actor)


async def remember(node: Node, *actor_uris: str | None) -> None:
    """Store the actors whose documents verified a request that was then accepted (a no-op for
    actors nothing was fetched for)."""
    for uri in actor_uris:
        held = _unsaved.pop(uri or "", None)
        if held is not None and held[0] > time.monotonic():
            await upsert_actor(node, held[1])


async def resolve_proof_key(node: Node, verification_method: str) -> tuple[str, str] | None:
    """(controller, Multikey) for a FEP-8b32 proof's verificationMethod (the actor's assertionMethod)."""
    actor_uri = verification_method.split("#", 1)[0]
    account = await _key_holder("ed25519_key_id", verification_method)
    if account is not None and account.ed25519_public_multikey:
        return account.uri, account.ed25519_public_multikey
    if node.urls.is_local(actor_uri):
        return None
    try:
        actor = await _unsaved_actor(node, actor_uri)
    except (DocumentError, ResolveError, FetchError):
        return None
    if (actor.ed25519_key_id != verification_method or not actor.ed25519_multikey
            or await _held_by_another("ed25519_key_id", verification_method, actor)):
        return None
    return actor.id, actor.ed25519_multikey


async def fetch_object(node: Node, object_id: str) -> dict[str, Any] | None:
    """An object from its origin, or None (for the inbox's foreign-object check)."""
    try:
        return await fetch_document(node, object_id)
    except (FetchError, ResolveError) as exc:
        log.info("could not confirm %s at its origin: %s", object_id, exc)
        return None


# --------------------------------------------------------------------------- client API hooks


async def webfinger(node: Node, username: str, domain: str) -> str:
    """The actor id WebFinger gives for user@domain."""
    resource = quote(f"acct:{username}@{domain}", safe=":@")
    schemes = ("http", "https") if node.config.dev_mode else ("https",)
    last: Exception | None = None
    for scheme in schemes:
        url = f"{scheme}://{domain}/.well-known/webfinger?resource={resource}"
        try:
            jrd = await federation(node).fetcher.get_json(url, signed=False, accept=f"{JRD_MEDIA_TYPE}, application/json")
        except FetchError as exc:
            last = exc
            continue
        for link in jrd.get("links") or []:
            if (isinstance(link, dict) and link.get("rel") == "self" and is_ap_media_type(link.get("type"))
                    and isinstance(link.get("href"), str)):
                return link["href"]
        raise ResolveError(f"{username}@{domain}: WebFinger names no ActivityPub actor")
    raise ResolveError(f"{username}@{domain}: WebFinger failed: {last}")


async def resolve_account(node: Node, acct: str) -> Account | None:
    """node.extras["resolve_account"]: user@host → Account (WebFinger, then the actor document)."""
    username, _, domain = acct.strip().lstrip("@").partition("@")
    if not username or not domain:
        return None
    domain = domain.lower()
    if domain == node.config.domain:
        return await Account.get_or_none(domain=None, username__iexact=username, deleted_at=None)
    try:
        actor_uri = await webfinger(node, username, domain)
        account = await fetch_actor(node, actor_uri)
    except (ResolveError, FetchError) as exc:
        log.info("cannot resolve %s: %s", acct, exc)
        return None
    return account if account.deleted_at is None else None


async def resolve_url(node: Node, url: str) -> Account | Status | None:
    """node.extras["resolve_url"]: an actor or post URL → Account or Status (fetched if unknown)."""
    account = await Account.get_or_none(Q(uri=url) | Q(url=url), deleted_at=None)
    if account is not None:
        return account
    status = await Status.get_or_none(Q(uri=url) | Q(url=url), deleted_at=None)
    if status is not None or node.urls.is_local(url):
        return status
    try:
        doc = await fetch_document(node, url)
    except (FetchError, ResolveError) as exc:
        log.info("cannot resolve %s: %s", url, exc)
        return None
    try:
        if type_of(doc) in ACTOR_TYPES:
            return await upsert_actor(node, parse_actor(doc))
        if type_of(doc) in NOTE_TYPES:
            return await status_from_document(node, doc)
    except (DocumentError, ResolveError) as exc:
        log.info("cannot use %s: %s", url, exc)
    return None


async def fetch_status(node: Node, uri: str) -> Status | None:
    """A post by id: ours, cached, or fetched from its origin and stored."""
    status = await Status.get_or_none(uri=uri)
    if status is not None or node.urls.is_local(uri):
        return status
    try:
        doc = await fetch_document(node, uri)
        return await status_from_document(node, doc)
    except (FetchError, ResolveError, DocumentError) as exc:
        log.info("cannot fetch post %s: %s", uri, exc)
        return None


async def status_from_document(node: Node, doc: dict[str, Any], *, ancestry: tuple[str, ...] = ()) -> Status:
    """A fetched post, stored with its author. ``ancestry``: when it is the parent of a reply, the
    uris of the replies below it, which bounds how far up a thread is fetched (see
    ``context_fetch.fetch_missing``)."""
    author = await actor_for(node, doc.get("attributedTo"))
    if origin(author.uri) != origin(doc.get("id")):
        raise ResolveError("post and author live on different hosts")
    if author.suspended_at is not None:
        raise ResolveError(f"{author.uri} is suspended by this server")
    return await store_remote_status(node, author, doc, ancestry=ancestry)

