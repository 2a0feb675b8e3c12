"""Face check simulator: consent first, recorded; refusal leaves the capture impossible."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vtm.devices import ConsentRequired, FaceCheck, FaceOutcome, NoFaceCaptured, SimulatedFaceCheck

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture
def camera() -> SimulatedFaceCheck:
    return SimulatedFaceCheck(pass_score=0.93, fail_score=0.31, clock=lambda: NOW)


def test_simulator_honours_the_driver_protocol(camera: SimulatedFaceCheck) -> None:
    assert isinstance(camera, FaceCheck)


def test_a_consenting_matching_customer_passes(camera: SimulatedFaceCheck) -> None:
    camera.script(FaceOutcome.PASS)
    assert camera.request_consent() is True
    result = camera.capture_and_match("idphoto-1")
    assert result.score == pytest.approx(0.93)
    assert result.live
    assert camera.consents[-1].granted
    assert camera.consents[-1].at == NOW
    assert camera.captures == [("idphoto-1", result)]


def test_a_mismatching_face_scores_low(camera: SimulatedFaceCheck) -> None:
    camera.script(FaceOutcome.FAIL)
    assert camera.request_consent()
    assert camera.capture_and_match("idphoto-1").score == pytest.approx(0.31)


def test_a_refusal_is_recorded_and_no_capture_is_possible(camera: SimulatedFaceCheck) -> None:
    camera.script(FaceOutcome.REFUSE)
    assert camera.request_consent() is False
    assert [c.granted for c in camera.consents] == [False]
    with pytest.raises(ConsentRequired):
        camera.capture_and_match("idphoto-1")
    assert camera.captures == []


def test_no_answer_counts_as_no_consent(camera: SimulatedFaceCheck) -> None:
    assert camera.request_consent() is False
    with pytest.raises(ConsentRequired):
        camera.capture_and_match("idphoto-1")


def test_consent_lasts_for_the_session_until_withdrawn(camera: SimulatedFaceCheck) -> None:
    camera.script(FaceOutcome.FAIL)
    camera.script(FaceOutcome.PASS)
    camera.script(FaceOutcome.REFUSE)
    assert camera.request_consent()
    assert camera.capture_and_match("idphoto-1").score < 0.5
    assert camera.capture_and_match("idphoto-1").score > 0.9  # second try, consent still given
    with pytest.raises(ConsentRequired):
        camera.capture_and_match("idphoto-1")  # the customer now refuses: consent withdrawn
    assert [c.granted for c in camera.consents] == [True, False]
    camera.script(FaceOutcome.PASS)
    with pytest.raises(ConsentRequired):
        camera.capture_and_match("idphoto-1")


def test_nobody_in_front_of_the_camera_after_consent(camera: SimulatedFaceCheck) -> None:
    camera.script(FaceOutcome.PASS)
    camera.request_consent()
    camera.capture_and_match("idphoto-1")
    with pytest.raises(NoFaceCaptured):
        camera.capture_and_match("idphoto-1")


def test_reset_at_the_end_of_a_session_forgets_scripted_behaviour(camera: SimulatedFaceCheck) -> None:
    camera.script(FaceOutcome.PASS)
    camera.reset()
    assert camera.request_consent() is False
