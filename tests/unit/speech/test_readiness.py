"""Readiness: per-component state and timings, readable while warm-up runs, failures never hidden."""

from __future__ import annotations

import pytest

from vtm.speech.readiness import ComponentState, ComponentStatus, Readiness


def test_every_component_is_ready_with_its_time_after_a_successful_warm_up() -> None:
    readiness = Readiness()
    seen: list[tuple[str, ComponentState]] = []
    assert not readiness.ready  # nothing warmed yet: never ready by default
    readiness.run([("asr", lambda: None), ("tts", lambda: None)], lambda s: seen.append((s.name, s.state)))
    assert readiness.ready
    assert seen == [("asr", ComponentState.LOADING), ("asr", ComponentState.READY),
                    ("tts", ComponentState.LOADING), ("tts", ComponentState.READY)]
    state = readiness.to_json()
    assert state["ready"] is True
    assert set(state["components"]) == {"asr", "tts"}
    assert all(c["seconds"] is not None and c["seconds"] >= 0 for c in state["components"].values())


def test_a_failing_component_is_marked_failed_and_the_error_is_raised() -> None:
    readiness = Readiness()
    checked_during: list[bool] = []

    def broken() -> None:
        raise FileNotFoundError("whisper-base/model.bin")

    with pytest.raises(FileNotFoundError):
        readiness.run([("asr", lambda: checked_during.append(readiness.ready)), ("nlu", broken), ("tts", lambda: None)])
    components = readiness.components()
    assert checked_during == [False]  # while warming, the kiosk is not ready
    assert not readiness.ready
    assert components["asr"].state is ComponentState.READY
    assert components["nlu"] == ComponentStatus("nlu", ComponentState.FAILED, components["nlu"].seconds,
                                                "FileNotFoundError: whisper-base/model.bin")
    assert components["tts"].state is ComponentState.PENDING  # not tried after the failure
