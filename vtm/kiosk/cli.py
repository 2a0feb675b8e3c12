"""`vtm sim` (terminal simulator) and `vtm test` (conversation tests)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vtm.common.clitools import err, settings_or_exit

__all__ = ["register"]


def sim(
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    script: Annotated[Path | None, typer.Option("--script", help="Run a YAML script non-interactively")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per turn")] = False,
    today: Annotated[str | None, typer.Option("--today", help="YYYY-MM-DD for date resolution")] = None,
    audio: Annotated[bool, typer.Option("--audio", help="Voice mode: `audio:` turns (WAV) go through ASR; "
                                        "replies are written as WAV files next to the script")] = False,
) -> None:
    """The kiosk agent in the terminal: type what the customer says; /commands for devices."""
    from vtm.devices import SimulatedDevices
    from vtm.devices.errors import DeviceError
    from vtm.dialog.manager import DialogManager
    from vtm.dialog.prompts import Lang
    from vtm.kiosk.bootstrap import bootstrap
    from vtm.kiosk.script import load_script
    from vtm.kiosk.sim import ScriptClock, play_turn, print_voice_latency, render_turn, run_interactive, warm_up

    if lang not in ("zh", "en"):
        raise typer.BadParameter("--lang must be zh or en")
    language: Lang = "en" if lang == "en" else "zh"
    console = Console()
    settings = settings_or_exit()
    if script is None:
        services = bootstrap(settings)
        warm_up(err, services.nlu.parse, knowledge=services.warm_knowledge)
        devices = services.devices
        assert isinstance(devices, SimulatedDevices)
        day = date.fromisoformat(today) if today else None
        dm = DialogManager(services, services.new_session(language), today=day)
        try:
            run_interactive(dm, devices, console, as_json)
        finally:
            dm.close()  # the session record is complete even when the terminal is closed
        return
    parsed = load_script(script)
    voice = None
    if audio:
        from vtm.kiosk.voice import VoiceFrontEnd

        voice = VoiceFrontEnd.for_settings(settings, script.parent / f"{script.stem}-audio")
    day = parsed.today or (date.fromisoformat(today) if today else None)
    clock = ScriptClock(day) if day else None
    services = bootstrap(settings, clock=clock) if clock else bootstrap(settings)
    warm_up(err, services.nlu.parse, voice, services.warm_knowledge)  # every model loaded before the first turn
    devices = services.devices
    assert isinstance(devices, SimulatedDevices)
    dm = DialogManager(services, services.new_session(parsed.lang), today=day)
    render_turn(console, dm.start(), as_json)
    records = []
    for turn in parsed.turns:
        if not as_json:
            said = turn.say or (f"(audio) {turn.audio}" if turn.audio else "/" + str(turn.device))
            console.print(f"[bold green]customer>[/bold green] {said}")
        try:
            record = play_turn(dm, devices, turn, clock.advance if clock else None, voice, script.parent)
        except DeviceError as exc:
            err.print(f"[red]device refused:[/red] {exc}")
            continue
        render_turn(console, record, as_json)
        records.append(record)
    dm.close()
    if voice is not None:
        print_voice_latency(err, records)
        voice.close()
        err.print(f"[dim]replies written to {voice.out_dir}[/dim]")
    if not as_json:
        console.print(f"[dim]session {dm.session.session_id}: {dm.session.outcome.value}, "
                      f"done {dm.session.transactions_done}[/dim]")


def run_tests(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default dialogs/tests)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run conversation tests; ends with `N passed, N failed`; exit 1 on any failure."""
    from vtm.kiosk.testing import ConversationRunner, describe, discover

    settings = settings_or_exit()
    files = discover(paths or [settings.content_root / "dialogs" / "tests"])
    console = Console()
    runner = ConversationRunner(settings)
    passed = failed = 0
    try:
        for path in files:
            result = runner.run(path)
            if as_json:
                print(json.dumps(describe(result), ensure_ascii=False))
            elif result.passed:
                console.print(f"[green]PASS[/green] {path}")
            else:
                console.print(f"[red]FAIL[/red] {path}")
                for failure in result.failures:
                    console.print(f"    {failure}", markup=False)
            passed += result.passed
            failed += not result.passed
    finally:
        runner.close()
    print(f"{passed} passed, {failed} failed")
    if failed or not files:
        raise typer.Exit(1)


def kiosk(lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh") -> None:
    """The live kiosk: microphone in, speaker out, one customer session after another (Ctrl-C stops)."""
    from vtm.dialog.prompts import Lang
    from vtm.kiosk.live import SoundDeviceMicrophone, missing_audio_devices, run_live

    missing = missing_audio_devices()
    if missing:
        err.print("[red]The live kiosk cannot start; this machine lacks:[/red]")
        for item in missing:
            err.print(f"  - {item}")
        err.print("Typed turns: `vtm sim`; recorded audio turns: `vtm sim --audio --script FILE`.")
        raise typer.Exit(2)
    from vtm.dialog.manager import DialogManager
    from vtm.kiosk.bootstrap import bootstrap
    from vtm.kiosk.sim import warm_up
    from vtm.kiosk.voice import VoiceFrontEnd
    from vtm.speech.playback import open_player

    settings = settings_or_exit()
    services = bootstrap(settings)
    player, microphone = open_player(), SoundDeviceMicrophone()
    language: Lang = "en" if lang == "en" else "zh"
    voice = VoiceFrontEnd.for_settings(settings, settings.audio_dir)
    try:
        warm_up(err, services.nlu.parse, voice, services.warm_knowledge)  # ready before the first customer's word
        while True:
            session = services.new_session(language)
            dm = DialogManager(services, session)
            try:
                run_live(dm, voice.for_session(settings.audio_dir / session.session_id), microphone, player)
            finally:
                dm.close()
    except KeyboardInterrupt:
        err.print("kiosk stopped")
    finally:
        voice.close()


def register(app: typer.Typer) -> None:
    app.command("sim")(sim)
    app.command("kiosk")(kiosk)
    app.command("test")(run_tests)
