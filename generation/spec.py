"""Plain data that crosses process boundaries: job specs, results, model identity and config.

Nothing here imports torch. The web side builds the same dicts without importing this module
(it sends `JobSpec.to_dict()`-shaped JSON through arq, keys and limits from generation.contract),
and a worker validates them here before any GPU work starts. Every `from_dict` validates: the queue is an input like any other.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from generation.contract import ASPECTS, MAX_CAMEOS, MAX_DURATION_S, MAX_PROMPT_CHARS, MAX_SEED
from generation.errors import SpecError

FAMILIES = ("ltx2", "ltx")
DTYPES = ("float32", "bfloat16", "float16")
MAX_VOICE_CHARS = 500
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SpecError(message)


def _check_keys(cls: type, data: Any) -> None:
    """Reject non-dicts, unknown keys and missing required keys with one clear message."""
    _require(isinstance(data, dict), f"{cls.__name__} must be a dict, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    _require(not unknown, f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    missing = required - set(data)
    _require(not missing, f"{cls.__name__}: missing field(s) {sorted(missing)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)


def _optional_path(name: str, value: Any) -> None:
    if value is not None:
        _require(isinstance(value, str) and os.path.isabs(value), f"{name} must be an absolute path or None")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 8192


def _check_transfer(transfer: Any) -> None:
    if transfer is None:
        return
    _require(isinstance(transfer, dict) and set(transfer) == {"inputs", "outputs"},
             "transfer must be None or {inputs, outputs}")
    inputs, outputs = transfer["inputs"], transfer["outputs"]
    _require(isinstance(inputs, dict) and len(inputs) <= MAX_CAMEOS + 2, "transfer.inputs must be a small object")
    for url, facts in inputs.items():
        _require(_is_url(url), "transfer.inputs keys must be http(s) URLs")
        _require(isinstance(facts, dict) and _is_int(facts.get("size")) and facts["size"] >= 0
                 and isinstance(facts.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", facts["sha256"]),
                 "transfer.inputs values must be {size, sha256}")
    _require(isinstance(outputs, dict) and set(outputs) == {"video", "poster"}
             and all(_is_url(u) for u in outputs.values()), "transfer.outputs must be {video, poster} URLs")


@dataclass(kw_only=True)
class JobSpec:
    """One video to render. Paths are local to the worker; `source_video` is a file the node
    already verified (remix), `image` a still to animate; `strength` is how far a remix may
    move away from its source (0 = copy, 1 = ignore the source).

    Cameos: `cameo_references` are reference sheets (one image per cameo, written by
    `verify_cameo_capture` and fetched under a grant) the video is conditioned on.
    `voice_text` is a line a cameo speaks in the owner's voice, cloned from `voice_sample` by the
    worker's voice stage; `voice_required` (the owner's policy) makes a worker without a voice
    stage refuse the job instead of rendering the model's own voice."""

    job_id: str
    prompt: str
    negative_prompt: str | None
    duration: float
    aspect: str = "9:16"
    seed: int
    audio: bool
    output_dir: str
    source_video: str | None = None
    image: str | None = None
    strength: float = 0.6
    cameo_references: list[str] = field(default_factory=list)
    voice_sample: str | None = None
    voice_text: str | None = None
    voice_required: bool = False
    # The node keeps job files in an object store and shares no volume with this worker: the inputs
    # above are then presigned URLs, and `transfer` = {"inputs": {url: {"size": n, "sha256": hex}},
    # "outputs": {"video": put_url, "poster": put_url}}; output_dir only names the reported paths.
    # generation.staging downloads and uploads them over plain HTTP(S); no credentials, no S3 client.
    transfer: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.job_id, str) and bool(_JOB_ID.match(self.job_id)),
                 "job_id must be 1-64 characters of [A-Za-z0-9_-], starting with a letter or digit")
        _require(isinstance(self.prompt, str) and self.prompt.strip() != "", "prompt must be a non-empty string")
        _require(len(self.prompt) <= MAX_PROMPT_CHARS, f"prompt is longer than {MAX_PROMPT_CHARS} characters")
        _require(self.negative_prompt is None or isinstance(self.negative_prompt, str),
                 "negative_prompt must be a string or None")
        _require(self.negative_prompt is None or len(self.negative_prompt) <= MAX_PROMPT_CHARS,
                 f"negative_prompt is longer than {MAX_PROMPT_CHARS} characters")
        _require(_is_number(self.duration) and 0 < self.duration <= MAX_DURATION_S,
                 f"duration must be a number with 0 < duration <= {MAX_DURATION_S:g} seconds, got {self.duration!r}")
        self.duration = float(self.duration)
        _require(self.aspect in ASPECTS, f"aspect must be one of {ASPECTS}, got {self.aspect!r}")
        _require(_is_int(self.seed) and 0 <= self.seed <= MAX_SEED, "seed must be an integer in [0, 2**63-1]")
        _require(isinstance(self.audio, bool), "audio must be a boolean")
        _require(isinstance(self.output_dir, str) and os.path.isabs(self.output_dir),
                 "output_dir must be an absolute path")
        _check_transfer(self.transfer)
        self._input("source_video", self.source_video)
        self._input("image", self.image)
        _require(self.source_video is None or self.image is None, "give source_video or image, not both")
        _require(_is_number(self.strength) and 0.0 <= self.strength <= 1.0, "strength must be in [0, 1]")
        self.strength = float(self.strength)
        _require(isinstance(self.cameo_references, list) and len(self.cameo_references) <= MAX_CAMEOS,
                 f"cameo_references must be a list of at most {MAX_CAMEOS} paths")
        for path in self.cameo_references:
            self._input("cameo_references[]", path)
            _require(path is not None, "cameo_references[] must be an absolute path")
        self._input("voice_sample", self.voice_sample)
        _require(self.voice_text is None or (isinstance(self.voice_text, str) and 0 < len(self.voice_text.strip())
                                             and len(self.voice_text) <= MAX_VOICE_CHARS),
                 f"voice_text must be None or 1-{MAX_VOICE_CHARS} characters")
        _require(self.voice_text is None or self.voice_sample is not None, "voice_text needs voice_sample")
        _require(self.voice_text is None or self.audio, "voice_text needs audio")
        _require(isinstance(self.voice_required, bool), "voice_required must be a boolean")

    def _input(self, name: str, value: Any) -> None:
        if self.transfer is None:
            _optional_path(name, value)
        elif value is not None:
            _require(value in self.transfer["inputs"], f"{name} must be one of transfer.inputs")

    @property
    def mode(self) -> str:
        """'video' (remix), 'image' (animate a still) or 'text'."""
        if self.source_video is not None:
            return "video"
        if self.image is not None:
            return "image"
        return "text"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> JobSpec:
        _check_keys(cls, data)
        return cls(**data)


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """Which weights made a video: recorded in results (and, by the node, in C2PA manifests)."""

    name: str
    version: str
    weights_digest: str
    test_model: bool
    family: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelInfo:
        _check_keys(cls, data)
        return cls(**data)


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """A finished render: both files exist under their final names when this is returned."""

    job_id: str
    video_path: str
    poster_path: str
    width: int
    height: int
    duration: float
    fps: int
    has_audio: bool
    model: ModelInfo
    steps: int
    voice_cloned: bool = False  # the soundtrack carries `voice_text` in the owner's cloned voice

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> JobResult:
        _check_keys(cls, data)
        return cls(**{**data, "model": ModelInfo.from_dict(data["model"])})


