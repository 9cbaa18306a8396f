"""Load a model family from disk (or the tiny test model) and apply the speed settings once.

A worker calls `load_model` at startup and keeps the `LoadedModel` for its whole life.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generation import tiny
from generation.errors import ModelLoadError
from generation.spec import ModelConfig, ModelInfo, parse_cache
from generation.voice import Voice, load_voice

if TYPE_CHECKING:
    from generation.pipelines.base import VideoFamily

FAMILY_CLASSES = {"ltx2": "generation.pipelines.ltx2:LTX2Family", "ltx": "generation.pipelines.ltx:LTXFamily"}
IDENTITY_FILE = "vitascope-model.json"  # optional {"name": ..., "version": ...} written by the operator
SAMPLE_BYTES = 64 * 1024
SMALL_FILE_BYTES = 1024 * 1024
FBC_DEFAULT_THRESHOLD = 0.05
TAYLORSEER_DEFAULT_INTERVAL = 5


@dataclass
class LoadedModel:
    """A ready family plus what results must record about it."""

    info: ModelInfo
    config: ModelConfig
    family: VideoFamily
    steps: int
    voice: Voice | None = None

    @property
    def test_model(self) -> bool:
        return self.info.test_model


def load_model(cfg: ModelConfig, data_dir: str) -> LoadedModel:
    """Load `cfg.path` (or the tiny model of `cfg.family` when it is None) and tune it as asked."""
    import torch

    voice = load_voice(cfg.voice_stage, cfg.voice_options)  # a bad stage path fails before minutes of loading
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {cfg.device!r} asked but CUDA is not available")
    if cfg.path is None:
        path = tiny.ensure_tiny_model(cfg.family, data_dir)
        audio_path = tiny.ensure_tiny_model("stable-audio", data_dir) if cfg.family == "ltx" else None
        if cfg.audio_model_path is not None:
            raise ModelLoadError("audio_model_path needs a real video model path too; the tiny model brings its own")
    else:
        path = Path(cfg.path)
        audio_path = Path(cfg.audio_model_path) if cfg.audio_model_path else None
    for directory in (path, audio_path):
        if directory is not None and not (directory / "model_index.json").is_file():
            raise ModelLoadError(f"{directory} is not a diffusers pipeline directory (no model_index.json)")
    test_model = tiny.is_test_model(path) or (audio_path is not None and tiny.is_test_model(audio_path))

    family_cls = _family_class(cfg.family)
    family = family_cls.load(
        str(path),
        dtype=getattr(torch, cfg.dtype),
        test_model=test_model,
        guidance_scale=cfg.guidance_scale,
        audio_model_path=str(audio_path) if audio_path else None,
        reference_lora_path=cfg.reference_lora_path,
    )
    family.to(cfg.device)
    apply_tuning(family, cfg)
    name, version = _identity(path, audio_path)
    lora_dir = Path(cfg.reference_lora_path).parent if cfg.reference_lora_path else None
    info = ModelInfo(
        name=name,
        version=version,
        # The IC-LoRA changes cameo renders, so its folder is part of "which weights made this".
        weights_digest=weights_digest(*(d for d in (path, audio_path, lora_dir) if d is not None)),
        test_model=test_model,
        family=cfg.family,
    )
    return LoadedModel(info=info, config=cfg, family=family, steps=cfg.steps or family.default_steps, voice=voice)


def _family_class(family: str):
    module_name, _, class_name = FAMILY_CLASSES[family].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def apply_tuning(family: VideoFamily, cfg: ModelConfig) -> None:
    """Attention backend, step cache and regional compilation on every denoiser, in that order.

    Regional compile (`compile_repeated_blocks`) compiles one transformer block and reuses it for
    all of them: the speed of a full compile at a fraction of its compile time. With a cache hook,
    whose skip decision depends on tensor values, the blocks compile without `fullgraph`.
    """
    for module in family.denoisers():
        if cfg.attention_backend is not None:
            try:
                module.set_attention_backend(cfg.attention_backend)
            except (ValueError, RuntimeError, ImportError) as exc:
                raise ModelLoadError(f"attention backend {cfg.attention_backend!r} unavailable: {exc}") from exc
        if cfg.cache is not None:
            try:
                module.enable_cache(_cache_config(cfg.cache))
            except ValueError as exc:  # e.g. First-Block-Cache does not know LTX-2's blocks
                raise ModelLoadError(f"cache {cfg.cache!r} does not support {type(module).__name__}: {exc}") from exc
        if cfg.compile:
            module.compile_repeated_blocks(fullgraph=cfg.cache is None)


def _cache_config(value: str):
    from diffusers import FirstBlockCacheConfig, TaylorSeerCacheConfig

    kind, argument = parse_cache(value)
    if kind == "fbc":
        return FirstBlockCacheConfig(threshold=argument or FBC_DEFAULT_THRESHOLD)
    return TaylorSeerCacheConfig(cache_interval=int(argument or TAYLORSEER_DEFAULT_INTERVAL))


def _identity(path: Path, audio_path: Path | None) -> tuple[str, str]:
    name, version = _one_identity(path)
    if audio_path is not None:
        audio_name, audio_version = _one_identity(audio_path)
        name, version = f"{name}+{audio_name}", f"{version}+{audio_version}"
    return name, version


def _one_identity(path: Path) -> tuple[str, str]:
    """Name and version, from the operator's identity file, the tiny marker, or a Hugging Face cache path."""
    identity = path / IDENTITY_FILE
    if identity.is_file():
        data = json.loads(identity.read_text())
        return str(data["name"]), str(data["version"])
    if tiny.is_test_model(path):
        return path.name, f"tiny-{tiny.BUILDER_VERSION}"
    resolved = path.resolve()
    if resolved.parent.name == "snapshots" and resolved.parent.parent.name.startswith("models--"):
        repo = resolved.parent.parent.name.removeprefix("models--").replace("--", "/")
        return repo, resolved.name[:12]
    return path.name, weights_digest(path).removeprefix("sha256:")[:12]


def weights_digest(*directories: Path) -> str:
    """A cheap, stable fingerprint of model directories, not a full hash of gigabytes.

    Covers every file's relative path and size, small files (configs, tokenizers) in full, each
    safetensors header (tensor names, dtypes, shapes, offsets) and three 64 KiB samples of every
    weight file (start, middle, end of its data), so a different checkpoint of the same shape
    still gets a different digest while the cost stays at a few reads per file.
    """
    digest = hashlib.sha256()
    for root in directories:
        files = sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root)))
        for file in files:
            size = file.stat().st_size
            digest.update(f"{root.name}/{file.relative_to(root).as_posix()}\0{size}\0".encode())
            with open(file, "rb") as handle:
                if size <= SMALL_FILE_BYTES:
                    digest.update(handle.read())
                    continue
                data_start = 0
                if file.suffix == ".safetensors":
                    header_length = int.from_bytes(handle.read(8), "little")
                    if header_length > size - 8:
                        raise ModelLoadError(f"{file} is not a valid safetensors file")
                    digest.update(handle.read(header_length))
                    data_start = 8 + header_length
                for offset in _sample_offsets(data_start, size):
                    handle.seek(offset)
                    digest.update(handle.read(SAMPLE_BYTES))
    return "sha256:" + digest.hexdigest()


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _sample_offsets(start: int, size: int) -> list[int]:
    last = max(start, size - SAMPLE_BYTES)
    return sorted({start, start + (last - start) // 2, last})

