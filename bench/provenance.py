"""Benchmark C2PA signing and verification cost per megabyte of video.

Run from the repository root:  python bench/provenance.py  (a few seconds on 2 cores).
Makes H.264 + AAC MP4s of about 1, 5 and 20 MB (random pixels, so the encoder cannot
shrink them), then reports the median of several sign and verify runs for each.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file shares its name with the `provenance` package; make the package win the import.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import av  # noqa: E402
import numpy as np  # noqa: E402

from provenance.c2pa import VitascopeClaim, prompt_digest, sign_video, verify_video  # noqa: E402
from provenance.certificates import NodeIdentity  # noqa: E402

SIZES_MB = (1, 5, 20)
RUNS = 11
MB = 1_000_000


def make_noise_mp4(path: Path, target_bytes: int, width: int = 180, height: int = 320, fps: int = 30) -> int:
    """Encode random frames losslessly until the video stream reaches `target_bytes`."""
    rng = np.random.default_rng(0)
    sample_rate, frame_size = 44100, 1024
    frames = written = 0
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "0"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=sample_rate)
        audio.layout = "mono"
        while written < target_bytes:
            image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                written += packet.size
                container.mux(packet)
            frames += 1
        container.mux(video.encode())
        for start in range(0, frames * sample_rate // fps, frame_size):
            t = np.arange(start, start + frame_size) / sample_rate
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path.stat().st_size


def _median_ms(action) -> float:
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def generation_share(work: Path, identity: NodeIdentity, claim: VitascopeClaim) -> None:
    """What signing + verifying adds to one generation on the tiny model (needs the generation extra)."""
    try:
        from generation.registry import load_model
        from generation.render import render
        from generation.spec import JobSpec, ModelConfig
    except ImportError as exc:
        print(f"\n(share of a generation skipped: {exc}; install the `generation` extra)")
        return
    model = load_model(ModelConfig(path=None, family="ltx2"), str(work / "data"))
    out = work / "renders"
    out.mkdir()
    timings, results = [], []
    for i in range(4):  # the first run warms up and is dropped
        spec = JobSpec(job_id=f"bench{i}", prompt="a paper boat on a river", negative_prompt=None, duration=2.0,
                       seed=i, audio=True, output_dir=str(out))
        start = time.perf_counter()
        [result] = render(model, [spec], lambda *a: None, lambda _: False)
        timings.append((time.perf_counter() - start) * 1000)
        results.append(result)
    render_ms = statistics.median(timings[1:])
    video = Path(results[-1].video_path)
    signed = work / "generated-signed.mp4"
    sign_ms = _median_ms(lambda: sign_video(video, signed, identity, claim))
    verify_ms = _median_ms(lambda: verify_video(signed, identity.published_ca_pems))
    total = render_ms + sign_ms + verify_ms
    print(f"\nShare of one generation (tiny LTX-2 model on CPU, 2 s 9:16 clip with audio, "
          f"{video.stat().st_size / 1000:.0f} kB):")
    print(f"  render {render_ms:.0f} ms, sign {sign_ms:.1f} ms, verify {verify_ms:.1f} ms "
          f"-> provenance is {100 * (sign_ms + verify_ms) / total:.1f}% of the total")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        identity = NodeIdentity.load_or_create(work / "identity", "bench.example")
        anchors = identity.published_ca_pems
        claim = VitascopeClaim(model_name="bench", model_version="0", weights_digest=None, test_model=True,
                               node="bench.example", job_id="bench", prompt_digest=prompt_digest("bench"))
        rows = []
        for size_mb in SIZES_MB:
            source, signed = work / f"{size_mb}mb.mp4", work / f"{size_mb}mb-signed.mp4"
            size = make_noise_mp4(source, size_mb * MB)
            sign_ms = _median_ms(lambda: sign_video(source, signed, identity, claim))
            verdict = verify_video(signed, anchors)
            if not verdict.ok:
                raise SystemExit(f"benchmark video did not verify: {verdict.reason}")
            verify_ms = _median_ms(lambda: verify_video(signed, anchors))
            rows.append((size / MB, sign_ms, verify_ms))
        _print_rows(rows)
        generation_share(work, identity, claim)


def _print_rows(rows) -> None:
    print(f"C2PA cost, median of {RUNS} runs (sign includes c2pa-rs verify-after-sign and hashing the output)")
    print(f"{'size MB':>8} {'sign ms':>9} {'verify ms':>10} {'sign ms/MB':>11} {'verify ms/MB':>13}")
    for size_mb, sign_ms, verify_ms in rows:
        print(f"{size_mb:8.2f} {sign_ms:9.1f} {verify_ms:10.1f} {sign_ms / size_mb:11.2f} {verify_ms / size_mb:13.2f}")
    total_mb = sum(r[0] for r in rows)
    print(f"overall sign-time / file-size: {sum(r[1] for r in rows) / total_mb:.2f} ms per MB")


if __name__ == "__main__":
    main()
