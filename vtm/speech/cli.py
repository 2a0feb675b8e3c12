"""``vtm asr FILE --json`` (contract: text, lang, confidence, audio_s, asr_s) and ``vtm tts``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vtm.common.clitools import settings_or_exit

__all__ = ["register"]

err = Console(stderr=True)


def asr(
    file: Annotated[Path, typer.Argument(help="Audio file (WAV, FLAC, OGG, MP3, ...; any sample rate)")],
    lang: Annotated[str, typer.Option("--lang", help="zh, en or auto (detect between zh and en)")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    threads: Annotated[int, typer.Option("--threads", min=1, max=8, help="CPU threads for Whisper")] = 2,
) -> None:
    """Recognise one utterance offline with faster-whisper (Whisper base, int8)."""
    from vtm.speech.asr import AsrOptions, Recognizer
    from vtm.speech.errors import AudioError, ModelUnavailable
    from vtm.speech.whisper_files import whisper_dir

    if lang not in ("zh", "en", "auto"):
        raise typer.BadParameter("--lang must be zh, en or auto")
    settings = settings_or_exit()
    recognizer = Recognizer(whisper_dir(settings.models_path), AsrOptions(cpu_threads=threads))
    try:
        result = recognizer.transcribe(file, None if lang == "auto" else lang)  # type: ignore[arg-type]
    except (AudioError, ModelUnavailable) as exc:
        if as_json:
            typer.echo(json.dumps({"error": type(exc).__name__, "message": str(exc)}, ensure_ascii=False))
        else:
            err.print(f"[red]{type(exc).__name__}:[/red] {exc}")
        raise typer.Exit(1 if isinstance(exc, AudioError) else 2) from exc
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    if result.usable:
        typer.echo(result.text)
    else:
        err.print(f"nothing usable heard ({result.unheard}); heard: {result.heard!r}")
    err.print(
        f"lang={result.lang} confidence={result.confidence:.2f} audio={result.audio_s:.2f}s asr={result.asr_s:.2f}s"
    )


def tts(
    text: Annotated[str, typer.Argument(help="What to say")],
    out: Annotated[Path, typer.Option("--out", "-o", help="WAV file to write")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    elderly: Annotated[bool, typer.Option("--elderly", help="Speak slower")] = False,
) -> None:
    """Synthesise speech offline (espeak-ng) into a WAV file."""
    from vtm.speech.errors import SynthesisError
    from vtm.speech.tts import Synthesizer

    if lang not in ("zh", "en"):
        raise typer.BadParameter("--lang must be zh or en")
    try:
        with Synthesizer() as synth:
            speech = synth.synthesize(text, lang, out, elderly=elderly)
    except SynthesisError as exc:
        err.print(f"[red]tts failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    err.print(f"wrote {speech.path} ({speech.audio_s:.2f} s audio in {speech.tts_s * 1000:.0f} ms): {speech.spoken}")


def register(app: typer.Typer) -> None:
    """Add ``asr`` and ``tts`` as top-level commands of ``vtm``."""
    app.command("asr")(asr)
    app.command("tts")(tts)
