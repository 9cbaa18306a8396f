"""Reading facts out of stored video files: size, duration, frame rate, audio, poster, blurhash.

PyAV only — no torch. Runs in a thread (asyncio.to_thread) because decoding blocks.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import blurhash
from PIL import Image


class MediaError(ValueError):
    """The file is not a readable video."""


@dataclass
class VideoFacts:
    width: int
    height: int
    duration: float
    fps: float
    has_audio: bool
    size: int
    sha256: str


def probe(path: Path) -> VideoFacts:
    try:
        with av.open(str(path)) as container:
            video = next((s for s in container.streams if s.type == "video"), None)
            if video is None:
                raise MediaError("the file has no video stream")
            has_audio = any(s.type == "audio" for s in container.streams)
            if container.duration:
                duration = container.duration / 1_000_000
            elif video.duration and video.time_base:
                duration = float(video.duration * video.time_base)
            else:
                duration = _measured_duration(container, video)
            rate = video.average_rate or video.guessed_rate or Fraction(0)
            width, height = video.codec_context.width, video.codec_context.height
    except (av.error.FFmpegError, StopIteration) as exc:
        raise MediaError(f"not a readable video: {exc}") from None
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return VideoFacts(width=width, height=height, duration=round(duration, 3), fps=float(rate), has_audio=has_audio,
                      size=path.stat().st_size, sha256=digest.hexdigest())


def _measured_duration(container: Any, video: Any) -> float:
    """A streamed recording (a browser's MediaRecorder WebM) states no duration: where its last video packet ends."""
    end = 0.0
    for packet in container.demux(video):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def poster(path: Path, out: Path) -> str:
    """Write the first frame as JPEG; return its blurhash."""
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            image = frame.to_image()
    except (av.error.FFmpegError, StopIteration) as exc:
        raise MediaError(f"cannot decode a frame: {exc}") from None
    tmp = out.with_suffix(".tmp")
    image.save(tmp, "JPEG", quality=85)
    os.replace(tmp, out)
    small = image.copy()
    small.thumbnail((64, 64))
    buf = io.BytesIO()
    small.convert("RGB").save(buf, "PNG")
    buf.seek(0)
    return blurhash.encode(Image.open(buf), x_components=4, y_components=4)


CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png"}


async def keep(store, media_dir: Path, *keys: str | None) -> None:
    """Hand files written under media_dir (checked, probed) to the media store under the same keys.
    A local store is media_dir itself: nothing moves. Another store gets a copy, and the local file,
    only scratch now, is removed."""
    if store.local:
        return
    for key in filter(None, keys):
        path = media_dir / key
        await store.put_file(key, path, CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
        path.unlink(missing_ok=True)


def new_media_path(media_dir: Path, suffix: str) -> tuple[Path, str]:
    """A fresh path under media_dir, sharded by the first characters of a random name."""
    name = uuid.uuid4().hex
    rel = f"{name[:2]}/{name[2:4]}/{name}{suffix}"
    full = media_dir / rel
    full.parent.mkdir(parents=True, exist_ok=True)
    return full, rel
