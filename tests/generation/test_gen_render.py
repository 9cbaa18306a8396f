"""Rendering with the tiny models: real pipelines, real MP4 files, decoded back with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from generation.errors import JobCancelled
from generation.render import render
from generation.spec import JobSpec


def make_spec(output_dir: Path, job_id: str, **overrides) -> JobSpec:
    fields = dict(job_id=job_id, prompt="waves rolling onto a beach at dusk", negative_prompt=None, duration=1.5,
                  aspect="9:16", seed=11, audio=True, output_dir=str(output_dir))
    fields.update(overrides)
    return JobSpec(**fields)


def no_progress(job_id: str, step: int, total: int) -> None:
    pass


def never(job_id: str) -> bool:
    return False


def probe(path: str) -> dict:
    """Stream facts straight from the container: durations, size, decoded frames and audio samples."""
    with av.open(path) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        facts = {
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "video_codec": video.codec_context.name,
            "video_seconds": float(video.duration * video.time_base),
            "fps": float(video.average_rate),
            "audio_codec": audio.codec_context.name if audio else None,
            "audio_seconds": float(audio.duration * audio.time_base) if audio else None,
            "comment": container.metadata.get("comment"),
        }
    with av.open(path) as container:
        facts["frames"] = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    if audio is not None:
        with av.open(path) as container:
            facts["audio_samples"] = sum(f.samples for f in container.decode(audio=0))
    return facts


@pytest.mark.parametrize("duration", [1.0, 2.5])
def test_vertical_clip_has_video_and_audio_of_the_asked_duration(ltx2_model, tmp_path, duration):
    [result] = render(ltx2_model, [make_spec(tmp_path, "vertical", duration=duration)], no_progress, never)
    facts = probe(result.video_path)
    frame = 1 / ltx2_model.family.fps
    assert facts["video_codec"] == "h264" and facts["audio_codec"] == "aac"
    assert abs(facts["video_seconds"] - duration) <= frame
    assert abs(facts["audio_seconds"] - duration) <= frame
    assert len(facts["frames"]) == round(duration * ltx2_model.family.fps)
    assert facts["audio_samples"] > 0
    assert facts["height"] > facts["width"]
    assert (result.width, result.height) == (facts["width"], facts["height"])
    assert result.has_audio and result.duration == pytest.approx(duration, abs=frame)
    assert result.model.test_model is True and result.model.family == "ltx2"
    assert "test model" in facts["comment"]
    with Image.open(result.poster_path) as poster:
        assert poster.format == "JPEG" and poster.size == (result.width, result.height)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vertical.jpg", "vertical.mp4"]


def test_aspects_give_their_orientation(ltx2_model, tmp_path):
    specs = [make_spec(tmp_path, f"a{i}", aspect=aspect, audio=False)
             for i, aspect in enumerate(("9:16", "1:1", "16:9"))]
    tall, square, wide = render(ltx2_model, specs, no_progress, never)
    assert tall.height > tall.width and square.height == square.width and wide.width > wide.height
    assert probe(tall.video_path)["audio_codec"] is None and not tall.has_audio


def test_same_seed_same_frames_other_seed_other_frames(ltx2_model, tmp_path):
    first = render(ltx2_model, [make_spec(tmp_path, "first", seed=5)], no_progress, never)[0]
    again = render(ltx2_model, [make_spec(tmp_path, "again", seed=5)], no_progress, never)[0]
    other = render(ltx2_model, [make_spec(tmp_path, "other", seed=6)], no_progress, never)[0]
    frames = probe(first.video_path)["frames"]
    assert np.array_equal(frames, probe(again.video_path)["frames"])
    assert not np.array_equal(frames, probe(other.video_path)["frames"])


def test_compatible_jobs_share_one_pipeline_call(ltx2_model, tmp_path, monkeypatch):
    family = ltx2_model.family
    calls = []
    real_generate = family.generate

    def counting_generate(request):
        calls.append(len(request.prompts))
        return real_generate(request)

    monkeypatch.setattr(family, "generate", counting_generate)
    seen: dict[str, list[int]] = {}
    specs = [make_spec(tmp_path, "b1", seed=1), make_spec(tmp_path, "b2", seed=2),
             make_spec(tmp_path, "b3", seed=3, aspect="1:1")]
    results = render(ltx2_model, specs, lambda job, step, total: seen.setdefault(job, []).append(step), never)
    assert [r.job_id for r in results] == ["b1", "b2", "b3"]
    assert calls == [2, 1]
    assert seen == {job: list(range(1, ltx2_model.steps + 1)) for job in ("b1", "b2", "b3")}
    # A batched item is the video its seed gives alone (up to float noise that H.264 may amplify locally).
    alone = render(ltx2_model, [make_spec(tmp_path, "b1-alone", seed=1)], no_progress, never)[0]
    neighbour = render(ltx2_model, [make_spec(tmp_path, "b2-alone", seed=2)], no_progress, never)[0]
    batched, single = probe(results[0].video_path)["frames"], probe(alone.video_path)["frames"]
    batch_error = np.abs(batched.astype(int) - single.astype(int)).mean()
    seed_difference = np.abs(probe(neighbour.video_path)["frames"].astype(int) - single.astype(int)).mean()
    assert batch_error < 0.5 < seed_difference


def test_cancel_mid_run_raises_and_leaves_no_file(ltx2_model, tmp_path):
    steps_seen = []

    def progress(job_id, step, total):
        steps_seen.append(step)

    with pytest.raises(JobCancelled) as caught:
        render(ltx2_model, [make_spec(tmp_path, "cancel-me")], progress, lambda job_id: len(steps_seen) >= 1)
    assert caught.value.job_id == "cancel-me"
    assert steps_seen == [1]  # stopped right after the first step, not at the end
    assert list(tmp_path.iterdir()) == []


def test_cancel_before_start_renders_nothing(ltx2_model, tmp_path):
    with pytest.raises(JobCancelled):
        render(ltx2_model, [make_spec(tmp_path, "early")], no_progress, lambda job_id: True)
    assert list(tmp_path.iterdir()) == []


def test_remix_of_a_source_video(ltx2_model, tmp_path):
    source = render(ltx2_model, [make_spec(tmp_path, "source", seed=1)], no_progress, never)[0]
    remix_spec = make_spec(tmp_path, "remix", seed=2, duration=2.0, source_video=source.video_path, strength=0.5)
    [remix] = render(ltx2_model, [remix_spec], no_progress, never)
    facts = probe(remix.video_path)
    assert abs(facts["video_seconds"] - 2.0) <= 1 / ltx2_model.family.fps
    assert facts["audio_codec"] == "aac" and facts["height"] > facts["width"]


def test_animate_a_still(ltx2_model, tmp_path):
    still = tmp_path / "still.png"
    Image.fromarray(np.full((90, 50, 3), (200, 40, 40), dtype=np.uint8)).save(still)
    [result] = render(ltx2_model, [make_spec(tmp_path, "still", image=str(still), audio=False)], no_progress, never)
    assert len(probe(result.video_path)["frames"]) == round(1.5 * ltx2_model.family.fps)


def test_video_only_family_adds_a_separate_soundtrack(ltx_model, tmp_path):
    specs = [make_spec(tmp_path, "with-sound", duration=2.0), make_spec(tmp_path, "silent", audio=False, duration=2.0)]
    with_sound, silent = render(ltx_model, specs, no_progress, never)
    facts = probe(with_sound.video_path)
    assert facts["audio_codec"] == "aac" and abs(facts["audio_seconds"] - 2.0) <= 1 / ltx_model.family.fps
    assert probe(silent.video_path)["audio_codec"] is None
    assert with_sound.model.name == "tiny-ltx+tiny-stable-audio"


def test_video_only_family_remix(ltx_model, tmp_path):
    source = render(ltx_model, [make_spec(tmp_path, "ltx-source", audio=False)], no_progress, never)[0]
    [remix] = render(ltx_model, [make_spec(tmp_path, "ltx-remix", audio=False, source_video=source.video_path)],
                     no_progress, never)
    assert Path(remix.video_path).is_file()


@pytest.mark.gpu
def test_tuned_render_on_cuda(gen_data_dir, tmp_path):
    from generation.registry import load_model
    from generation.spec import ModelConfig

    config = ModelConfig(family="ltx2", device="cuda", dtype="bfloat16", compile=True, cache="taylorseer",
                         attention_backend="native")
    model = load_model(config, gen_data_dir)
    [result] = render(model, [make_spec(tmp_path, "cuda")], no_progress, never)
    assert abs(probe(result.video_path)["video_seconds"] - 1.5) <= 1 / model.family.fps
