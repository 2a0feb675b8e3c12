"""The espeak-ng engine, driven through pyttsx3's own ctypes binding, inside a worker process.

Why not ``pyttsx3.Engine.save_to_file`` + ``runAndWait``: measured here (pyttsx3 2.99, espeak-ng
1.51, headless), a Mandarin sentence with a full-width comma made ``runAndWait`` return before the
synthesis ended; the audio then landed in the *next* call's file and the first file was never
written. The driver also prints "Audio saved to ..." on stdout, which corrupts ``--json`` output.
pyttsx3's binding (``pyttsx3.drivers._espeak``) in synchronous mode has neither problem: the call
returns when the audio is complete. It runs in its own process because espeak-ng keeps global
state (one voice, one callback) and a crash in C must not take the kiosk down.

Everything in this module runs in the worker process only; the engine state below is that
process's, set up once by :func:`init`.
"""

from __future__ import annotations

import ctypes
import wave
from pathlib import Path
from typing import Any

__all__ = ["init", "synth", "variants", "voices"]

_state: dict[str, Any] = {}


def init() -> None:
    """Initialise espeak-ng for synchronous retrieval (called once per worker process)."""
    from pyttsx3.drivers import _espeak

    rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
    if rate <= 0:
        raise RuntimeError("espeak-ng failed to initialise (is the espeak-ng package installed?)")
    chunks: list[bytes] = []

    def on_audio(wav: Any, numsamples: int, events: Any) -> int:
        if numsamples > 0:
            chunks.append(ctypes.string_at(wav, numsamples * ctypes.sizeof(ctypes.c_short)))
        return 0

    _espeak.SetSynthCallback(on_audio)
    _state.update(lib=_espeak, rate=rate, chunks=chunks)


def voices() -> list[str]:
    """Identifiers of the installed voices (e.g. ``sit/cmn-Latn-pinyin``, ``gmw/en-US``)."""
    if not _state:
        init()
    return [v.identifier.decode() for v in _state["lib"].ListVoices()]


def variants() -> list[str]:
    """Names of the voice variants (``f2``, ``m3``, ``klatt``...) in espeak-ng's data folder."""
    if not _state:
        init()
    info = _state["lib"].dll.espeak_Info
    info.restype = ctypes.c_char_p
    info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    data = ctypes.c_char_p()
    info(ctypes.byref(data))
    folder = Path((data.value or b"").decode()) / "voices" / "!v"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def synth(text: str, voice: str, rate_wpm: int, path: str) -> tuple[str, int, int]:
    """Synthesise ``text`` with ``voice`` (name, optionally ``+variant``) into a 16-bit WAV.

    Returns ``(path, samples, sample_rate)``. Raises ``LookupError`` for an unknown voice
    (espeak-ng would otherwise keep the previous voice) and ``RuntimeError`` when no audio came out.
    """
    if not _state:
        init()
    lib, chunks = _state["lib"], _state["chunks"]
    if lib.SetVoiceByName(voice.encode()) != lib.EE_OK:
        raise LookupError(f"espeak-ng has no voice {voice!r}")
    lib.SetParameter(lib.RATE, int(rate_wpm), 0)
    chunks.clear()
    if lib.Synth(text, flags=lib.CHARS_UTF8 | lib.ENDPAUSE) != lib.EE_OK:
        raise RuntimeError(f"espeak-ng refused the text {text[:40]!r}")
    lib.Synchronize()
    data = b"".join(chunks)
    if not data:
        raise RuntimeError(f"espeak-ng produced no audio for {text[:40]!r}")
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_state["rate"])
        out.writeframes(data)
    partial.replace(target)  # a reader never sees a half-written reply
    return str(target), len(data) // 2, int(_state["rate"])


def serve() -> None:
    """Answer JSON requests, one per line on stdin, with one JSON line each on stdout.

    ``{"op": "synth", "text", "voice", "rate", "path"}`` -> ``{"ok": true, "result": [...]}``;
    ``{"op": "voices"}`` / ``{"op": "variants"}``; failures -> ``{"ok": false, "kind", "error"}``.
    """
    import json
    import sys

    ops: dict[str, Any] = {
        "synth": lambda r: synth(r["text"], r["voice"], r["rate"], r["path"]),
        "voices": lambda r: voices(),
        "variants": lambda r: variants(),
    }
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer: dict[str, Any] = {"ok": True, "result": ops[request["op"]](request)}
        except (LookupError, RuntimeError, OSError) as exc:
            answer = {"ok": False, "kind": type(exc).__name__, "error": str(exc)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
