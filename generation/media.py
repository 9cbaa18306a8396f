"""Reading source media and writing finished renders with PyAV and Pillow.

Outputs are written under a temporary name in the destination directory and moved into
place with `os.replace`, so a reader never sees a half-written file under a final name.
"""

from __future__ import annotations

import contextlib
import glob
import os
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from generation.errors import MediaError

MAX_SOURCE_PIXELS = 4096 * 4096
MAX_SOURCE_BYTES = 512 * 1024 * 1024
VIDEO_CRF = 18
AUDIO_BIT_RATE = 128_000
POSTER_QUALITY = 88


@contextlib.contextmanager
def atomic_output(final_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `final_path`; on success move it into place, else delete it."""
    final = Path(final_path)
    temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.partial")
    try:
        yield temp
        os.replace(temp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def remove_stale_partials(final_path: str | os.PathLike[str]) -> None:
    """Delete temporary files that an earlier, killed attempt left next to `final_path`."""
    final = Path(final_path)
    for stale in final.parent.glob(f".{glob.escape(final.name)}.*.partial"):
        stale.unlink(missing_ok=True)


def encode_mp4(
    path: str | os.PathLike[str],
    frames: np.ndarray,
    fps: int,
    audio: np.ndarray | None = None,
    sample_rate: int | None = None,
    comment: str | None = None,
) -> None:
    """Write H.264 (yuv420p) video and, if given, AAC stereo audio into an MP4 with faststart.

    `frames` is uint8 (F, H, W, 3); `audio` is float (channels, samples) in [-1, 1]; `comment`
    goes into the container's metadata.
    """
    import av

    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise MediaError(f"frames must be uint8 (F, H, W, 3), got {frames.dtype} {frames.shape}")
    _, height, width, _ = frames.shape
    if width % 2 or height % 2:
        raise MediaError(f"H.264 yuv420p needs even width and height, got {width}x{height}")
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        if comment:
            container.metadata["comment"] = comment
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(VIDEO_CRF), "preset": "medium"}
        sound = None
        if audio is not None:
            if sample_rate is None:
                raise MediaError("sample_rate is required with audio")
            sound = container.add_stream("aac", rate=sample_rate)
            sound.layout = "stereo"
            sound.bit_rate = AUDIO_BIT_RATE
        for index, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            planar = _stereo(audio)
            frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
            frame.sample_rate = sample_rate
            frame.pts = 0
            frame.time_base = Fraction(1, sample_rate)
            container.mux(sound.encode(frame))
            container.mux(sound.encode(None))


def _stereo(audio: np.ndarray) -> np.ndarray:
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[None, :]
    if samples.ndim != 2 or samples.shape[0] not in (1, 2):
        raise MediaError(f"audio must be (1 or 2, samples), got {samples.shape}")
    if samples.shape[0] == 1:
        samples = np.repeat(samples, 2, axis=0)
    return np.ascontiguousarray(np.clip(samples, -1.0, 1.0))


def write_poster(path: str | os.PathLike[str], frame: np.ndarray) -> None:
    """Save one uint8 (H, W, 3) frame as a progressive JPEG."""
    Image.fromarray(frame, mode="RGB").save(path, format="JPEG", quality=POSTER_QUALITY, progressive=True)


def fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale to cover width x height, then crop the centre: no stretching, no letterbox."""
    image = image.convert("RGB")
    scale = max(width / image.width, height / image.height)
    resized = image.resize((max(width, round(image.width * scale)), max(height, round(image.height * scale))),
                           Image.Resampling.LANCZOS)
    left, top = (resized.width - width) // 2, (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _check_source(path: str) -> None:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise MediaError(f"cannot read source {path}: {exc.strerror}") from exc
    if size > MAX_SOURCE_BYTES:
        raise MediaError(f"source {path} is larger than {MAX_SOURCE_BYTES} bytes")


def read_image(path: str, width: int, height: int) -> Image.Image:
    """Open a still, refusing decompression bombs, fitted to the render size."""
    _check_source(path)
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise MediaError(f"image {path} has more than {MAX_SOURCE_PIXELS} pixels")
            return fit(image, width, height)
    except (OSError, Image.DecompressionBombError) as exc:
        raise MediaError(f"cannot decode image {path}: {exc}") from exc


def read_video(path: str, width: int, height: int, num_frames: int, fps: int) -> list[Image.Image]:
    """Sample `num_frames` frames at `fps` from a video, fitted to the render size.

    Frame k shows the source at time k / fps; a source shorter than that holds its last frame.
    """
    import av

    _check_source(path)
    wanted = [k / fps for k in range(num_frames)]
    picked: list[Image.Image] = []
    shown: Image.Image | None = None  # the fitted source frame on screen at the current time
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise MediaError(f"{path} has no video stream")
            stream = container.streams.video[0]
            if stream.width * stream.height > MAX_SOURCE_PIXELS:
                raise MediaError(f"video {path} has more than {MAX_SOURCE_PIXELS} pixels per frame")
            for frame in container.decode(stream):
                time = float(frame.pts * stream.time_base) if frame.pts is not None else len(picked) / fps
                current = fit(frame.to_image(), width, height)
                while len(picked) < num_frames and wanted[len(picked)] < time:
                    picked.append(shown if shown is not None else current)
                shown = current
                if len(picked) >= num_frames:
                    break
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot decode video {path}: {exc}") from exc
    if shown is None:
        raise MediaError(f"{path} contains no decodable frames")
    picked.extend(shown for _ in range(num_frames - len(picked)))
    return picked
