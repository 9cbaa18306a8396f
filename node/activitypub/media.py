"""Media attached to remote posts.

`ingest_remote_media` is the one place a remote attachment becomes a `MediaAttachment`: it records
what the author published (URL, size, duration, blurhash, poster, digest) and, for videos, fetches
the file, checks it against the published `digestMultibase` (FEP-1311) and keeps a local copy.
Provenance checks of the file (C2PA) belong here too, after the download. A file that cannot be
fetched is not an error: the attachment keeps its remote URL (fediverse-pasture and many real
posts point at media that does not resolve).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
from datetime import datetime, timezone

from federation.documents import RemoteMedia
from federation.fetcher import FetchError
from node.activitypub import blocked_domains
from node.activitypub.runtime import federation
from node.context import Node
from node.media_files import MediaError, keep, new_media_path, poster, probe
from node.models import Account, MediaAttachment
from provenance.digests import parse_digest_multibase

log = logging.getLogger(__name__)


class MediaRefused(Exception):
    """The fetched file is not the one its author published (digest mismatch)."""


async def _download_video(node: Node, media: RemoteMedia) -> tuple[str, dict] | None:
    """Fetch and store the video; (relative path, probed facts) or None when it cannot be had."""
    try:
        data = await federation(node).fetcher.get_bytes(media.url, max_bytes=node.config["federation.max_fetch_bytes"],
                                                        accept="video/mp4, video/*;q=0.9")
    except FetchError as exc:
        log.info("remote media %s not fetched: %s", media.url, exc.reason)
        return None
    if media.digest_multibase:
        try:
            expected = parse_digest_multibase(media.digest_multibase)
        except ValueError as exc:
            raise MediaRefused(f"malformed digestMultibase: {exc}") from exc
        if hashlib.sha256(data).digest() != expected:
            raise MediaRefused("file does not match its digestMultibase")
    path, rel = new_media_path(node.config.media_dir, ".mp4")
    tmp = path.with_suffix(".part")
    await asyncio.to_thread(tmp.write_bytes, data)
    try:
        facts = await asyncio.to_thread(probe, tmp)
    except MediaError as exc:
        tmp.unlink(missing_ok=True)
        log.info("remote media %s is not a readable video: %s", media.url, exc)
        return None
    os.replace(tmp, path)
    preview = path.with_suffix(".jpg")
    try:
        blur = await asyncio.to_thread(poster, path, preview)
    except MediaError:
        blur = None
    return rel, {"facts": facts, "preview": rel[:-4] + ".jpg" if blur else None, "blurhash": blur}


async def _check_provenance(node: Node, account: Account, media: RemoteMedia, rel: str) -> dict:
    """The C2PA verdict of a downloaded video; raises MediaRefused when policy says refuse."""
    from node.trust import provenance_json, verify_file

    path = node.config.media_dir / rel
    verdict = await verify_file(node, path, account.domain, first_seen=datetime.now(timezone.utc))
    if media.manifest_id and verdict.manifest_id and media.manifest_id != verdict.manifest_id:
        verdict = dataclasses.replace(
            verdict, ok=False, reason=f"manifest {verdict.manifest_id} is not the {media.manifest_id} the post names")
    if not verdict.ok and node.config["provenance.unverified_media"] == "refuse":
        _remove(node, rel)
        raise MediaRefused(f"provenance: {verdict.reason or verdict.state}")
    return provenance_json(verdict)


def _remove(node: Node, rel: str) -> None:
    for suffix in (".mp4", ".jpg"):
        (node.config.media_dir / rel).with_suffix(suffix).unlink(missing_ok=True)


async def ingest_remote_media(node: Node, account: Account, media: RemoteMedia) -> MediaAttachment | None:
    """A remote attachment as a MediaAttachment (not yet tied to a status).

    Videos must be the file the post names (digestMultibase) and carry a valid C2PA manifest
    declaring AI origin from a node we trust (the origin's CA is pinned on first use); otherwise
    MediaRefused — or, with provenance.unverified_media = "mark", kept with an unverified mark.
    Other attachment kinds (images from other software) keep only their remote URL. Media of a
    domain whose media an admin rejects (a domain block's reject_media) are never downloaded.
    """
    stored = None
    provenance = None
    if media.kind == "video" and blocked_domains.rejects_media(account.domain):
        if node.config["provenance.unverified_media"] == "refuse":
            raise MediaRefused(f"media from {account.domain} are rejected by this server")
        provenance = {"verified": False, "state": "rejected", "reason": f"media from {account.domain} are rejected"}
    elif media.kind == "video":
        stored = await _download_video(node, media)
        if stored is not None:
            provenance = await _check_provenance(node, account, media, stored[0])
            await keep(node.store, node.config.media_dir, stored[0], stored[1]["preview"])
        elif node.config["provenance.unverified_media"] == "refuse":
            raise MediaRefused("provenance: the video could not be fetched for verification")
        else:
            provenance = {"verified": False, "state": "missing", "reason": "the video could not be fetched"}
    fields = dict(
        account=account, type=media.kind, remote_url=media.url, preview_remote_url=media.poster_url,
        content_type=media.media_type or "application/octet-stream", width=media.width, height=media.height,
        duration=media.duration, blurhash=media.blurhash, description=media.description,
        focus_x=media.focal_point[0], focus_y=media.focal_point[1], manifest_id=media.manifest_id,
        provenance=provenance,
    )
    if stored is not None:
        rel, extra = stored
        facts = extra["facts"]
        fields.update(file_path=rel, preview_path=extra["preview"], file_size=facts.size, width=facts.width,
                      height=facts.height, duration=facts.duration, fps=facts.fps, has_audio=facts.has_audio,
                      sha256=facts.sha256, blurhash=media.blurhash or extra["blurhash"])
    return await MediaAttachment.create(**fields)
