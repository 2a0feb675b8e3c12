"""Mandarin sentences in a human voice: recorded syllables of Debian's ``gcin-voice``, joined.

No recorded human Mandarin *sentences* with a licence that allows this use can be installed here
(docs/voice.md, "Human speech"). Debian's ``gcin-voice`` package (an input method's pronunciation
data) ships one recording per toned syllable by two people:

- speaker ``3``: Edward Der-Hua Liu, GPL-3 or LGPL-3;
- speaker ``5``: Chu Lo (羅竺, ChionMeilin's recording group), CC-BY-3.0.

A sentence is turned into toned syllables with pypinyin (tone sandhi on: 你好 -> ní hǎo, 一千 -> yì
qiān), each syllable's recording is cut to its voiced part and the pieces are joined, with a pause
at punctuation; the whole is then brought to ``rate`` syllables per second with sox's ``tempo``
(WSOLA: the pitch is kept). ``rate`` defaults to 4, a usual pace of read Mandarin; it is fixed by
that, not by what Whisper recognises best.

What this is and is not: a real human voice and real Mandarin tones, but every syllable in its
citation form, with no co-articulation between syllables and no sentence melody. It is closer to
people than espeak-ng's formant voice and still further from them than read speech: figures on
it are reported as their own row, never as "real speech".

    sudo apt-get install gcin-voice   # scripts/setup.sh installs it
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from pypinyin import Style, lazy_pinyin

from vtm.speech.audio import SAMPLE_RATE, resample

__all__ = ["SPEAKERS", "HumanVoice", "VoiceMissing"]

VOICE_DIR = Path("/usr/share/gcin-voice/ogg")
SPEAKERS = {"3": "Edward Der-Hua Liu (male; GPL-3 or LGPL-3)", "5": "Chu Lo 羅竺 (female; CC-BY-3.0)"}
_TONE_DIGIT = {"ˊ": "2", "ˇ": "3", "ˋ": "4", "˙": "1"}  # gcin's folder names: first tone unmarked, 1 = neutral
_BOPOMOFO = range(0x3105, 0x3130)


class VoiceMissing(RuntimeError):
    """The recordings are not installed, or a syllable has no recording by this speaker."""


class HumanVoice:
    """One speaker's recorded syllables, joined into sentences (16 kHz mono float32)."""

    def __init__(self, speaker: str, *, rate: float = 4.0, pause_s: float = 0.25,
                 root: Path = VOICE_DIR) -> None:
        if speaker not in SPEAKERS:
            raise ValueError(f"speaker {speaker!r}: one of {', '.join(SPEAKERS)}")
        if not root.is_dir():
            raise VoiceMissing(f"{root} is missing: install Debian's gcin-voice (scripts/setup.sh does)")
        self.speaker, self.rate, self.pause_s, self.root = speaker, rate, pause_s, root

    def syllables(self, text: str) -> list[str | None]:
        """Bopomofo with gcin's tone digit per syllable; None for a pause (punctuation)."""
        out: list[str | None] = []
        for token in lazy_pinyin(text, style=Style.BOPOMOFO, tone_sandhi=True):
            if not any(ord(c) in _BOPOMOFO for c in token):
                out.append(None)
                continue
            tone = next((d for mark, d in _TONE_DIGIT.items() if mark in token), "")
            out.append("".join(c for c in token if ord(c) in _BOPOMOFO) + tone)
        return out

    def _recording(self, syllable: str) -> Path:
        """The syllable's recording; the same syllable in another tone when this one was not recorded."""
        bare = syllable.rstrip("1234")
        for tone in dict.fromkeys([syllable[len(bare):], "", "4", "2", "3", "1"]):
            path = self.root / f"{bare}{tone}" / f"{self.speaker}.ogg"
            if path.is_file():
                return path
        raise VoiceMissing(f"speaker {self.speaker} has no recording of {bare}")

    def render(self, text: str) -> np.ndarray:
        """``text`` said by this speaker at ``rate`` syllables per second; :class:`VoiceMissing` if it cannot be."""
        pieces: list[np.ndarray] = []
        spoken = 0
        for syllable in self.syllables(text):
            if syllable is None:
                pieces.append(np.zeros(int(self.pause_s * SAMPLE_RATE), np.float32))
                continue
            data, rate = sf.read(self._recording(syllable), dtype="float32", always_2d=True)
            pieces.append(_voiced(resample(data.mean(axis=1), rate)))
            spoken += 1
        if not spoken:
            raise ValueError(f"nothing to say in {text!r}")
        joined = np.concatenate(pieces)
        tempo = self.rate / (spoken / (sum(len(p) for p in pieces) / SAMPLE_RATE))
        samples = _tempo(joined, tempo)
        return (0.7 * samples / max(float(np.abs(samples).max()), 1e-6)).astype(np.float32)


def _voiced(samples: np.ndarray) -> np.ndarray:
    """The recording from its first to its last loud 10 ms (some files start or end with silence)."""
    window = SAMPLE_RATE // 100
    energy = np.sqrt(np.convolve(samples**2, np.ones(window) / window, mode="same"))
    loud = np.flatnonzero(energy > 0.05 * energy.max())
    return samples[max(0, int(loud[0]) - window): int(loud[-1]) + window]


def _tempo(samples: np.ndarray, factor: float) -> np.ndarray:
    """Faster or slower at the same pitch (sox ``tempo -s``, speech mode)."""
    if abs(factor - 1.0) < 0.02:
        return samples
    with tempfile.TemporaryDirectory(prefix="vtm-human-voice-") as work:
        src, dst = Path(work) / "in.wav", Path(work) / "out.wav"
        sf.write(src, samples, SAMPLE_RATE, subtype="FLOAT")
        subprocess.run(["sox", "-V1", str(src), str(dst), "tempo", "-s", f"{factor:.3f}"], check=True)
        out, _ = sf.read(dst, dtype="float32")
        return np.asarray(out, dtype=np.float32)
