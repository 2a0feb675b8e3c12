"""Audio input: any common file format and sample rate -> 16 kHz mono float32 for Whisper.

WAV/FLAC/OGG go through libsndfile (``soundfile``); everything else (MP3, M4A, WebM, ...)
through FFmpeg's libraries (``av``, which faster-whisper already depends on). The length is
checked *before* decoding where the container says it, and while decoding otherwise, so a
10-minute file is refused quickly instead of being decoded and transcribed for minutes.

Usage::

    audio = load_audio(Path("turn.wav"), max_seconds=30)
    audio.samples  # np.float32, 16 kHz mono
    audio.clipped  # True when the recording saturated
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from vtm.speech.errors import AudioTooLong, CorruptAudio, EmptyAudio

__all__ = ["SAMPLE_RATE", "Audio", "load_audio", "resample", "write_wav"]

SAMPLE_RATE = 16_000
# A sample at or above this magnitude (full scale 1.0) counts as saturated.
_CLIP_LEVEL = 0.999
# More than 0.1 % saturated samples means the input stage clipped: speech is distorted.
_CLIP_FRACTION = 0.001

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples at 16 kHz plus what we learnt about the source."""

    samples: Samples
    source_rate: int = SAMPLE_RATE
    source_channels: int = 1
    clipped_fraction: float = 0.0

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def clipped(self) -> bool:
        return self.clipped_fraction > _CLIP_FRACTION

    @classmethod
    def from_array(cls, data: npt.ArrayLike, rate: int = SAMPLE_RATE) -> Audio:
        """Float samples in [-1, 1] (1-D mono or 2-D frames x channels) at ``rate`` Hz."""
        array = np.asarray(data, dtype=np.float32)
        channels = 1 if array.ndim == 1 else array.shape[1]
        mono = array if array.ndim == 1 else array.mean(axis=1, dtype=np.float32)
        clipped = float(np.mean(np.abs(array) >= _CLIP_LEVEL)) if array.size else 0.0
        return cls(resample(mono, rate), rate, channels, clipped)

    @classmethod
    def from_pcm16(cls, data: bytes, rate: int = SAMPLE_RATE, channels: int = 1) -> Audio:
        """Raw little-endian 16-bit PCM, as a microphone stream delivers it."""
        ints = np.frombuffer(data, dtype="<i2")
        floats = ints.astype(np.float32) / 32768.0
        return cls.from_array(floats.reshape(-1, channels) if channels > 1 else floats, rate)


def resample(samples: Samples, rate: int, target: int = SAMPLE_RATE) -> Samples:
    """Polyphase resampling (anti-aliased) from ``rate`` to ``target`` Hz."""
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly  # type: ignore[import-untyped]  # no stubs; heavy, so lazy

    common = gcd(rate, target)
    out = resample_poly(samples, target // common, rate // common)
    return np.asarray(out, dtype=np.float32)


def write_wav(path: Path, samples: Samples, rate: int = SAMPLE_RATE) -> Path:
    """Write 16-bit PCM WAV (what every player and our own loader read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(samples, -1.0, 1.0), rate, subtype="PCM_16")
    return path


def load_audio(source: Path | bytes, max_seconds: float = 60.0) -> Audio:
    """Decode ``source`` (a path or the file's bytes) into 16 kHz mono.

    Raises ``EmptyAudio`` (0 bytes / 0 samples), ``CorruptAudio`` (not audio) and
    ``AudioTooLong`` (longer than ``max_seconds``; refused before it is decoded in full).
    """
    name = str(source) if isinstance(source, Path) else "<bytes>"
    if isinstance(source, Path):
        if not source.is_file():
            raise CorruptAudio(f"{name}: no such file")
        if source.stat().st_size == 0:
            raise EmptyAudio(f"{name}: the file is empty (0 bytes)")
    elif not source:
        raise EmptyAudio("<bytes>: no data (0 bytes)")

    try:
        audio = _load_soundfile(source, name, max_seconds)
    except sf.LibsndfileError:
        audio = _load_av(source, name, max_seconds)
    if audio.samples.size == 0:
        raise EmptyAudio(f"{name}: the file holds no samples")
    return audio


def _too_long(name: str, duration: float, limit: float) -> AudioTooLong:
    return AudioTooLong(
        f"{name}: {duration:.1f} s of audio is longer than the {limit:.0f} s allowed for one turn",
        duration,
        limit,
    )


def _load_soundfile(source: Path | bytes, name: str, max_seconds: float) -> Audio:
    handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    with sf.SoundFile(handle) as f:
        duration = f.frames / f.samplerate if f.samplerate else 0.0
        if duration > max_seconds:
            raise _too_long(name, duration, max_seconds)
        data = f.read(dtype="float32", always_2d=True)
        rate = f.samplerate
    return Audio.from_array(data, rate)


def _load_av(source: Path | bytes, name: str, max_seconds: float) -> Audio:
    import av  # FFmpeg bindings; only for formats libsndfile does not read

    handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with av.open(handle, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise CorruptAudio(f"{name}: no audio stream in the file")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                declared = float(stream.duration * stream.time_base)
                if declared > max_seconds:
                    raise _too_long(name, declared, max_seconds)
            # Decode straight to 16 kHz mono float; stop as soon as the limit is passed.
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            chunks: list[Samples] = []
            total = 0
            limit = int(max_seconds * SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.float32)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:
                    raise _too_long(name, total / SAMPLE_RATE, max_seconds)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
    except av.error.FFmpegError as exc:
        raise CorruptAudio(f"{name}: not a readable audio file ({exc.strerror or exc})") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    clipped = float(np.mean(np.abs(samples) >= _CLIP_LEVEL)) if samples.size else 0.0
    return Audio(samples, int(stream.rate or SAMPLE_RATE), int(stream.channels or 1), clipped)
