"""Errors of the speech layer: one root, each error saying what happened to which input.

::

    SpeechError
     +-- AudioError            the input audio cannot be used
     |    +-- EmptyAudio       0 bytes, or no samples
     |    +-- CorruptAudio     not decodable as audio
     |    +-- AudioTooLong     longer than the configured maximum (refused, never truncated silently)
     +-- ModelUnavailable      the Whisper model folder is missing or incomplete
 +-- TermsInvalid          the ASR repair terms (dialogs/asr_terms.yaml) are missing or invalid
     +-- SynthesisError        text-to-speech failed (missing voice, no audio produced)
     +-- PlaybackUnavailable   no sound library or no output device on this machine

None of them is safe to retry with the same input, except ``PlaybackUnavailable`` after the
machine's audio set-up changes.
"""

from __future__ import annotations

__all__ = [
    "AudioError",
    "AudioTooLong",
    "CorruptAudio",
    "EmptyAudio",
    "ModelUnavailable",
    "PlaybackUnavailable",
    "SpeechError",
    "SynthesisError",
    "TermsInvalid",
]


class SpeechError(Exception):
    """Root of the speech layer's errors."""

    retry_safe = False


class AudioError(SpeechError):
    """The input audio cannot be used."""


class EmptyAudio(AudioError):
    """The input holds no audio at all (0 bytes or 0 samples)."""


class CorruptAudio(AudioError):
    """The input is not decodable as audio."""


class AudioTooLong(AudioError):
    """The input is longer than allowed; it is refused, not cut."""

    def __init__(self, message: str, duration_s: float, limit_s: float) -> None:
        super().__init__(message)
        self.duration_s = duration_s
        self.limit_s = limit_s


class ModelUnavailable(SpeechError):
    """The Whisper model folder is missing or incomplete (run ``vtm models prepare``)."""


class TermsInvalid(SpeechError):
    """The homophone-repair terms file is unreadable or invalid; the message names the file and entry."""


class SynthesisError(SpeechError):
    """Text-to-speech produced no audio, or the requested voice does not exist."""


class PlaybackUnavailable(SpeechError):
    """Audio cannot be played here: the library or the output device is missing."""

    retry_safe = True
