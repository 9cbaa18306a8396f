"""Cameo renders with the tiny LTX-2 model: reference-conditioned video, the voice stage and its refusal."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from generation.errors import SpecError
from generation.render import plan, render
from generation.spec import JobSpec
from generation.voice import VoiceFailed, VoiceUnavailable, load_voice
from tests.support.captures import draw_face

ESPEAK = ["espeak-ng", "-w", "{out}", "-f", "{text_file}"]


def make_spec(output_dir: Path, job_id: str, **overrides) -> JobSpec:
    fields = dict(job_id=job_id, prompt="a person waving on a beach", negative_prompt=None, duration=1.0,
                  aspect="9:16", seed=5, audio=True, output_dir=str(output_dir))
    fields.update(overrides)
    return JobSpec(**fields)


def no_progress(job_id: str, step: int, total: int) -> None:
    pass


def never(job_id: str) -> bool:
    return False


@pytest.fixture(scope="module")
def sheet(tmp_path_factory) -> str:
    """A reference sheet like the one verify_cameo_capture writes (576 x 1024, a face in it)."""
    from PIL import ImageDraw

    image = Image.new("L", (576, 1024), 60)
    draw_face(ImageDraw.Draw(image), 288, 512, 2.0)
    path = tmp_path_factory.mktemp("refs") / "sheet.png"
    image.convert("RGB").save(path)
    return str(path)


def decoded(path: str) -> tuple[np.ndarray, np.ndarray]:
    with av.open(path) as container:
        pictures = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    with av.open(path) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        sound = np.concatenate([o.to_ndarray().reshape(-1) for f in container.decode(audio=0)
                                for o in resampler.resample(f)])
    return pictures, sound


def test_a_cameo_render_is_conditioned_on_the_reference_and_keeps_its_sound(ltx2_model, sheet, tmp_path):
    with_ref, plain = render(ltx2_model, [make_spec(tmp_path, "cameo", cameo_references=[sheet]),
                                          make_spec(tmp_path, "plain")], no_progress, never)
    ref_frames, ref_audio = decoded(with_ref.video_path)
    plain_frames, _ = decoded(plain.video_path)
    assert ref_frames.shape == plain_frames.shape and ref_frames.shape[1] > ref_frames.shape[2]
    # Same prompt, same seed: only the reference tokens can make the pictures differ.
    assert np.abs(ref_frames.astype(int) - plain_frames.astype(int)).mean() > 0.5
    assert with_ref.has_audio and ref_audio.size > 0 and not with_ref.voice_cloned


def test_two_cameos_render_in_one_video(ltx2_model, sheet, tmp_path):
    [result] = render(ltx2_model, [make_spec(tmp_path, "duo", cameo_references=[sheet, sheet], audio=False)],
                      no_progress, never)
    assert Path(result.video_path).is_file() and not result.has_audio


def test_the_video_only_family_refuses_cameos(ltx_model, sheet, tmp_path):
    with pytest.raises(SpecError, match="ltx2"):
        render(ltx_model, [make_spec(tmp_path, "refused", cameo_references=[sheet], audio=False)], no_progress, never)
    assert list(tmp_path.iterdir()) == []


def test_cameo_fields_are_validated(tmp_path, sheet):
    with pytest.raises(SpecError):
        make_spec(tmp_path, "x", cameo_references=[sheet, sheet, sheet])
    with pytest.raises(SpecError):
        make_spec(tmp_path, "x", cameo_references=["relative.png"])
    with pytest.raises(SpecError):
        make_spec(tmp_path, "x", voice_text="hello")  # no sample
    with pytest.raises(SpecError):
        make_spec(tmp_path, "x", voice_text="hello", voice_sample=sheet, audio=False)
    data = make_spec(tmp_path, "x", cameo_references=[sheet], voice_text="hi", voice_sample=sheet).to_dict()
    assert JobSpec.from_dict(data).cameo_references == [sheet]


def test_an_owner_who_requires_their_voice_is_refused_without_a_voice_stage(ltx2_model, sheet, tmp_path):
    spec = make_spec(tmp_path, "voiceless", cameo_references=[sheet], voice_text="hello there",
                     voice_sample=sheet, voice_required=True)
    assert ltx2_model.voice is None
    with pytest.raises(VoiceUnavailable, match="requires their own voice"):
        plan(ltx2_model, spec)
    with pytest.raises(VoiceUnavailable):
        render(ltx2_model, [spec], no_progress, never)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (tests/run.sh installs it)")
def test_the_voice_stage_runs_an_external_command_and_its_speech_is_in_the_soundtrack(ltx2_model, sheet, tmp_path):
    from silero_vad import get_speech_timestamps, load_silero_vad

    sample = tmp_path / "owner.wav"
    sample.write_bytes(b"")  # espeak-ng does not clone; the protocol only hands it the path
    voiced = dataclasses.replace(ltx2_model, voice=load_voice("generation.voice:run_command", {"command": ESPEAK}))
    [result] = render(voiced, [make_spec(tmp_path, "voiced", duration=3.0, cameo_references=[sheet],
                                         voice_text="hello from the beach", voice_sample=str(sample),
                                         voice_required=True)], no_progress, never)
    [silent] = render(ltx2_model, [make_spec(tmp_path, "unvoiced", duration=3.0, cameo_references=[sheet])],
                      no_progress, never)
    assert result.voice_cloned and not silent.voice_cloned

    def speech_seconds(path: str) -> float:
        _, sound = decoded(path)
        spans = get_speech_timestamps(torch.from_numpy(sound), load_silero_vad(), sampling_rate=16000,
                                      return_seconds=True)
        return sum(s["end"] - s["start"] for s in spans)

    assert speech_seconds(result.video_path) >= 0.8
    assert speech_seconds(silent.video_path) < 0.3  # the tiny model's own sound holds no speech


def test_a_failing_voice_stage_fails_the_job_and_writes_nothing(ltx2_model, sheet, tmp_path):
    sample = tmp_path / "owner.wav"
    sample.write_bytes(b"")
    out = tmp_path / "out"
    for command, message in ((["false"], "exited with 1"), (["true"], "wrote no audio"),
                             (["/no/such/voice-clone"], "not found")):
        voiced = dataclasses.replace(ltx2_model, voice=load_voice("generation.voice:run_command",
                                                                  {"command": command}))
        with pytest.raises(VoiceFailed, match=message):
            render(voiced, [make_spec(out, "broken", cameo_references=[sheet], voice_text="hi",
                                      voice_sample=str(sample))], no_progress, never)
        assert not (out / "broken.mp4").exists() and not (out / "broken.jpg").exists()


def test_a_bad_voice_stage_path_stops_start_up():
    with pytest.raises(SpecError):
        load_voice("generation.voice")
    with pytest.raises(SpecError):
        load_voice("generation.voice:nothing_here")
    assert load_voice(None) is None


def test_the_reference_ic_lora_acts_on_cameo_renders_only(ltx2_model, gen_data_dir, sheet):
    """Loaded like a real IC-LoRA (peft), the adapter changes cameo renders and nothing else."""
    from generation.media import read_image
    from generation.pipelines.base import Request
    from generation.registry import load_model
    from generation.spec import ModelConfig
    from generation.tiny import ensure_tiny_ic_lora

    lora = ensure_tiny_ic_lora(gen_data_dir)
    adapted = load_model(ModelConfig(family="ltx2", reference_lora_path=str(lora)), gen_data_dir)
    assert adapted.info.weights_digest != ltx2_model.info.weights_digest

    def clip(model, references):
        size = model.family.resolution("9:16")
        request = Request(prompts=["a person waving"], negative_prompts=[""], seeds=[3], audio=[True],
                          width=size.width, height=size.height, num_frames=9, fps=model.family.fps,
                          steps=model.steps, on_step=lambda step, total: None,
                          references=[read_image(sheet, size.width, size.height)] if references else None)
        return model.family.generate(request)[0]

    assert np.array_equal(clip(adapted, False).frames, clip(ltx2_model, False).frames)
    assert not np.array_equal(clip(adapted, True).frames, clip(ltx2_model, True).frames)
    assert np.array_equal(clip(adapted, False).frames, clip(ltx2_model, False).frames)  # switched off again


def test_a_real_model_without_a_likeness_adapter_refuses_cameos(gen_data_dir, sheet, tmp_path):
    from generation.pipelines.ltx2 import LTX2Family
    from generation.registry import load_model
    from generation.spec import ModelConfig

    model = load_model(ModelConfig(family="ltx2"), gen_data_dir)
    # The same weights presented as real ones (what a production directory without the marker is).
    real = LTX2Family(model.family.pipe, test_model=False)
    real_model = dataclasses.replace(model, family=real, steps=1)
    spec = make_spec(tmp_path, "no-adapter", cameo_references=[sheet], audio=False, aspect="1:1")
    with pytest.raises(SpecError, match="likeness adapter"):
        render(real_model, [spec], no_progress, never)
