"""Real capture files for the cameo tests: H.264 + AAC MP4s written with PyAV.

Faces are drawn with PIL in the proportions OpenCV's frontal-face Haar cascade looks for (dark
eye bands under a lighter forehead, a light nose bridge, a dark mouth); that the cascade
detects them is asserted in the tests, not assumed. Speech is espeak-ng's.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SAMPLE_RATE = 16_000


def draw_face(draw: ImageDraw.ImageDraw, cx: int, cy: int, scale: float = 1.0) -> None:
    def box(x0, y0, x1, y1):
        return [cx + x0 * scale, cy + y0 * scale, cx + x1 * scale, cy + y1 * scale]

    draw.ellipse(box(-75, -100, 75, 100), fill=200)
    for side in (-1, 1):
        ex = 35 * side
        draw.rectangle(box(ex - 24, -55, ex + 24, -47), fill=70)  # brow
        draw.ellipse(box(ex - 20, -35, ex + 20, -15), fill=40)  # eye
    draw.polygon([(cx - 6 * scale, cy - 25 * scale), (cx + 6 * scale, cy - 25 * scale),
                  (cx + 14 * scale, cy + 35 * scale), (cx - 14 * scale, cy + 35 * scale)], fill=215)  # nose
    draw.ellipse(box(-20, 30, 20, 42), fill=150)  # nostrils
    draw.ellipse(box(-35, 55, 35, 72), fill=80)  # mouth


def frames(width: int, height: int, count: int, *, faces: int, still: bool, seed: int = 0) -> np.ndarray:
    """`count` RGB frames: `faces` drawn faces drifting slowly over a grainy background."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(count):
        t = 0 if still else index
        image = Image.new("L", (width, height), 60)
        draw = ImageDraw.Draw(image)
        if faces == 0:  # a "pet": a blob with no face structure
            draw.ellipse([width * 0.2 + t % 20, height * 0.35, width * 0.8 + t % 20, height * 0.65], fill=150)
        for n in range(faces):
            scale = (0.9 if faces == 1 else 0.7) * width / 360
            cy = height // 2 if faces == 1 else int(height * (0.3 + 0.4 * n))
            draw_face(draw, width // 2 + int(6 * np.sin(t / 5)), cy + int(4 * np.cos(t / 7)), scale)
        image = image.filter(ImageFilter.GaussianBlur(2))
        grey = np.asarray(image, dtype=np.int16)
        if not still:
            grey = grey + rng.integers(-6, 7, grey.shape)
        grey = np.clip(grey, 0, 255).astype(np.uint8)
        out.append(np.repeat(grey[:, :, None], 3, axis=2))
    return np.stack(out)


def espeak(text: str, directory: Path) -> np.ndarray:
    """Mono float32 speech at SAMPLE_RATE from espeak-ng (a real process, a real waveform)."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (tests/run.sh installs it with apt)")
    path = directory / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    with wave.open(str(path)) as handle:
        rate = handle.getframerate()
        samples = np.frombuffer(handle.readframes(handle.getnframes()), np.int16).astype(np.float32) / 32768
    wanted = int(len(samples) * SAMPLE_RATE / rate)
    return np.interp(np.linspace(0, len(samples) - 1, wanted), np.arange(len(samples)), samples).astype(np.float32)


def soundtrack(kind: str, seconds: float, directory: Path, phrase: str) -> np.ndarray | None:
    total = int(seconds * SAMPLE_RATE)
    rng = np.random.default_rng(1)
    if kind == "none":
        return None
    if kind == "silence":
        return np.zeros(total, np.float32)
    if kind == "tone":
        return (0.3 * np.sin(2 * np.pi * 220 * np.arange(total) / SAMPLE_RATE)).astype(np.float32)
    if kind == "noise":  # room sound that varies but holds no speech: a pet's clip
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * np.arange(total) / SAMPLE_RATE)
        return (0.05 * envelope * rng.standard_normal(total)).astype(np.float32)
    speech = espeak(phrase, directory)[: total - SAMPLE_RATE // 2]
    audio = 0.002 * rng.standard_normal(total).astype(np.float32)  # room tone
    audio[SAMPLE_RATE // 4: SAMPLE_RATE // 4 + len(speech)] += speech
    return audio


def make_capture(path: Path, *, width: int = 360, height: int = 640, seconds: float = 4.0, fps: int = 12,
                 faces: int = 1, still: bool = False, audio: str = "speech",
                 phrase: str = "purple elephants dance at midnight", created_at: datetime | None = None,
                 rotated: bool = False, streamed: bool = False) -> Path:
    """Write a capture MP4; `created_at` becomes the container's creation_time, as phones write it.

    `rotated` stores the picture sideways (landscape) with a display rotation, as phones do.
    `streamed` writes a WebM (VP8 + Opus) front to back, as a browser's MediaRecorder does: no duration in it.
    """
    import av

    pictures = frames(width, height, int(seconds * fps), faces=faces, still=still)
    sound = soundtrack(audio, seconds, path.parent, phrase)
    if rotated:
        pictures = np.ascontiguousarray(np.rot90(pictures, k=1, axes=(1, 2)))
        height, width = width, height
    sink = _WriteOnly(path) if streamed else str(path)
    with av.open(sink, mode="w", format="webm" if streamed else "mp4") as container:
        if created_at is not None:
            container.metadata["creation_time"] = created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        video = container.add_stream("libvpx" if streamed else "libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"qmin": "0", "qmax": "8", "b": "8M"} if streamed else {"preset": "ultrafast", "crf": "20"}
        if rotated:
            video.set_display_rotation(-90)
        stream = None
        if sound is not None:  # every stream must exist before the first packet is muxed
            stream = container.add_stream("libopus" if streamed else "aac", rate=SAMPLE_RATE)
            stream.layout = "mono"
        for index, array in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if stream is not None:
            frame = av.AudioFrame.from_ndarray(sound.reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, 0, Fraction(1, SAMPLE_RATE)
            container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    if streamed:
        sink.close()
    return path


class _WriteOnly:
    """A file PyAV can only write to, never seek back in (so the muxer cannot go back to fill in a duration)."""

    def __init__(self, path: Path):
        self._file = open(path, "wb")

    def write(self, data: bytes) -> int:
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()


def fake_camera(directory: Path, *, width: int = 360, height: int = 640, seconds: float = 6.0, fps: int = 12) -> list[str]:
    """Chromium flags that make getUserMedia film a drawn face speaking (a Y4M picture and a WAV
    sound, looped by Chromium's fake capture device), so a capture recorded in the browser passes
    the same checks as a phone's."""
    pictures = frames(width, height, int(seconds * fps), faces=1, still=False)
    video = directory / "camera.y4m"
    with open(video, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        chroma = np.full((height // 2) * (width // 2), 128, np.uint8).tobytes()
        for picture in pictures:  # grey pictures: luma is the picture, chroma neutral
            out.write(b"FRAME\n" + np.ascontiguousarray(picture[:, :, 0]).tobytes() + chroma + chroma)
    sound = soundtrack("speech", seconds, directory, "purple elephants dance at midnight")
    audio = directory / "microphone.wav"
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(sound, -1, 1) * 32767).astype(np.int16).tobytes())
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", f"--use-file-for-fake-audio-capture={audio}"]