@dataclass(kw_only=True)
class ModelConfig:
    """How a worker loads its model. `path=None` means the tiny random test model of `family`.

    `reference_lora_path` is the IC-LoRA (a .safetensors file) that teaches a real LTX-2 model to
    follow cameo reference sheets; without it a real model refuses cameo jobs.
    `voice_stage` is a "module:function" voice stage (see generation.voice) run with `voice_options`.
    `cache` selects a diffusers cache hook: "fbc" or "fbc:<threshold>" (First-Block-Cache),
    "taylorseer", or "taylorseer:<interval>". `guidance_scale=1.0` runs without classifier-free
    guidance, as distilled checkpoints expect; None keeps the family's default.
    """

    path: str | None = None
    family: str = "ltx2"
    dtype: str = "float32"
    device: str = "cpu"
    compile: bool = False
    attention_backend: str | None = None
    cache: str | None = None
    steps: int | None = None
    audio_model_path: str | None = None
    guidance_scale: float | None = None
    reference_lora_path: str | None = None
    voice_stage: str | None = None
    voice_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _optional_path("path", self.path)
        _optional_path("reference_lora_path", self.reference_lora_path)
        _optional_path("audio_model_path", self.audio_model_path)
        _require(self.family in FAMILIES, f"family must be one of {FAMILIES}, got {self.family!r}")
        _require(self.dtype in DTYPES, f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        _require(isinstance(self.device, str) and self.device != "", "device must be a torch device string")
        _require(self.steps is None or (_is_int(self.steps) and 1 <= self.steps <= 200), "steps must be in 1..200")
        _require(self.guidance_scale is None or (_is_number(self.guidance_scale) and self.guidance_scale >= 1.0),
                 "guidance_scale must be >= 1.0")
        if self.cache is not None:
            parse_cache(self.cache)
        _require(self.voice_stage is None or (isinstance(self.voice_stage, str) and ":" in self.voice_stage),
                 "voice_stage must be a 'module:function' path or None")
        _require(isinstance(self.voice_options, dict), "voice_options must be a dict")


def parse_cache(value: str) -> tuple[str, float | None]:
    """Split "fbc:0.05" into ("fbc", 0.05); the kind is checked here so a typo fails at startup."""
    kind, _, arg = value.partition(":")
    _require(kind in ("fbc", "taylorseer"), f"cache must be 'fbc[:threshold]' or 'taylorseer[:interval]', got {value!r}")
    if not arg:
        return kind, None
    try:
        number = float(arg)
    except ValueError:
        raise SpecError(f"cache argument must be a number, got {arg!r}") from None
    _require(math.isfinite(number) and number > 0, f"cache argument must be positive, got {arg!r}")
    return kind, number
