"""Real MP4 files for tests (PyAV): H.264 video plus AAC audio, like a generated clip."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


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
