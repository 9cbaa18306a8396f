"""Media attachments: uploads that pass the AI-only rule, and files made by our own workers."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from aiohttp import web

from node.context import Node
from node.errors import ApiError, unprocessable
from node.media.access import is_public_file
from node.media.files import MediaError, keep, new_media_path, poster, probe
from node.media.store import StoreError
from node.models import Account, MediaAttachment
from node.serializers import provenance_json
from node.trust import trust_anchors
from provenance.c2pa import verify_video

log = logging.getLogger(__name__)

ACCEPTED_TYPES = ("video/mp4",)


async def ingest_upload(node: Node, account: Account, upload: web.FileField, *, description: str = "",
                        focus: tuple[float, float] = (0.0, 0.0)) -> MediaAttachment:
    """Accept a video only if it carries a valid C2PA manifest declaring AI origin, signed by a
    node we trust (ourselves included). Camera-roll files are refused with 422."""
    if upload.content_type not in ACCEPTED_TYPES and not (upload.filename or "").lower().endswith(".mp4"):
        raise unprocessable(f"only AI-generated MP4 videos are accepted here, not {upload.content_type}")
    path, rel = new_media_path(node.config.media_dir, ".mp4")
    tmp = path.with_suffix(".upload")
    limit = node.config["limits.max_upload_bytes"]
    written = 0
    try:
        with open(tmp, "wb") as out:
            while chunk := upload.file.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise ApiError(413, f"File is too large (limit {limit} bytes)")
                out.write(chunk)
        anchors = await trust_anchors(node)
        verdict = await asyncio.to_thread(verify_video, tmp, anchors)
        if not verdict.ok:
            raise unprocessable(
                "only AI-generated videos with a valid C2PA manifest from a trusted node can be posted "
                f"({verdict.reason or verdict.state})")
        try:
            facts = await asyncio.to_thread(probe, tmp)
        except MediaError as exc:
            raise unprocessable(str(exc)) from None
        os.replace(tmp, path)
        return await store_video(node, account, path, rel, facts, provenance_json(verdict),
                                 manifest_id=verdict.manifest_id, description=description, focus=focus)
    finally:
        tmp.unlink(missing_ok=True)


async def store_video(node: Node, account: Account, path: Path, rel: str, facts, provenance: dict, *,
                      manifest_id: str | None, description: str = "", focus=(0.0, 0.0),
                      generation_id: int | None = None) -> MediaAttachment:
    preview_path = path.with_suffix(".jpg")
    try:
        hash_ = await asyncio.to_thread(poster, path, preview_path)
    except MediaError:
        hash_ = None
    preview_rel = rel[:-4] + ".jpg" if hash_ else None
    await keep(node.store, node.config.media_dir, rel, preview_rel)
    return await MediaAttachment.create(
        account=account, type="video", file_path=rel,
        preview_path=preview_rel, content_type="video/mp4", file_size=facts.size,
        width=facts.width, height=facts.height, duration=facts.duration, fps=facts.fps, has_audio=facts.has_audio,
        blurhash=hash_, description=description, focus_x=focus[0], focus_y=focus[1], sha256=facts.sha256,
        provenance=provenance, manifest_id=manifest_id, generation_id=generation_id)


async def update_media(media: MediaAttachment, *, description: str | None, focus: str | None) -> MediaAttachment:
    if description is not None:
        if len(description) > 1500:
            raise unprocessable("description is too long (maximum is 1500 characters)")
        media.description = description
    if focus is not None:
        media.focus_x, media.focus_y = parse_focus(focus)
    await media.save()
    return media


def parse_focus(value: str | None) -> tuple[float, float]:
    if not value:
        return 0.0, 0.0
    try:
        x, y = (float(v) for v in value.split(","))
    except ValueError:
        raise unprocessable("focus must be two numbers, like 0.5,-0.2") from None
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise unprocessable("focus values must be between -1 and 1")
    return x, y


async def unpublish_files(node: Node, paths: list[str]) -> None:
    """Delete the object store's public copies (docs/admin.md, "Object storage") of the files that no
    public post shows any more, as after a post's deletion. A store that fails is logged: the post is
    deleted all the same, and its copy is no longer linked from anywhere."""
    if not node.store.public_copies:
        return  # none made (local files, or a bucket without a public base URL): no look-up per file
    for path in paths:
        if await is_public_file(path):
            continue  # another public post shows the same file
        try:
            await node.store.unpublish(path)
        except StoreError as exc:
            log.warning("public copy of %s not deleted: %s", path, exc)
