"""What every family module offers the renderer: one batched `generate` call and its shape rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import torch
    from PIL import Image

StepCallback = Callable[[int, int], None]
"""Called after every denoising step with (steps done, steps in total); raising stops the run."""


@dataclass(frozen=True)
class Resolution:
    width: int
    height: int


@dataclass
class Request:
    """One pipeline call: a batch of prompts that share mode, size and length.

    `image`, `source_frames` and `references` (cameo reference sheets, one per cameo) are only
    set for a batch of one (animate a still / remix / render with cameos).
    `audio[i]` says whether item i needs a soundtrack; `seconds` is the length of the clip.
    """

    prompts: list[str]
    negative_prompts: list[str]
    seeds: list[int]
    audio: list[bool]
    width: int
    height: int
    num_frames: int
    fps: int
    steps: int
    on_step: StepCallback
    image: Image.Image | None = None
    source_frames: list[Image.Image] | None = None
    references: list[Image.Image] | None = None
    strength: float = 0.6

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps


@dataclass
class Clip:
    """Decoded output of one batch item: uint8 (F, H, W, 3) frames and float (C, S) audio."""

    frames: np.ndarray
    audio: np.ndarray | None
    sample_rate: int | None


class VideoFamily(Protocol):
    """A loaded model family. `frame_multiple` is the VAE's temporal compression: LTX models
    take `frame_multiple * k + 1` frames; `spatial_multiple` divides width and height."""

    name: str
    test_model: bool
    fps: int
    frame_multiple: int
    spatial_multiple: int
    default_steps: int

    def resolution(self, aspect: str) -> Resolution: ...

    def denoisers(self) -> list[torch.nn.Module]:
        """The transformer(s) that run every step: what compile, attention backends and caches act on."""
        ...

    def to(self, device: str) -> None: ...

    def generate(self, request: Request) -> list[Clip]: ...


def generators(seeds: list[int]) -> torch.Generator | list[torch.Generator]:
    """CPU generators, one per item: the same seed gives the same noise on any GPU.

    A batch of one gets a bare generator, which the conditioning pipelines require.
    """
    import torch

    made = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
    return made[0] if len(made) == 1 else made


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Pipeline `output_type="np"` frames in [0, 1] to uint8."""
    import numpy as np

    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)


class StepCounter:
    """Turns per-stage step callbacks into one running count across stages (video, then audio)."""

    def __init__(self, on_step: StepCallback, total: int) -> None:
        self._on_step = on_step
        self.total = total
        self.done = 0

    def step(self) -> None:
        self.done += 1
        self._on_step(self.done, max(self.total, self.done))

    def diffusers_callback(self):
        """A `callback_on_step_end` for diffusers pipelines."""

        def callback(pipe, step, timestep, callback_kwargs):
            self.step()
            return callback_kwargs

        return callback

