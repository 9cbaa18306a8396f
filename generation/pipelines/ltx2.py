"""LTX-2: one transformer denoises video and audio together (`LTX2Pipeline` and friends).

Text-to-video, image-to-video, video-conditioned remix and cameo renders share one set of
components; the variants are built with `from_pipe`, so weights are loaded once.

Cameos: `LTX2InContextPipeline` appends each reference sheet's latent tokens to the sequence
(`LTX2ReferenceCondition`), and an IC-LoRA trained for reference sheets (Lightricks'
"Ingredients" IC-LoRA) makes the model keep that identity; the audio is still generated jointly.
The adapter is active only for cameo renders. A real model without it refuses cameo jobs (its
output would only loosely follow the reference); the tiny test model runs the same path without.
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

if TYPE_CHECKING:
    import torch
    from diffusers import LTX2Pipeline

REAL_RESOLUTIONS = {"9:16": Resolution(576, 1024), "1:1": Resolution(768, 768), "16:9": Resolution(1024, 576)}
# The pipelines accept only multiples of 32; the smallest such sizes keep the tiny model fast.
TINY_RESOLUTIONS = {"9:16": Resolution(32, 64), "1:1": Resolution(32, 32), "16:9": Resolution(64, 32)}
PIPELINE_SIZE_MULTIPLE = 32
REAL_FPS, TINY_FPS = 24, 8
REAL_STEPS, DISTILLED_STEPS, TINY_STEPS = 30, 8, 2
TINY_MAX_SEQUENCE_LENGTH = 64  # the tiny model's byte-level tokenizer: keep text short and fast
LIKENESS_ADAPTER = "cameo"
REFERENCE_STRENGTH = 1.0  # reference tokens enter clean (timestep 0), as the IC-LoRA was trained

# Guidance off: what distilled checkpoints expect, and what keeps the tiny model to one pass per step.
NO_GUIDANCE: dict[str, Any] = {
    "guidance_scale": 1.0,
    "stg_scale": 0.0,
    "modality_scale": 1.0,
    "guidance_rescale": 0.0,
    "audio_guidance_scale": 1.0,
    "audio_stg_scale": 0.0,
    "audio_modality_scale": 1.0,
    "audio_guidance_rescale": 0.0,
    "spatio_temporal_guidance_blocks": None,
}


class LTX2Family:
    """Joint audio+video generation; every clip comes with a soundtrack from the same model."""

    name = "ltx2"

    def __init__(self, pipe: LTX2Pipeline, *, test_model: bool, guidance_scale: float | None = None,
                 likeness_adapter: bool = False) -> None:
        self.pipe = pipe
        self.likeness_adapter = likeness_adapter
        self.test_model = test_model
        self.guidance_scale = guidance_scale
        self.distilled = not test_model and guidance_scale == 1.0
        self.fps = TINY_FPS if test_model else REAL_FPS
        self.frame_multiple = pipe.vae_temporal_compression_ratio
        self.spatial_multiple = math.lcm(PIPELINE_SIZE_MULTIPLE,
                                        pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size)
        self.default_steps = TINY_STEPS if test_model else DISTILLED_STEPS if self.distilled else REAL_STEPS
        pipe.set_progress_bar_config(disable=True)
        if not test_model:
            # At real size the decoder's activations for a batch of 10 s clips dwarf the transformer's:
            # decode one clip at a time, in overlapping (blended) spatial and temporal tiles.
            pipe.vae.use_slicing = True
            pipe.vae.enable_tiling()
            pipe.vae.use_framewise_decoding = True
        self._variants: dict[str, Any] = {"text": pipe}

    @classmethod
    def load(cls, path: str, *, dtype: torch.dtype, test_model: bool, guidance_scale: float | None = None,
             audio_model_path: str | None = None, reference_lora_path: str | None = None) -> LTX2Family:
        from diffusers import LTX2Pipeline

        if audio_model_path is not None:
            raise ModelLoadError("ltx2 makes its own audio; audio_model_path is only for the video-only 'ltx' family")
        try:
            pipe = LTX2Pipeline.from_pretrained(path, dtype=dtype)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot load an LTX-2 pipeline from {path}: {exc}") from exc
        if reference_lora_path is not None:
            try:
                pipe.load_lora_weights(reference_lora_path, adapter_name=LIKENESS_ADAPTER)
            except (OSError, ValueError, KeyError, ImportError) as exc:
                raise ModelLoadError(f"cannot load the reference IC-LoRA {reference_lora_path}: {exc}") from exc
            pipe.disable_lora()  # only cameo renders use it
        return cls(pipe, test_model=test_model, guidance_scale=guidance_scale,
                   likeness_adapter=reference_lora_path is not None)

    def resolution(self, aspect: str) -> Resolution:
        return (TINY_RESOLUTIONS if self.test_model else REAL_RESOLUTIONS)[aspect]

    def denoisers(self) -> list[torch.nn.Module]:
        return [self.pipe.transformer]

    def to(self, device: str) -> None:
        self.pipe.to(device)

    def _variant(self, mode: str):
        if mode not in self._variants:
            from diffusers import LTX2ConditionPipeline, LTX2ImageToVideoPipeline, LTX2InContextPipeline

            cls = {"image": LTX2ImageToVideoPipeline, "video": LTX2ConditionPipeline,
                   "reference": LTX2InContextPipeline}[mode]
            variant = cls.from_pipe(self.pipe)
            variant.set_progress_bar_config(disable=True)
            self._variants[mode] = variant
        return self._variants[mode]

    def _sampling_kwargs(self, steps: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"num_inference_steps": steps}
        if self.test_model or self.distilled:
            kwargs.update(NO_GUIDANCE)
        elif self.guidance_scale is not None:
            kwargs["guidance_scale"] = self.guidance_scale
        if self.distilled and steps == DISTILLED_STEPS:
            from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

            kwargs["sigmas"] = list(DISTILLED_SIGMA_VALUES)
        if self.test_model:
            kwargs["max_sequence_length"] = TINY_MAX_SEQUENCE_LENGTH
        return kwargs

    def generate(self, request: Request) -> list[Clip]:
        if request.references:
            return self._generate_with_references(request)
        mode = "video" if request.source_frames is not None else "image" if request.image is not None else "text"
        return self._run(self._variant(mode), request, self._conditions(mode, request))

    def _generate_with_references(self, request: Request) -> list[Clip]:
        """A cameo render: the text, still or remix conditions plus one reference condition per cameo."""
        from diffusers.pipelines.ltx2.pipeline_ltx2_ic_lora import LTX2ReferenceCondition

        if not (self.test_model or self.likeness_adapter):
            raise SpecError("this worker has no likeness adapter (generation.reference_lora_path): "
                            "it cannot render cameos")
        mode = "video" if request.source_frames is not None else "image" if request.image is not None else "text"
        kwargs: dict[str, Any] = {"reference_conditions": [
            LTX2ReferenceCondition(frames=[sheet], strength=REFERENCE_STRENGTH) for sheet in request.references]}
        if mode == "image":
            from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

            kwargs["conditions"] = LTX2VideoCondition(frames=request.image, index=0, strength=1.0)
        elif mode == "video":
            kwargs.update(self._conditions(mode, request))
        if self.likeness_adapter:
            self.pipe.enable_lora()
        try:
            return self._run(self._variant("reference"), request, kwargs)
        finally:
            if self.likeness_adapter:
                self.pipe.disable_lora()

    @staticmethod
    def _conditions(mode: str, request: Request) -> dict[str, Any]:
        if mode == "image":
            return {"image": request.image}
        if mode == "video":
            from diffusers.pipelines.ltx2.pipeline_ltx2_condition import (
                LTX2VideoCondition,
            )

            # Condition strength is how much of the source is kept; a remix's strength is how far it moves.
            return {"conditions": LTX2VideoCondition(
                frames=request.source_frames, index=0, strength=1.0 - request.strength
            )}
        return {}

    def _run(self, pipe, request: Request, extra: dict[str, Any]) -> list[Clip]:
        counter = StepCounter(request.on_step, request.steps)
        kwargs = dict(
            prompt=request.prompts,
            negative_prompt=request.negative_prompts,
            width=request.width,
            height=request.height,
            num_frames=request.num_frames,
            frame_rate=float(request.fps),
            generator=generators(request.seeds),
            output_type="np",
            callback_on_step_end=counter.diffusers_callback(),
            **self._sampling_kwargs(request.steps),
            **extra,
        )
        output = pipe(**kwargs)
        frames = to_uint8(output.frames)
        audio = output.audio.float().cpu().numpy()
        rate = int(pipe.vocoder.config.output_sampling_rate)
        return [Clip(frames=frames[i], audio=audio[i], sample_rate=rate) for i in range(len(request.prompts))]
