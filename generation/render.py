"""Turn job specs into finished MP4 + JPEG files with a loaded model.

Specs that share mode, size and frame count run as one batched pipeline call (a list of
prompts is one forward pass per step). Text-to-video specs batch together; a still to
animate or a video to remix is its own batch of one. Files appear under their final names
only when complete, and never for a cancelled job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generation.errors import GenerationError, JobCancelled, SpecError
from generation.media import (
    atomic_output,
    encode_mp4,
    read_image,
    read_video,
    remove_stale_partials,
    write_poster,
)
from generation.pipelines.base import Clip, Request
from generation.registry import LoadedModel
from generation.spec import JobResult, JobSpec
from generation.voice import mix, require_voice

Progress = Callable[[str, int, int], None]
"""progress(job_id, steps done, steps in total), called after every denoising step."""
ShouldCancel = Callable[[str], bool]
TEST_MODEL_COMMENT = "vitascope test model: random weights, not a real generation"
AUDIO_SHORTFALL_TOLERANCE = 0.05  # a model may return up to 5% less audio than the clip; the rest is silence


@dataclass(frozen=True)
class Plan:
    """The concrete shape of one job on one model."""

    spec: JobSpec
    width: int
    height: int
    fps: int
    frames: int  # delivered: round(duration * fps)
    num_frames: int  # generated: the next count the VAE accepts (frame_multiple * k + 1)

    @property
    def batch_key(self) -> tuple:
        solo = self.spec.job_id if self.spec.mode != "text" or self.spec.cameo_references else ""
        return (self.spec.mode, self.width, self.height, self.num_frames, solo)

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def plan(model: LoadedModel, spec: JobSpec) -> Plan:
    """The job's shape; also refuses, before anything renders, what this worker cannot honour."""
    require_voice(model.voice, voice_text=spec.voice_text, voice_required=spec.voice_required)
    family = model.family
    size = family.resolution(spec.aspect)
    if size.width % family.spatial_multiple or size.height % family.spatial_multiple:
        raise SpecError(f"{size.width}x{size.height} is not a multiple of {family.spatial_multiple} for {family.name}")
    frames = max(1, round(spec.duration * family.fps))
    step = family.frame_multiple
    num_frames = -(-(frames - 1) // step) * step + 1
    return Plan(spec=spec, width=size.width, height=size.height, fps=family.fps, frames=frames, num_frames=num_frames)


def render(model: LoadedModel, specs: list[JobSpec], progress: Progress, should_cancel: ShouldCancel) -> list[JobResult]:
    """Render every spec, batching compatible ones; results come back in the order of `specs`.

    Raises `JobCancelled` (naming the job) as soon as `should_cancel` says so, before or during
    denoising; the other jobs of that batch are left unrendered for the caller to run again.
    """
    job_ids = [spec.job_id for spec in specs]
    if len(set(job_ids)) != len(job_ids):
        raise SpecError("job ids in one render call must be unique")
    batches: dict[tuple, list[Plan]] = {}
    for spec in specs:
        item = plan(model, spec)
        batches.setdefault(item.batch_key, []).append(item)
    results: dict[str, JobResult] = {}
    for batch in batches.values():
        for result in _render_batch(model, batch, progress, should_cancel):
            results[result.job_id] = result
    return [results[job_id] for job_id in job_ids]


def _check_cancelled(batch: list[Plan], should_cancel: ShouldCancel) -> None:
    for item in batch:
        if should_cancel(item.spec.job_id):
            raise JobCancelled(item.spec.job_id)


def _render_batch(model: LoadedModel, batch: list[Plan], progress: Progress,
                  should_cancel: ShouldCancel) -> list[JobResult]:
    _check_cancelled(batch, should_cancel)
    first = batch[0]

    def on_step(step: int, total: int) -> None:
        for item in batch:
            progress(item.spec.job_id, step, total)
        _check_cancelled(batch, should_cancel)

    request = Request(
        prompts=[item.spec.prompt for item in batch],
        negative_prompts=[item.spec.negative_prompt or "" for item in batch],
        seeds=[item.spec.seed for item in batch],
        audio=[item.spec.audio for item in batch],
        width=first.width,
        height=first.height,
        num_frames=first.num_frames,
        fps=first.fps,
        steps=model.steps,
        on_step=on_step,
        strength=first.spec.strength,
    )
    if first.spec.image is not None:
        request.image = read_image(first.spec.image, first.width, first.height)
    if first.spec.source_video is not None:
        request.source_frames = read_video(first.spec.source_video, first.width, first.height,
                                           first.num_frames, first.fps)
    if first.spec.cameo_references:
        request.references = [read_image(path, first.width, first.height) for path in first.spec.cameo_references]
    clips = model.family.generate(request)
    if len(clips) != len(batch):
        raise GenerationError(f"{model.family.name} returned {len(clips)} clips for {len(batch)} prompts")
    _check_cancelled(batch, should_cancel)
    return [_write(model, item, clip) for item, clip in zip(batch, clips, strict=True)]


def _write(model: LoadedModel, item: Plan, clip: Clip) -> JobResult:
    spec = item.spec
    frames = clip.frames[: item.frames]
    audio = _soundtrack(item, clip) if spec.audio else None
    voice_cloned = False
    if audio is not None and spec.voice_text is not None and model.voice is not None:
        speech = model.voice.speak(spec.voice_text, spec.voice_sample, clip.sample_rate)
        audio, voice_cloned = mix(audio, speech, clip.sample_rate), True
    out = Path(spec.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    video_path, poster_path = out / f"{spec.job_id}.mp4", out / f"{spec.job_id}.jpg"
    for path in (video_path, poster_path):
        remove_stale_partials(path)
    # Poster first: whoever sees the video under its final name can rely on the poster too.
    with atomic_output(poster_path) as temp:
        write_poster(temp, frames[0])
    with atomic_output(video_path) as temp:
        encode_mp4(temp, frames, item.fps, audio, clip.sample_rate,
                   comment=TEST_MODEL_COMMENT if model.test_model else None)
    return JobResult(
        job_id=spec.job_id,
        video_path=str(video_path),
        poster_path=str(poster_path),
        width=item.width,
        height=item.height,
        duration=item.duration,
        fps=item.fps,
        has_audio=audio is not None,
        model=model.info,
        steps=model.steps,
        voice_cloned=voice_cloned,
    )


def _soundtrack(item: Plan, clip: Clip) -> np.ndarray:
    """The clip's audio cut (or, within tolerance, padded with silence) to exactly the video's length."""
    if clip.audio is None or clip.sample_rate is None:
        raise GenerationError(f"audio was requested for {item.spec.job_id} but the model returned none")
    wanted = round(item.duration * clip.sample_rate)
    have = clip.audio.shape[-1]
    if have < wanted * (1 - AUDIO_SHORTFALL_TOLERANCE):
        raise GenerationError(f"the model returned {have} audio samples, {wanted} needed for {item.spec.job_id}")
    if have >= wanted:
        return clip.audio[..., :wanted]
    return np.pad(clip.audio, [(0, 0)] * (clip.audio.ndim - 1) + [(0, wanted - have)])
