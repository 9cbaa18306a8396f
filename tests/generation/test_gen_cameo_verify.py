"""Cameo capture verification on real MP4 captures (PyAV, silero-vad, OpenCV Haar, espeak-ng speech)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.cameo import (
    APPROVED,
    DEFAULT_VERIFIERS,
    NEEDS_REVIEW,
    REJECTED,
    Capture,
    load_verifiers,
    verify,
    write_reference_sheet,
)
from generation.cameo_checks import count_faces
from generation.errors import SpecError
from tests.support.captures import frames, make_capture

ISSUED = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
RECORDED = ISSUED + timedelta(seconds=40)
PHRASE = "purple elephants dance at midnight"
AUTOMATIC = [path for path in DEFAULT_VERIFIERS if not path.endswith(":phrase_spoken")]


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> dict[str, Path]:
    """Every capture the tests need, written once: the good one and one per defect."""
    directory = tmp_path_factory.mktemp("captures")
    variants = {
        "good": {},
        "still": {"still": True},
        "silence": {"audio": "silence"},
        "tone": {"audio": "tone"},
        "mute": {"audio": "none"},
        "landscape": {"width": 640, "height": 360},
        "short": {"seconds": 2.0},
        "long": {"seconds": 11.0, "fps": 6},
        "two_faces": {"faces": 2},
        "no_face": {"faces": 0},
        "undated": {"created_at": None},
        "before_challenge": {"created_at": ISSUED - timedelta(minutes=5)},
        "pet": {"faces": 0, "audio": "noise"},
        "character_with_face": {"audio": "noise"},
        "rotated": {"rotated": True},
    }
    made = {}
    for name, options in variants.items():
        options = {"created_at": RECORDED, "phrase": PHRASE, **options}
        made[name] = make_capture(directory / f"{name}.mp4", **options)
    return made


def person(path: Path) -> Capture:
    return Capture(path=str(path), kind="person", challenge_phrase=PHRASE, challenge_issued_at=ISSUED)


def character(path: Path) -> Capture:
    return Capture(path=str(path), kind="character")


def outcomes(verdict) -> dict[str, str]:
    return {e.verifier.rpartition(":")[2]: e.outcome for e in verdict.evidence}


def test_the_drawn_faces_are_what_the_haar_cascade_sees():
    """The premise of the face tests, checked rather than assumed."""
    for count in (0, 1, 2):
        pictures = frames(360, 640, 3, faces=count, still=False)
        grey = [np.asarray(Image.fromarray(p).convert("L").resize((240, 426))) for p in pictures]
        assert [count_faces(g) for g in grey] == [count] * 3


def test_a_good_person_capture_passes_every_automatic_check_and_waits_for_the_phrase(captures):
    verdict = verify(person(captures["good"]), load_verifiers(DEFAULT_VERIFIERS))
    assert verdict.state == NEEDS_REVIEW
    assert "challenge phrase" in verdict.reason
    assert outcomes(verdict) == {"container": "pass", "recorded_after_challenge": "pass", "moving_picture": "pass",
                                 "live_sound": "pass", "speech_present": "pass", "faces": "pass",
                                 "phrase_spoken": "review"}
    speech = next(e for e in verdict.evidence if e.verifier.endswith("speech_present"))
    assert speech.details["speech_seconds"] >= 1.0
    assert verdict.to_dict()["evidence"][0]["details"]["height"] == 640


def test_a_sideways_stored_phone_recording_counts_as_upright_and_vertical(captures):
    verdict = verify(person(captures["rotated"]), load_verifiers(AUTOMATIC))
    assert verdict.state == APPROVED
    container = next(e for e in verdict.evidence if e.verifier.endswith(":container"))
    assert (container.details["width"], container.details["height"]) == (360, 640)


def test_without_a_manual_step_a_good_person_capture_is_approved(captures):
    verdict = verify(person(captures["good"]), load_verifiers(AUTOMATIC))
    assert (verdict.state, verdict.reason) == (APPROVED, "")


@pytest.mark.parametrize(("name", "verifier", "reason"), [
    ("still", "moving_picture", "still image"),
    ("silence", "live_sound", "silent"),
    ("tone", "live_sound", "constant signal"),
    ("mute", "container", "no sound"),
    ("landscape", "container", "not vertical"),
    ("short", "container", "shorter than 3 s"),
    ("long", "container", "longer than 10 s"),
    ("two_faces", "faces", "more than one face"),
    ("no_face", "faces", "no face"),
    ("before_challenge", "recorded_after_challenge", "before the challenge"),
])
def test_defective_person_captures_are_rejected_with_the_reason(captures, name, verifier, reason):
    verdict = verify(person(captures[name]), load_verifiers(DEFAULT_VERIFIERS))
    assert verdict.state == REJECTED
    assert reason in verdict.reason
    assert outcomes(verdict)[verifier] == "fail"


def test_silence_also_fails_the_speech_check(captures):
    verdict = verify(person(captures["silence"]), load_verifiers(DEFAULT_VERIFIERS))
    assert outcomes(verdict)["speech_present"] == "fail"


def test_a_capture_without_creation_time_goes_to_a_moderator(captures):
    verdict = verify(person(captures["undated"]), load_verifiers(AUTOMATIC))
    assert verdict.state == NEEDS_REVIEW and "no creation time" in verdict.reason


def test_a_character_needs_no_speech_nor_challenge(captures):
    verdict = verify(character(captures["pet"]), load_verifiers(DEFAULT_VERIFIERS))
    assert verdict.state == APPROVED
    assert outcomes(verdict)["speech_present"] == "skip" and outcomes(verdict)["recorded_after_challenge"] == "skip"


def test_a_character_showing_a_human_face_goes_to_a_moderator(captures):
    verdict = verify(character(captures["character_with_face"]), load_verifiers(DEFAULT_VERIFIERS))
    assert verdict.state == NEEDS_REVIEW and "human face" in verdict.reason


def test_an_unreadable_file_is_rejected(tmp_path):
    path = tmp_path / "capture.mp4"
    path.write_bytes(b"this is not a video" * 100)
    verdict = verify(person(path), load_verifiers(DEFAULT_VERIFIERS))
    assert verdict.state == REJECTED and "cannot be read" in verdict.reason


def test_the_chain_fails_closed(captures):
    # json.loads cannot take (capture, recording): a verifier that raises sends the capture to review.
    broken = verify(person(captures["good"]), load_verifiers([*AUTOMATIC, "json:loads"]))
    assert broken.state == NEEDS_REVIEW and "verifier failed" in broken.reason
    # A verifier that returns something else than a Finding approves nothing either.
    odd = verify(person(captures["good"]), load_verifiers([*AUTOMATIC, "operator:eq"]))
    assert odd.state == NEEDS_REVIEW
    assert verify(person(captures["good"]), []).state == NEEDS_REVIEW
    # A rejection wins over a broken verifier.
    assert verify(person(captures["still"]), load_verifiers([*AUTOMATIC, "json:loads"])).state == REJECTED


def test_bad_chain_entries_stop_start_up():
    for path in ("generation.cameo_checks", "generation.cameo_checks:nope", "no.such.module:f"):
        with pytest.raises(SpecError):
            load_verifiers([path])


def test_capture_requests_are_validated():
    with pytest.raises(SpecError):
        Capture(path="/x.mp4", kind="robot")
    with pytest.raises(SpecError):
        Capture(path="/x.mp4", kind="person")  # no challenge
    with pytest.raises(SpecError):
        Capture.from_dict({"path": "/x.mp4", "kind": "person", "challenge_phrase": "a",
                           "challenge_issued_at": "yesterday"})
    with pytest.raises(SpecError):
        Capture.from_dict({"path": "x.mp4", "kind": "character"})
    with pytest.raises(SpecError):
        Capture.from_dict({"path": "/x.mp4", "kind": "person", "challenge_phrase": "a",
                           "challenge_issued_at": "2026-05-01T12:00:00"})  # no zone
    parsed = Capture.from_dict({"path": "/x.mp4", "kind": "person", "challenge_phrase": "a",
                                "challenge_issued_at": ISSUED.isoformat()})
    assert parsed.challenge_issued_at == ISSUED


def test_the_reference_sheet_is_a_private_vertical_grid_of_recorded_frames(captures, tmp_path):
    out = tmp_path / "sheet.png"
    assert write_reference_sheet(str(captures["good"]), str(out)) == str(out)
    assert out.stat().st_mode & 0o777 == 0o600
    with Image.open(out) as sheet:
        assert sheet.size == (576, 1024)
        cells = [sheet.crop((x, y, x + 288, y + 512)).convert("L") for y in (0, 512) for x in (0, 288)]
    assert all(count_faces(np.asarray(cell.resize((240, 426)))) == 1 for cell in cells)
