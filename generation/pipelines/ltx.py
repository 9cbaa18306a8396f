"""LTX-Video: video-only and fast (`LTXPipeline`, `LTXImageToVideoPipeline`, `LTXConditionPipeline`).

One component set serves all three pipelines. Sound comes from a separate text-to-audio
model (`SoundTrack`), run after the video for the items that asked for audio.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from generation.errors import ModelLoadError, SpecError
from generation.pipelines.base import (
    Clip,
    Request,
    Resolution,
    StepCounter,
    generators,
    to_uint8,
)
from generation.pipelines.stable_audio import SoundTrack

if TYPE_CHECKING:
    import torch
    from diffusers import LTXPipeline

REAL_RESOLUTIONS = {"9:16": Resolution(576, 1024), "1:1": Resolution(768, 768), "16:9": Resolution(1024, 576)}
# The pipelines accept only multiples of 32; the smallest such sizes keep the tiny model fast.
TINY_RESOLUTIONS = {"9:16": Resolution(32, 64), "1:1": Resolution(32, 32), "16:9": Resolution(64, 32)}
PIPELINE_SIZE_MULTIPLE = 32
REAL_FPS, TINY_FPS = 24, 8
REAL_STEPS, TINY_STEPS = 50, 2
TINY_MAX_SEQUENCE_LENGTH = 64


class LTXFamily:
    """Video from LTX-Video; audio, when asked, from the attached `SoundTrack`."""

    name = "ltx"

    def __init__(self, pipe: LTXPipeline, *, test_model: bool, sound: SoundTrack | None = None,
                 guidance_scale: float | None = None) -> None:
        self.pipe = pipe
        self.sound = sound
        self.test_model = test_model
        self.guidance_scale = 1.0 if test_model and guidance_scale is None else guidance_scale
        self.fps = TINY_FPS if test_model else REAL_FPS
        self.frame_multiple = pipe.vae_temporal_compression_ratio
        self.spatial_multiple = math.lcm(PIPELINE_SIZE_MULTIPLE,
                                        pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size)
        self.default_steps = TINY_STEPS if test_model else REAL_STEPS
        pipe.set_progress_bar_config(disable=True)
        if not test_model:
            # Decode in overlapping (blended) spatial tiles to bound memory at real size. Batch slicing
            # and temporal tiling both mishandle the 0.9.1 decoder's timestep input in diffusers 0.42.1.
            pipe.vae.enable_tiling()
        self._variants: dict[str, Any] = {"text": pipe}

    @classmethod
    def load(cls, path: str, *, dtype: torch.dtype, test_model: bool, guidance_scale: float | None = None,
             audio_model_path: str | None = None, reference_lora_path: str | None = None) -> LTXFamily:
        from diffusers import LTXPipeline

        if reference_lora_path is not None:
            raise ModelLoadError("cameo references need the 'ltx2' family; 'ltx' has no reference-conditioned pipeline")
        try:
            pipe = LTXPipeline.from_pretrained(path, dtype=dtype)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot load an LTX-Video pipeline from {path}: {exc}") from exc
        sound = None
        if audio_model_path is not None:
            sound = SoundTrack.load(audio_model_path, dtype=dtype, test_model=test_model)
        return cls(pipe, test_model=test_model, sound=sound, guidance_scale=guidance_scale)

    def resolution(self, aspect: str) -> Resolution:
        return (TINY_RESOLUTIONS if self.test_model else REAL_RESOLUTIONS)[aspect]

    def denoisers(self) -> list[torch.nn.Module]:
        return [self.pipe.transformer]

    def to(self, device: str) -> None:
        self.pipe.to(device)
        if self.sound is not None:
            self.sound.to(device)

    def _variant(self, mode: str):
        if mode not in self._variants:
            from diffusers import LTXConditionPipeline, LTXImageToVideoPipeline

            cls = {"image": LTXImageToVideoPipeline, "video": LTXConditionPipeline}[mode]
            variant = cls.from_pipe(self.pipe)
            variant.set_progress_bar_config(disable=True)
            self._variants[mode] = variant
        return self._variants[mode]

    def generate(self, request: Request) -> list[Clip]:
        if request.references:
            raise SpecError("this 'ltx' worker cannot render cameos: reference conditioning needs the 'ltx2' family")
        wants_audio = [i for i, audio in enumerate(request.audio) if audio]
        if wants_audio and self.sound is None:
            raise SpecError("audio was requested but this 'ltx' worker has no audio model (set audio_model_path)")
        mode = "video" if request.source_frames is not None else "image" if request.image is not None else "text"
        pipe = self._variant(mode)
        audio_steps = self.sound.steps if wants_audio else 0
        counter = StepCounter(request.on_step, request.steps + audio_steps)
        kwargs: dict[str, Any] = dict(
            prompt=request.prompts,
            negative_prompt=request.negative_prompts,
            width=request.width,
            height=request.height,
            num_frames=request.num_frames,
            frame_rate=request.fps,
            num_inference_steps=request.steps,
            generator=generators(request.seeds),
            output_type="np",
            callback_on_step_end=counter.diffusers_callback(),
        )
        if self.guidance_scale is not None:
            kwargs["guidance_scale"] = self.guidance_scale
        if self.test_model:
            kwargs["max_sequence_length"] = TINY_MAX_SEQUENCE_LENGTH
        if mode == "image":
            kwargs["image"] = request.image
        elif mode == "video":
            # Condition strength is how much of the source is kept; a remix's strength is how far it moves.
            kwargs.update(video=request.source_frames, frame_index=0, strength=1.0 - request.strength)
        frames = to_uint8(pipe(**kwargs).frames)
        clips = [Clip(frames=frames[i], audio=None, sample_rate=None) for i in range(len(request.prompts))]
        if wants_audio:
            waveforms = self.sound.generate(
                [request.prompts[i] for i in wants_audio],
                [request.negative_prompts[i] for i in wants_audio],
                [request.seeds[i] for i in wants_audio],
                request.seconds,
                counter,
            )
            for i, waveform in zip(wants_audio, waveforms, strict=True):
                clips[i].audio, clips[i].sample_rate = waveform, self.sound.sample_rate
        return clips
