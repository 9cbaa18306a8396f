"""Fixtures for provenance tests: real H.264 + AAC MP4 files and node identities."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from provenance.certificates import NodeIdentity


def make_mp4(path: Path, seconds: float = 1.0, width: int = 64, height: int = 112, fps: int = 12) -> Path:
    """Write a small vertical MP4 with an H.264 video track and an AAC (440 Hz) audio track."""
    sample_rate, frame_size = 44100, 1024
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=sample_rate)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            image = np.full((height, width, 3), (i * 20) % 256, np.uint8)
            image[: height // 2, :, 0] = 255 - image[: height // 2, :, 0]
            container.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(video.encode())
        for start in range(0, int(seconds * sample_rate), frame_size):
            t = np.arange(start, start + frame_size) / sample_rate
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path


@pytest.fixture(scope="session")
def source_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One unsigned clip shared by all tests (signing never modifies its source)."""
    return make_mp4(tmp_path_factory.mktemp("media") / "source.mp4")


@pytest.fixture(scope="session")
def node_identity(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], NodeIdentity]:
    """Factory for independent node identities (own CA each), cached per name."""
    base = tmp_path_factory.mktemp("identities")
    cache: dict[str, NodeIdentity] = {}

    def get(name: str) -> NodeIdentity:
        if name not in cache:
            cache[name] = NodeIdentity.load_or_create(base / name, name)
        return cache[name]

    return get
