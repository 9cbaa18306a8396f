"""Text-to-audio with `StableAudioPipeline`: the soundtrack for video-only families."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generation.errors import ModelLoadError
from generation.pipelines.base import StepCounter, generators

if TYPE_CHECKING:
    import numpy as np
    import torch
    from diffusers import StableAudioPipeline

REAL_STEPS, TINY_STEPS = 50, 2


class SoundTrack:
    """Makes one waveform per prompt, exactly as long as the clip it accompanies."""

    def __init__(self, pipe: StableAudioPipeline, *, test_model: bool) -> None:
        self.pipe = pipe
        self.test_model = test_model
        self.steps = TINY_STEPS if test_model else REAL_STEPS
        self.sample_rate = int(pipe.vae.config.sampling_rate)
        pipe.set_progress_bar_config(disable=True)

    @classmethod
    def load(cls, path: str, *, dtype: torch.dtype, test_model: bool) -> SoundTrack:
        from diffusers import StableAudioPipeline

        try:
            pipe = StableAudioPipeline.from_pretrained(path, dtype=dtype)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot load a Stable Audio pipeline from {path}: {exc}") from exc
        return cls(pipe, test_model=test_model)

    @property
    def max_seconds(self) -> float:
        return self.pipe.transformer.config.sample_size * self.pipe.vae.hop_length / self.sample_rate

    def to(self, device: str) -> None:
        self.pipe.to(device)

    def generate(self, prompts: list[str], negative_prompts: list[str], seeds: list[int], seconds: float,
                 counter: StepCounter) -> list[np.ndarray]:
        """Float (2, samples) waveforms; `counter` advances once per denoising step."""
        if seconds > self.max_seconds:
            raise ModelLoadError(f"the audio model makes at most {self.max_seconds:.2f} s, {seconds:.2f} s asked")
        output = self.pipe(
            prompt=prompts,
            negative_prompt=negative_prompts if any(negative_prompts) else None,
            audio_end_in_s=seconds,
            num_inference_steps=self.steps,
            guidance_scale=1.0 if self.test_model else 7.0,
            generator=generators(seeds),
            callback=lambda step, timestep, latents: counter.step(),
            callback_steps=1,
            output_type="np",
        )
        return [waveform.astype("float32") for waveform in output.audios]
