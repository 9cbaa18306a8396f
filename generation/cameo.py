"""Cameo capture verification: a fail-closed chain of pluggable verifiers, run in the worker.

A capture is the private 3-10 s vertical recording (video with sound) a user makes to create a
cameo. The chain is a list of "package.module:function" import paths (like the node's prompt
classifiers). Each verifier is called as ``function(capture, recording) -> Finding`` with the
`Capture` (what the node asked for) and the `Recording` (the file decoded once: sampled
frames, 16 kHz mono audio, container facts). The verdict is:

* ``rejected`` as soon as one verifier fails (its reason is the verdict's reason);
* otherwise ``needs_review`` if any verifier asked for review or raised (a broken verifier
  never approves anything), or if the chain is empty;
* otherwise ``approved``.

Every finding is kept as evidence, so a moderator sees why. Shipped checks live in
`generation.cameo_checks`; stronger ones (phrase transcript, face match, speaker match) plug
in with local weights, see docs/cameos.md.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from generation.errors import MediaError, SpecError

KINDS = ("person", "character")
PASS, FAIL, REVIEW, SKIP = "pass", "fail", "review", "skip"
APPROVED, REJECTED, NEEDS_REVIEW = "approved", "rejected", "needs_review"
SAMPLE_FRAMES = 24  # frames kept (evenly spaced) for the image checks
FRAME_WIDTH = 240  # sampled frames are scaled to this width (grey), enough for face detection
AUDIO_RATE = 16_000
MAX_CAPTURE_BYTES = 200 * 1024 * 1024
MAX_DECODE_SECONDS = 30.0  # never decode more than this, whatever the container claims

logger = logging.getLogger("vitascope.generation.cameo")


@dataclass(frozen=True, kw_only=True)
class Capture:
    """What the node asks to verify; `challenge_*` are set for a person cameo only."""

    path: str
    kind: str
    challenge_phrase: str | None = None
    challenge_issued_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpecError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "person" and (not self.challenge_phrase or self.challenge_issued_at is None):
            raise SpecError("a person capture needs challenge_phrase and challenge_issued_at")
        if self.challenge_issued_at is not None and self.challenge_issued_at.tzinfo is None:
            raise SpecError("challenge_issued_at must carry a time zone")

    @classmethod
    def from_dict(cls, data: Any) -> Capture:
        if not isinstance(data, dict) or set(data) - {"path", "kind", "challenge_phrase", "challenge_issued_at"}:
            raise SpecError("capture must be a dict with path, kind, challenge_phrase, challenge_issued_at")
        issued = data.get("challenge_issued_at")
        try:
            issued_at = datetime.fromisoformat(issued) if issued is not None else None
        except (TypeError, ValueError):
            raise SpecError(f"challenge_issued_at must be an ISO 8601 time, got {issued!r}") from None
        if not isinstance(data.get("path"), str) or not os.path.isabs(data["path"]):
            raise SpecError("capture path must be an absolute path")
        return cls(path=data["path"], kind=data.get("kind"), challenge_phrase=data.get("challenge_phrase"),
                   challenge_issued_at=issued_at)


@dataclass
class Recording:
    """A capture decoded once. `frames` are grey uint8 (N, H, W) sampled evenly over the clip,
    upright (display rotation applied); `audio` is float32 mono at 16 kHz (empty if none)."""

    width: int  # as displayed, rotation applied
    height: int
    duration: float
    fps: float
    video_frame_count: int
    has_audio: bool
    frames: np.ndarray
    audio: np.ndarray
    created_at: datetime | None
    container: str


@dataclass(frozen=True)
class Finding:
    """One verifier's answer: `outcome` is pass | fail | review | skip."""

    outcome: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    verifier: str
    outcome: str
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    state: str  # approved | rejected | needs_review
    reason: str
    evidence: list[Evidence]

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "evidence": [asdict(e) for e in self.evidence]}


Verifier = Callable[[Capture, Recording], Finding]

DEFAULT_VERIFIERS = [
    "generation.cameo_checks:container",
    "generation.cameo_checks:recorded_after_challenge",
    "generation.cameo_checks:moving_picture",
    "generation.cameo_checks:live_sound",
    "generation.cameo_checks:speech_present",
    "generation.cameo_checks:faces",
    "generation.cameo_checks:phrase_spoken",
]


def load_verifiers(paths: list[str]) -> list[tuple[str, Verifier]]:
    """Import the chain; a path that is not "module:function" or does not import stops start-up."""
    chain = []
    for path in paths:
        module_name, _, attr = path.partition(":")
        if not module_name or not attr:
            raise SpecError(f"cameo verifier {path!r} is not 'module:function'")
        try:
            chain.append((path, getattr(importlib.import_module(module_name), attr)))
        except (ImportError, AttributeError) as exc:
            raise SpecError(f"cameo verifier {path!r} cannot be loaded: {exc}") from exc
    return chain


