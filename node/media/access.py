"""Who may fetch a stored media file.

Media of public and unlisted posts has a plain URL anyone may fetch and cache. Media of
followers-only and direct posts, and media not (or no longer) attached to a post, is private: it is
served only through a signed URL (HMAC-SHA256 of path and expiry with this node's media key), which
we put only in what we show to someone who may see the post — API answers to that viewer, and
ActivityPub objects delivered or served to the post's audience. Anything else gets 404, as an
unknown file would, so a URL does not tell that a private file exists.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from node.config import Config
from node.context import Node
from node.models import MediaAttachment, Status
from node.urls import Urls

PUBLIC = ("public", "unlisted")


def media_key(data_dir: Path) -> bytes:
    """The key that signs private media URLs, made on first start and kept under the data dir (0600);
    every process of the node (web, workers, CLI) reads the same one."""
    path = data_dir / "media-url.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"media-url.key.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # never replace a key another process wrote first
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def node_urls(config: Config) -> Urls:
    return Urls(config.base_url, media_key=media_key(config.data_dir))


def shown_publicly(status: Status | None) -> bool:
    """Whether media attached to this status is public (it is private when there is no status)."""
    return status is not None and status.deleted_at is None and status.visibility in PUBLIC


def media_url(node: Node, relative_path: str, *, public: bool, federated: bool = False) -> str:
    """The URL to show for a stored file: plain when public, else signed for the viewer we show it to
    (``federated``: in an ActivityPub object, valid long enough for remote servers to fetch it)."""
    if public:
        return node.urls.media(relative_path)
    seconds = node.config["storage.federated_private_media_url_seconds" if federated
                          else "storage.private_media_url_seconds"]
    return node.urls.private_media(relative_path, seconds)


async def is_public_file(relative_path: str) -> bool | None:
    """Whether a stored file is public media (True), private media (False) or none we serve (None)."""
    row = (await MediaAttachment.filter(file_path=relative_path).values("status_id")
           or await MediaAttachment.filter(preview_path=relative_path).values("status_id"))
    if not row:
        return None
    status_ids = [r["status_id"] for r in row if r["status_id"]]
    if not status_ids:
        return False
    return await Status.filter(id__in=status_ids, deleted_at=None, visibility__in=list(PUBLIC)).exists()
