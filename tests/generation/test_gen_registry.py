"""Model loading: the tiny test model, identity and digest, and the tuning options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generation.errors import ModelLoadError
from generation.registry import load_model, weights_digest
from generation.render import render
from generation.spec import JobSpec, ModelConfig
from generation.tiny import MARKER, ensure_tiny_model, is_test_model


def spec(tmp_path: Path, job_id: str, **overrides) -> JobSpec:
    fields = dict(job_id=job_id, prompt="a paper boat", negative_prompt="blurry", duration=1.0, seed=3,
                  audio=False, output_dir=str(tmp_path))
    fields.update(overrides)
    return JobSpec(**fields)


def test_tiny_model_is_saved_once_and_marked(gen_data_dir):
    path = ensure_tiny_model("ltx2", gen_data_dir)
    assert path == Path(gen_data_dir) / "models" / "tiny-ltx2"
    assert (path / "model_index.json").is_file() and is_test_model(path)
    assert json.loads((path / MARKER).read_text())["test_model"] is True
    before = (path / "model_index.json").stat().st_mtime_ns
    assert ensure_tiny_model("ltx2", gen_data_dir) == path
    assert (path / "model_index.json").stat().st_mtime_ns == before  # not rebuilt


def test_loaded_from_an_explicit_path_a_tiny_model_is_still_a_test_model(gen_data_dir, ltx2_model):
    model = load_model(ModelConfig(path=str(Path(gen_data_dir) / "models" / "tiny-ltx2")), gen_data_dir)
    assert model.info.test_model is True
    assert model.info.weights_digest == ltx2_model.info.weights_digest
    assert (model.info.name, model.info.family) == ("tiny-ltx2", "ltx2")


def test_tiny_builds_are_reproducible(tmp_path, ltx2_model):
    rebuilt = ensure_tiny_model("ltx2", tmp_path)
    assert weights_digest(rebuilt) == ltx2_model.info.weights_digest


def test_digest_samples_large_weight_files(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"layers": 2}')
    header = json.dumps({"w": {"dtype": "F32", "shape": [1048576], "data_offsets": [0, 4194304]}}).encode()
    weights = model / "weights.safetensors"
    data = bytearray(len(header).to_bytes(8, "little") + header + bytes(4194304))
    weights.write_bytes(data)
    original = weights_digest(model)
    assert weights_digest(model) == original

    middle = 8 + len(header) + (4194304 - 65536) // 2 + 10  # inside the middle sample
    data[middle] ^= 0xFF
    weights.write_bytes(data)
    changed = weights_digest(model)
    assert changed != original

    data[8 + len(header) + 1_000_000] ^= 0xFF  # between samples: deliberately not read
    weights.write_bytes(data)
    assert weights_digest(model) == changed

    (model / "config.json").write_text('{"layers": 3}')
    assert weights_digest(model) != changed


def test_copy_without_marker_is_not_a_test_model(gen_data_dir, tmp_path):
    copy = tmp_path / "my-ltx2"
    shutil.copytree(Path(gen_data_dir) / "models" / "tiny-ltx2", copy)
    (copy / MARKER).unlink()
    (copy / "vitascope-model.json").write_text(json.dumps({"name": "house-ltx2", "version": "2026.1"}))
    model = load_model(ModelConfig(path=str(copy)), gen_data_dir)
    assert model.info.test_model is False
    assert (model.info.name, model.info.version) == ("house-ltx2", "2026.1")
    assert model.family.resolution("9:16").height == 1024  # real sizes for a real model


def test_bad_paths_and_devices_fail_clearly(gen_data_dir, tmp_path):
    with pytest.raises(ModelLoadError, match="model_index.json"):
        load_model(ModelConfig(path=str(tmp_path)), gen_data_dir)
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="CUDA"):
            load_model(ModelConfig(device="cuda:0"), gen_data_dir)


def test_unavailable_attention_backend_fails_at_load(gen_data_dir):
    with pytest.raises(ModelLoadError, match="attention backend"):
        load_model(ModelConfig(attention_backend="no-such-backend"), gen_data_dir)


def test_first_block_cache_unsupported_by_ltx2_fails_at_load(gen_data_dir):
    with pytest.raises(ModelLoadError, match="does not support"):
        load_model(ModelConfig(family="ltx2", cache="fbc"), gen_data_dir)


@pytest.mark.parametrize("family, cache", [("ltx", "fbc:0.1"), ("ltx2", "taylorseer"), ("ltx", "taylorseer:3")])
def test_cached_models_render_batches_of_changing_shape(gen_data_dir, tmp_path, family, cache):
    model = load_model(ModelConfig(family=family, cache=cache, attention_backend="native"), gen_data_dir)
    quiet = lambda *args: None
    first = render(model, [spec(tmp_path, "c1"), spec(tmp_path, "c2", seed=4)], quiet, lambda job_id: False)
    second = render(model, [spec(tmp_path, "c3", aspect="16:9", duration=2.0)], quiet, lambda job_id: False)
    assert [r.job_id for r in first + second] == ["c1", "c2", "c3"]
    assert all(Path(r.video_path).is_file() for r in first + second)
