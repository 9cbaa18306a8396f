"""JobSpec / JobResult / ModelConfig validation and round trips (no torch involved)."""

from __future__ import annotations

import pytest

from generation.errors import SpecError
from generation.spec import JobResult, JobSpec, ModelConfig, ModelInfo, parse_cache


def spec_dict(**overrides):
    data = {
        "job_id": "job-1",
        "prompt": "a heron lands on a pier",
        "negative_prompt": None,
        "duration": 2.0,
        "aspect": "9:16",
        "seed": 7,
        "audio": True,
        "output_dir": "/srv/media/out",
    }
    data.update(overrides)
    return data


def test_round_trip_keeps_every_field():
    spec = JobSpec.from_dict(spec_dict(source_video="/srv/media/src.mp4", strength=0.3))
    assert JobSpec.from_dict(spec.to_dict()) == spec
    assert spec.mode == "video"
    assert JobSpec.from_dict(spec_dict(image="/srv/a.png")).mode == "image"
    assert JobSpec.from_dict(spec_dict()).mode == "text"


def test_defaults():
    data = spec_dict()
    del data["aspect"]
    spec = JobSpec.from_dict(data)
    assert (spec.aspect, spec.source_video, spec.image, spec.strength) == ("9:16", None, None, 0.6)


@pytest.mark.parametrize("duration", [0, -1, 10.01, 11, float("nan"), float("inf"), "5", True])
def test_duration_out_of_range_is_rejected(duration):
    with pytest.raises(SpecError, match="duration"):
        JobSpec.from_dict(spec_dict(duration=duration))


@pytest.mark.parametrize("duration", [0.1, 1, 10])
def test_duration_in_range_is_accepted(duration):
    assert JobSpec.from_dict(spec_dict(duration=duration)).duration == float(duration)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"aspect": "4:3"}, "aspect"),
        ({"job_id": "../../etc/passwd"}, "job_id"),
        ({"job_id": ""}, "job_id"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"audio": "yes"}, "audio"),
        ({"output_dir": "relative/dir"}, "output_dir"),
        ({"source_video": "/a.mp4", "image": "/a.png"}, "not both"),
        ({"image": "a.png"}, "image"),
        ({"strength": 1.5}, "strength"),
    ],
)
def test_invalid_fields_are_rejected(overrides, message):
    with pytest.raises(SpecError, match=message):
        JobSpec.from_dict(spec_dict(**overrides))


def test_unknown_and_missing_keys_are_rejected():
    with pytest.raises(SpecError, match="unknown"):
        JobSpec.from_dict(spec_dict(extra=1))
    data = spec_dict()
    del data["seed"]
    with pytest.raises(SpecError, match="missing"):
        JobSpec.from_dict(data)
    with pytest.raises(SpecError, match="dict"):
        JobSpec.from_dict(["not", "a", "dict"])


def test_job_result_round_trip():
    info = ModelInfo(name="tiny-ltx2", version="tiny-2", weights_digest="sha256:ab", test_model=True, family="ltx2")
    result = JobResult(job_id="j", video_path="/o/j.mp4", poster_path="/o/j.jpg", width=32, height=64,
                       duration=1.0, fps=8, has_audio=True, model=info, steps=2)
    data = result.to_dict()
    assert data["model"]["test_model"] is True
    assert JobResult.from_dict(data) == result


def test_model_config_validation():
    assert ModelConfig().family == "ltx2"
    with pytest.raises(SpecError, match="family"):
        ModelConfig(family="sora")
    with pytest.raises(SpecError, match="dtype"):
        ModelConfig(dtype="int8")
    with pytest.raises(SpecError, match="cache"):
        ModelConfig(cache="magic")
    with pytest.raises(SpecError, match="steps"):
        ModelConfig(steps=0)
    with pytest.raises(SpecError, match="path"):
        ModelConfig(path="models/ltx")


def test_parse_cache():
    assert parse_cache("fbc") == ("fbc", None)
    assert parse_cache("fbc:0.08") == ("fbc", 0.08)
    assert parse_cache("taylorseer:4") == ("taylorseer", 4.0)
    with pytest.raises(SpecError):
        parse_cache("fbc:-1")
    with pytest.raises(SpecError):
        parse_cache("fbc:abc")
