"""The voice stage: a cameo's line spoken in its owner's voice, cloned from their sample.

A stage is a "package.module:function" path (`--voice-stage`, config `generation.voice_stage`)
called as ``function(request: VoiceRequest, options: dict) -> None``; it writes a WAV (or any
audio PyAV reads) to `request.out_path` or raises. `options` is the `--voice-options` JSON
(config `generation.voice_options`).

Voice-cloning models need torchaudio, whose PyPI wheel does not load next to the worker's
torch, so the shipped stage, `run_command`, runs a program in its own environment: its argv is
`options["command"]`, a list in which ``{text}`` (the line), ``{text_file}`` (a UTF-8 file
holding it), ``{sample}`` (the owner's voice sample) and ``{out}`` (the WAV to write) are
replaced; no shell is involved. Exit status 0 and a readable `{out}` mean success. See
docs/generation.md for a Coqui XTTS and an F5-TTS command.

There is no silent fallback: a job whose owner requires their voice fails with
`VoiceUnavailable` on a worker without a stage, and a stage that fails fails the job.
"""

from __future__ import annotations

import importlib
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generation.errors import GenerationError, SpecError

DEFAULT_TIMEOUT_S = 300
LEAD_IN_S = 0.25  # the line starts a moment after the clip does
BED_LEVEL = 0.35  # the model's own soundtrack stays under the cloned line as ambience


class VoiceUnavailable(GenerationError):
    """The owner requires their own voice and this worker has no voice stage: the job is refused."""


class VoiceFailed(GenerationError):
    """The voice stage ran and did not produce speech."""


@dataclass(frozen=True)
class VoiceRequest:
    text: str
    sample_path: str
    out_path: str


VoiceStage = Callable[[VoiceRequest, dict[str, Any]], None]


@dataclass
class Voice:
    """A loaded stage with its options."""

    path: str
    stage: VoiceStage
    options: dict[str, Any]

    def speak(self, text: str, sample_path: str, sample_rate: int) -> np.ndarray:
        """Run the stage and return mono float32 speech at `sample_rate`."""
        with tempfile.TemporaryDirectory(prefix="vitascope-voice-") as directory:
            out = str(Path(directory) / "voice.wav")
            try:
                self.stage(VoiceRequest(text=text, sample_path=sample_path, out_path=out), self.options)
            except GenerationError:
                raise
            except Exception as exc:
                raise VoiceFailed(f"voice stage {self.path} failed: {type(exc).__name__}: {exc}") from exc
            return read_speech(out, sample_rate)


def load_voice(path: str | None, options: dict[str, Any] | None = None) -> Voice | None:
    """Import the configured stage (None when there is none); a bad path stops start-up."""
    if not path:
        return None
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise SpecError(f"voice stage {path!r} is not 'module:function'")
    try:
        stage = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"voice stage {path!r} cannot be loaded: {exc}") from exc
    return Voice(path=path, stage=stage, options=dict(options or {}))


def require_voice(voice: Voice | None, *, voice_text: str | None, voice_required: bool) -> None:
    """Refuse, before any rendering, a job whose owner requires a voice this worker cannot clone."""
    if voice_text is not None and voice_required and voice is None:
        raise VoiceUnavailable("the cameo owner requires their own voice and this worker has no voice stage "
                               "(set generation.voice_stage); refusing rather than using another voice")


def run_command(request: VoiceRequest, options: dict[str, Any]) -> None:
    """The shipped stage: run `options["command"]` (see the module doc) and wait for it."""
    command = options.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(part, str) for part in command):
        raise SpecError("voice option 'command' must be a non-empty list of strings")
    timeout = options.get("timeout_s", DEFAULT_TIMEOUT_S)
    text_file = Path(request.out_path).with_suffix(".txt")
    text_file.write_text(request.text, encoding="utf-8")
    values = {"text": request.text, "text_file": str(text_file), "sample": request.sample_path,
              "out": request.out_path}
    argv = [part.format_map(values) for part in command]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise VoiceFailed(f"voice command not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise VoiceFailed(f"voice command ran longer than {timeout} s") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-500:]
        raise VoiceFailed(f"voice command exited with {done.returncode}: {tail}")
    if not Path(request.out_path).is_file():
        raise VoiceFailed("voice command exited 0 but wrote no audio")


def read_speech(path: str, sample_rate: int) -> np.ndarray:
    """Mono float32 at `sample_rate` from any audio file PyAV reads."""
    import av

    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise VoiceFailed("the voice stage wrote a file with no audio")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            chunks = [out.to_ndarray().reshape(-1) for frame in container.decode(audio=0)
                      for out in resampler.resample(frame)]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except av.FFmpegError as exc:
        raise VoiceFailed(f"the voice stage wrote unreadable audio: {exc}") from None
    speech = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if speech.size == 0 or not np.any(np.abs(speech) > 1e-4):
        raise VoiceFailed("the voice stage wrote silence")
    return speech


def mix(bed: np.ndarray, speech: np.ndarray, sample_rate: int) -> np.ndarray:
    """Lay `speech` over the model's (channels, samples) soundtrack, which drops to ambience level.

    The line is cut at the clip's end: the video's length is fixed before the voice is known.
    """
    out = bed * BED_LEVEL
    start = int(LEAD_IN_S * sample_rate)
    room = max(0, out.shape[-1] - start)
    out[..., start:start + min(room, speech.size)] += speech[:room]
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return out / peak if peak > 1.0 else out