def verify(capture: Capture, chain: list[tuple[str, Verifier]]) -> Verdict:
    """Decode the capture and run every verifier; see the module doc for how findings combine."""
    try:
        recording = read_recording(capture.path)
    except MediaError as exc:
        return Verdict(REJECTED, f"the recording cannot be read: {exc}",
                       [Evidence("decode", FAIL, str(exc), {})])
    evidence = []
    for name, verifier in chain:
        try:
            finding = verifier(capture, recording)
            if not isinstance(finding, Finding) or finding.outcome not in (PASS, FAIL, REVIEW, SKIP):
                raise TypeError(f"returned {finding!r}, not a Finding")
        except Exception as exc:  # fail closed: a broken verifier sends the capture to a moderator
            logger.exception("cameo verifier %s failed", name)
            finding = Finding(REVIEW, f"verifier failed ({type(exc).__name__}: {exc})")
        evidence.append(Evidence(name, finding.outcome, finding.reason, _plain(finding.details)))
    failed = [e for e in evidence if e.outcome == FAIL]
    if failed:
        return Verdict(REJECTED, failed[0].reason, evidence)
    review = [e for e in evidence if e.outcome == REVIEW]
    if review:
        return Verdict(NEEDS_REVIEW, "; ".join(e.reason for e in review), evidence)
    if not any(e.outcome == PASS for e in evidence):
        return Verdict(NEEDS_REVIEW, "no verifier checked this recording", evidence)
    return Verdict(APPROVED, "", evidence)


def _plain(details: dict[str, Any]) -> dict[str, Any]:
    """Evidence crosses Redis as JSON: numpy scalars become Python numbers."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in details.items()}


def read_recording(path: str) -> Recording:
    """Decode a capture with PyAV; anything it cannot open or that lacks a video stream is a MediaError."""
    import av

    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror}") from None
    if size > MAX_CAPTURE_BYTES:
        raise MediaError(f"the recording is larger than {MAX_CAPTURE_BYTES} bytes")
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise MediaError("the file has no video stream")
            video_stream = container.streams.video[0]
            has_audio = bool(container.streams.audio)
            created_at = _creation_time(container.metadata) or _creation_time(video_stream.metadata)
            duration = _duration(container, video_stream)
            fps = float(video_stream.average_rate or 0)
            frames, rotation, count = _sample_frames(container, video_stream, duration)
            width, height = video_stream.codec_context.width, video_stream.codec_context.height
            if rotation % 180:
                width, height = height, width
            audio = _read_audio(path) if has_audio else np.zeros(0, np.float32)
            return Recording(width=width, height=height, duration=duration, fps=fps, video_frame_count=count,
                             has_audio=has_audio, frames=frames, audio=audio, created_at=created_at,
                             container=container.format.name)
    except av.FFmpegError as exc:
        raise MediaError(f"not a readable video: {exc}") from None


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    # A streamed recording (a browser's MediaRecorder WebM) states none: where its last video packet ends.
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    container.seek(0)
    if not end:
        raise MediaError("the recording has no duration")
    return end


def _creation_time(metadata: dict[str, str]) -> datetime | None:
    value = metadata.get("creation_time")
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sample_frames(container, stream, duration: float) -> tuple[np.ndarray, int, int]:
    """Decode every frame (up to MAX_DECODE_SECONDS) and keep SAMPLE_FRAMES evenly spaced ones."""
    from PIL import Image

    stream.thread_type = "AUTO"
    fps = float(stream.average_rate or 30)
    expected = max(1, int(min(duration, MAX_DECODE_SECONDS) * fps))
    wanted = set(np.linspace(0, expected - 1, min(SAMPLE_FRAMES, expected)).round().astype(int).tolist())
    kept, rotation, count = [], 0, 0
    for frame in container.decode(stream):
        if frame.time is not None and frame.time > MAX_DECODE_SECONDS:
            break
        if count in wanted:
            rotation = int(getattr(frame, "rotation", 0) or 0)
            image = frame.to_image().convert("L")
            if rotation % 360:
                image = image.rotate(rotation, expand=True)
            scaled = image.resize((FRAME_WIDTH, max(2, round(image.height * FRAME_WIDTH / image.width))),
                                  Image.Resampling.BILINEAR)
            kept.append(np.asarray(scaled))
        count += 1
    if not kept:
        raise MediaError("the video stream has no frames")
    return np.stack(kept), rotation, count


def _read_audio(path: str) -> np.ndarray:
    import av

    with av.open(path) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        chunks = []
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > MAX_DECODE_SECONDS:
                break
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)



SHEET_CELL = (288, 512)  # a 2 x 2 sheet of upright frames: 576 x 1024, the 9:16 render size


def write_reference_sheet(capture_path: str, out_path: str) -> str:
    """Compose four frames from the middle of the recording into one reference sheet (PNG, 0600).

    Generation conditions on this sheet, never on the recording: the sheet is what a grant
    lets a renderer fetch.
    """
    import av
    from PIL import Image

    picked = []
    with av.open(capture_path) as container:
        stream = container.streams.video[0]
        duration = _duration(container, stream)
        times = [duration * share for share in (0.2, 0.4, 0.6, 0.8)]
        for frame in container.decode(stream):
            if frame.time is not None and times and frame.time >= times[0]:
                image = frame.to_image().convert("RGB")
                rotation = int(getattr(frame, "rotation", 0) or 0)
                picked.append(image.rotate(rotation, expand=True) if rotation % 360 else image)
                times.pop(0)
            if not times:
                break
    if not picked:
        raise MediaError("no frames to build a reference sheet from")
    width, height = SHEET_CELL
    sheet = Image.new("RGB", (2 * width, 2 * height))
    for index in range(4):
        image = picked[index % len(picked)]
        sheet.paste(image.resize((width, height), Image.Resampling.LANCZOS), ((index % 2) * width, (index // 2) * height))
    partial = f"{out_path}.partial"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        sheet.save(handle, format="PNG")
    os.replace(partial, out_path)
    return out_path
