"""Shared fixtures: one espeak-ng worker for the whole speech test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vtm.speech.tts import Synthesizer


@pytest.fixture(scope="session")
def synth() -> Iterator[Synthesizer]:
    with Synthesizer() as tts:
        yield tts
