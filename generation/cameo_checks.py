"""The shipped cameo verifiers: offline, with models that come inside their PyPI packages.

Each is a `generation.cameo.Verifier`. Thresholds are module constants so an admin who needs
other values writes a three-line wrapper verifier rather than patching this file.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import numpy as np

from generation.cameo import AUDIO_RATE, FAIL, PASS, REVIEW, SKIP, Capture, Finding, Recording

MIN_SECONDS, MAX_SECONDS = 3.0, 10.0
DURATION_TOLERANCE_S = 0.1  # container rounding; a 3 s phone clip may report 2.97 s
MIN_MOVING_FRAMES = 0.5  # share of consecutive sampled frame pairs that must differ
FRAME_DIFF_THRESHOLD = 1.0  # mean absolute grey difference (0-255) that counts as "differs"
SILENCE_RMS = 0.003  # about -50 dBFS
MIN_LOUDNESS_SPREAD = 0.1  # std/mean of 100 ms RMS windows: a constant hum or tone stays below
MIN_SPEECH_SECONDS = 1.0
FACE_SHARE = 0.6  # share of sampled frames that must show exactly one face (person)
CHARACTER_FACE_SHARE = 0.3  # share of frames with a face that sends a character to review
CLOCK_SKEW = timedelta(seconds=30)


def container(capture: Capture, recording: Recording) -> Finding:
    """3-10 s, vertical, video with sound."""
    details = {"width": recording.width, "height": recording.height, "duration": round(recording.duration, 3),
               "has_audio": recording.has_audio, "container": recording.container}
    if not recording.has_audio:
        return Finding(FAIL, "the recording has no sound", details)
    if recording.duration < MIN_SECONDS - DURATION_TOLERANCE_S:
        return Finding(FAIL, f"the recording is shorter than {MIN_SECONDS:g} s", details)
    if recording.duration > MAX_SECONDS + DURATION_TOLERANCE_S:
        return Finding(FAIL, f"the recording is longer than {MAX_SECONDS:g} s", details)
    if recording.height <= recording.width:
        return Finding(FAIL, "the recording is not vertical", details)
    return Finding(PASS, "", details)


def recorded_after_challenge(capture: Capture, recording: Recording) -> Finding:
    """A person's recording must be made after the challenge was issued (container creation time)."""
    if capture.kind != "person":
        return Finding(SKIP, "no challenge for a character")
    issued = capture.challenge_issued_at
    details = {"issued_at": issued.isoformat(),
               "created_at": recording.created_at.isoformat() if recording.created_at else None}
    if recording.created_at is None:
        return Finding(REVIEW, "the recording carries no creation time: cannot tell it was made after the challenge",
                       details)
    if recording.created_at < issued - CLOCK_SKEW:
        return Finding(FAIL, "the recording was made before the challenge was issued", details)
    return Finding(PASS, "", details)


def moving_picture(capture: Capture, recording: Recording) -> Finding:
    """Really filmed, not a still image looped: most consecutive sampled frames differ."""
    frames = recording.frames.astype(np.float32)
    if len(frames) < 2:
        return Finding(FAIL, "the recording has a single frame")
    diffs = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))
    moving = float((diffs > FRAME_DIFF_THRESHOLD).mean())
    details = {"mean_frame_difference": round(float(diffs.mean()), 3), "moving_share": round(moving, 3),
               "sampled_frames": len(frames)}
    if moving < MIN_MOVING_FRAMES:
        return Finding(FAIL, "the picture does not move: a still image, not a recording", details)
    return Finding(PASS, "", details)


def live_sound(capture: Capture, recording: Recording) -> Finding:
    """The sound is neither silence nor a constant signal (tone, hum, DC)."""
    audio = recording.audio
    window = AUDIO_RATE // 10
    if audio.size < window * 10:
        return Finding(FAIL, "the sound track is shorter than one second")
    rms = np.sqrt(np.mean(audio[: audio.size // window * window].reshape(-1, window) ** 2, axis=1))
    loudness = float(np.sqrt(np.mean(audio**2)))
    spread = float(rms.std() / rms.mean()) if rms.mean() > 0 else 0.0
    details = {"rms": round(loudness, 5), "loudness_spread": round(spread, 3)}
    if loudness < SILENCE_RMS:
        return Finding(FAIL, "the sound track is silent", details)
    if spread < MIN_LOUDNESS_SPREAD:
        return Finding(FAIL, "the sound track is a constant signal, not a live recording", details)
    return Finding(PASS, "", details)


@cache
def _vad_model():
    from silero_vad import load_silero_vad

    return load_silero_vad()  # the JIT model inside the silero-vad wheel: no download


def speech_present(capture: Capture, recording: Recording) -> Finding:
    """A person speaks the challenge: silero-vad must hear at least MIN_SPEECH_SECONDS of speech."""
    if capture.kind != "person":
        return Finding(SKIP, "a character need not speak")
    import torch
    from silero_vad import get_speech_timestamps

    with torch.inference_mode():
        spans = get_speech_timestamps(torch.from_numpy(recording.audio), _vad_model(), sampling_rate=AUDIO_RATE,
                                      return_seconds=True)
    seconds = sum(span["end"] - span["start"] for span in spans)
    details = {"speech_seconds": round(seconds, 2), "segments": len(spans)}
    if seconds < MIN_SPEECH_SECONDS:
        return Finding(FAIL, "no speech heard: the challenge phrase must be read aloud", details)
    return Finding(PASS, "", details)


@cache
def _face_cascade():
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's frontal face cascade is missing from the cv2 package")
    return cascade


def count_faces(frame: np.ndarray) -> int:
    """Frontal faces in one grey frame (OpenCV Haar cascade, shipped inside opencv-python-headless)."""
    min_side = max(24, min(frame.shape) // 6)
    found = _face_cascade().detectMultiScale(frame, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    return len(found)


def faces(capture: Capture, recording: Recording) -> Finding:
    """Person: exactly one face in most frames. Character: a human face sends it to a moderator.

    A Haar cascade cannot tell a real face from a drawn one, so for a character a face found is a
    question for a moderator, not a rejection.
    """
    counts = [count_faces(frame) for frame in recording.frames]
    one = sum(c == 1 for c in counts) / len(counts)
    several = sum(c > 1 for c in counts) / len(counts)
    any_face = sum(c > 0 for c in counts) / len(counts)
    details = {"frames": len(counts), "one_face_share": round(one, 3), "several_faces_share": round(several, 3)}
    if capture.kind == "person":
        if several > one:
            return Finding(FAIL, "more than one face in the recording: a person cameo shows only its owner", details)
        if one < FACE_SHARE:
            return Finding(FAIL, "no face seen clearly: keep your face centred and facing the camera", details)
        return Finding(PASS, "", details)
    if any_face >= CHARACTER_FACE_SHARE:
        return Finding(REVIEW, "a human face was detected: a moderator must confirm it is not a real person", details)
    return Finding(PASS, "", details)


def phrase_spoken(capture: Capture, recording: Recording) -> Finding:
    """Plug-in point: no offline transcriber ships, so a moderator checks the phrase by default.

    Replace this entry of the chain with a verifier that transcribes the audio with local
    weights (e.g. faster-whisper) and compares it with `capture.challenge_phrase`.
    """
    if capture.kind != "person":
        return Finding(SKIP, "no challenge for a character")
    return Finding(REVIEW, "no transcriber configured: a moderator must hear the challenge phrase",
                   {"challenge_phrase": capture.challenge_phrase})
