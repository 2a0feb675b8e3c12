"""The terminal simulator: the customer's side of the kiosk, typed or scripted.

A typed line is speech; a line starting with ``/`` is a device command (``/insert_card 6222...``,
``/pin 123456``, ``/scan_id ...``, ``/face pass``, ``/silence 8``, ``/take_card``). The kiosk's
replies, the state, the (masked) slots, gate verdicts and per-stage latency are shown; ``--json``
prints one JSON object per turn instead.

Before the first turn every model is loaded and warmed (:func:`warm_up`, progress on stderr), so
the first spoken turn is as fast as the others; after a script with audio turns,
:func:`print_voice_latency` prints the per-turn speech latencies on stderr, first turn marked.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from vtm.devices import Silence, SimulatedDevices, parse_device_command
from vtm.devices.errors import DeviceError
from vtm.dialog.manager import DialogManager
from vtm.dialog.prompts import Lang
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.script import Turn
from vtm.nlu.types import WARM_UP
from vtm.speech.readiness import ComponentState, ComponentStatus, Readiness, WarmUpStep

if TYPE_CHECKING:
    from vtm.kiosk.voice import VoiceFrontEnd

__all__ = ["ScriptClock", "play_turn", "print_voice_latency", "render_turn", "run_interactive", "warm_up"]

_VOICE_STAGES = ("end_of_speech", "asr", "nlu", "dialog", "tts", "voice_to_voice")

_TURN_SECONDS = 4.0  # how long a scripted turn takes on the kiosk clock


class ScriptClock:
    """A kiosk clock for scripts and tests: starts at 10:00 local time on ``today`` and moves per turn."""

    def __init__(self, today: date, tz: ZoneInfo | None = None) -> None:
        local = datetime.combine(today, time(10, 0), tzinfo=tz or ZoneInfo("Asia/Shanghai"))
        self._now = local.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def play_turn(dm: DialogManager, devices: SimulatedDevices, turn: Turn,
              advance: Callable[[float], None] | None = None, voice: VoiceFrontEnd | None = None,
              base_dir: Path | None = None) -> TurnRecord:
    """Play one scripted turn (speech, device, or audio through ``voice``) and return what the kiosk did.

    An ``audio:`` path is relative to ``base_dir`` (the script's folder).
    """
    if advance is not None:
        advance(_TURN_SECONDS)
    if turn.say is not None:
        return dm.handle_text(turn.say)
    if turn.device is not None:
        command = parse_device_command(turn.device)
        if isinstance(command, Silence) and advance is not None:
            advance(command.seconds)
        devices.apply(command)
        return dm.handle_device(command)
    if turn.audio is not None and voice is not None:
        return voice.hear((base_dir or Path.cwd()) / turn.audio, dm)
    raise ValueError("audio turns need the speech front end (vtm sim --audio)")


def render_turn(console: Console, rec: TurnRecord, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(rec.to_json(), ensure_ascii=False, default=str))
        return
    for reply in rec.replies:
        console.print(Panel(reply.text, title="kiosk" + ("" if reply.interruptible else " (must hear)"),
                            border_style="cyan" if reply.interruptible else "red", expand=False))
    table = Table.grid(padding=(0, 2))
    table.add_row("[dim]state[/dim]", str(rec.state))
    if rec.intent:
        table.add_row("[dim]intent[/dim]", f"{rec.intent} ({rec.confidence:.2f})" if rec.confidence else rec.intent)
    if rec.slots:
        table.add_row("[dim]slots[/dim]", json.dumps(rec.slots, ensure_ascii=False))
    for verdict in rec.verdicts:
        table.add_row("[dim]gate[/dim]", f"{verdict['checkpoint']}: {verdict['outcome']} {verdict['rules']}")
    for op in rec.operations:
        table.add_row("[dim]core[/dim]", f"{op['operation']}: {op['result']}")
    table.add_row("[dim]latency[/dim]", " ".join(f"{k}={v:.1f}ms" for k, v in rec.latency_ms.items()))
    console.print(table)


def run_interactive(dm: DialogManager, devices: SimulatedDevices, console: Console, as_json: bool) -> None:
    render_turn(console, dm.start(), as_json)
    console.print("[dim]Type what the customer says; /insert_card N, /pin N, /scan_id N, /face pass|fail|refuse, "
                  "/silence S, /take_card, /take_receipt for devices; /quit to leave.[/dim]")
    while not dm.session.ended:
        try:
            line = console.input("[bold green]customer> [/bold green]").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        turn = Turn(device=line[1:]) if line.startswith("/") else Turn(say=line)
        try:
            rec = play_turn(dm, devices, turn)
        except DeviceError as exc:
            console.print(f"[red]{exc}[/red]")
            continue
        render_turn(console, rec, as_json)


def warm_up(console: Console, parse: Callable[[str, Lang], object], voice: VoiceFrontEnd | None = None,
            knowledge: Callable[[], object] | None = None) -> Readiness:
    """Load and warm the NLU and the knowledge base (and, with ``voice``, ASR, end of turn and TTS),
    showing progress on ``console``."""

    def show(status: ComponentStatus) -> None:
        if status.state is ComponentState.LOADING:
            console.print(f"[dim]loading {status.name}...[/dim]")
        elif status.state is ComponentState.READY:
            console.print(f"[dim]{status.name} ready ({status.seconds or 0.0:.2f} s)[/dim]")
        else:
            console.print(f"[red]{status.name} failed:[/red] {status.error}")

    if voice is not None:
        readiness = voice.warm_up(parse, show, knowledge)
    else:
        readiness = Readiness()
        steps: list[WarmUpStep] = [("nlu", lambda: [parse(text, lang) for text, lang in WARM_UP])]
        readiness.run(steps + ([("knowledge", knowledge)] if knowledge is not None else []), show)
    console.print(f"[green]ready[/green] [dim]{json.dumps(readiness.to_json())}[/dim]")
    return readiness


def print_voice_latency(console: Console, records: Sequence[TurnRecord]) -> None:
    """The spoken turns' latencies (ms), and the first one's ASR against the others' median."""
    spoken = [r for r in records if "asr" in r.latency_ms]
    if not spoken:
        return
    table = Table(title="voice turns (ms)")
    table.add_column("turn")
    for stage in _VOICE_STAGES:
        table.add_column(stage, justify="right")
    for rec in spoken:
        table.add_row(str(rec.turn), *(f"{rec.latency_ms[s]:.0f}" if s in rec.latency_ms else "-"
                                       for s in _VOICE_STAGES))
    console.print(table)
    if len(spoken) > 1:
        first, rest = spoken[0].latency_ms["asr"], [r.latency_ms["asr"] for r in spoken[1:]]
        console.print(f"first spoken turn ASR {first:.0f} ms; median of the other {len(rest)}: "
                      f"{statistics.median(rest):.0f} ms")
