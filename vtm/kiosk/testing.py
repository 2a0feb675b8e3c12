"""Conversation tests: scripted dialogs with expectations per turn and on the bank at the end.

Each conversation runs on its own copy of a freshly seeded sandbox bank (seeded once per
``today`` and copied, so a hundred conversations cost one seed), with the real gate, the real
NLU model and simulated devices. ``vtm test`` prints one line per conversation and ends with
``N passed, N failed``.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError
from vtm.banking.port import CoreBanking
from vtm.config import Settings
from vtm.devices.errors import DeviceError
from vtm.dialog.manager import DialogManager
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.bootstrap import KioskServices, LazyKnowledge, Parser, bootstrap, nlu_embedder
from vtm.kiosk.script import EndExpectation, Script, TurnExpectation, load_script
from vtm.kiosk.sim import ScriptClock, play_turn
from vtm.knowledge import load_knowledge

if TYPE_CHECKING:
    from vtm.kiosk.voice import VoiceFrontEnd

__all__ = ["ConversationResult", "ConversationRunner", "discover"]

DEFAULT_TODAY = date(2026, 11, 23)


@dataclass
class ConversationResult:
    path: Path
    failures: list[str] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def discover(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.rglob("*.yaml")) if path.is_dir() else [path])
    return found


class ConversationRunner:
    """Runs conversation scripts against fresh sandbox banks; one NLU model shared by all."""

    def __init__(self, settings: Settings, nlu: Parser | None = None, voice: VoiceFrontEnd | None = None) -> None:
        self.settings = settings
        self.voice = voice  # for `audio:` turns (speech recognised by the real ASR)
        self._templates: dict[date, Path] = {}
        self._work = Path(tempfile.mkdtemp(prefix="vtm-conv-"))
        self._runs = itertools.count()
        if nlu is None:
            from vtm.nlu.parser import NluParser

            nlu = NluParser(settings.models_path, settings.content_root / "dialogs" / "nlu", train_if_missing=True)
        self.nlu = nlu
        # One e5 encoder and one knowledge base for every conversation (each gets a fresh bank and records).
        self.embedder = nlu_embedder(settings.models_path, nlu)
        root = settings.content_root
        self.knowledge = LazyKnowledge(load_knowledge(root), settings.models_path, self.embedder.encoder) \
            if (root / "knowledge").is_dir() else None

    def _template(self, today: date) -> Path:
        if today not in self._templates:
            from vtm.banking.sandbox import create_bank_engine
            from vtm.banking.sandbox.seed import seed_demo_bank

            path = self._work / f"bank-{today}.sqlite3"
            engine = create_bank_engine(f"sqlite:///{path}")
            seed_demo_bank(engine, today=today, reset=True)
            engine.dispose()
            self._templates[today] = path
        return self._templates[today]

    def fresh_dir(self) -> Path:
        """A new folder for one conversation's bank and records (created by :meth:`services_for`)."""
        return self._work / f"run-{next(self._runs)}"

    def services_for(self, script: Script, data_dir: Path) -> tuple[KioskServices, ScriptClock]:
        today = script.today or DEFAULT_TODAY
        data_dir.mkdir(parents=True)
        shutil.copyfile(self._template(today), data_dir / "bank.sqlite3")
        settings = self.settings.model_copy(update={
            "data_dir": data_dir, "bank_database_url": None, "records_database_url": None, "bank_url": None,
            "models_dir": self.settings.models_path, "content_dir": self.settings.content_root})
        clock = ScriptClock(today)
        return bootstrap(settings, clock=clock, nlu=self.nlu, embedder=self.embedder, knowledge=self.knowledge), clock

    def run(self, path: Path) -> ConversationResult:
        """Run one conversation; a crash fails this conversation only, with the error named."""
        result = ConversationResult(path)
        try:
            self._run(path, result)
        except Exception as exc:  # report it and go on to the next conversation
            result.failures.append(f"crashed: {type(exc).__name__}: {exc}")
        return result

    @contextlib.contextmanager
    def conversation(self, script: Script) -> Iterator[tuple[DialogManager, KioskServices, ScriptClock]]:
        """A new session of ``script``'s language on a fresh sandbox bank; its records closed afterwards."""
        services, clock = self.services_for(script, self.fresh_dir())
        try:
            dm = DialogManager(services, services.new_session(script.lang), today=script.today or DEFAULT_TODAY)
            dm.session.elderly = script.elderly
            yield dm, services, clock
        finally:
            services.audit.engine.dispose()

    def _run(self, path: Path, result: ConversationResult) -> None:
        script = load_script(path)
        with self.conversation(script) as (dm, services, clock):
            before = _snapshot(services.core, script.expect_end)
            result.turns.append(dm.start())
            for number, turn in enumerate(script.turns, start=1):
                try:
                    rec = play_turn(dm, services.devices, turn, clock.advance,  # type: ignore[arg-type]
                                    self.voice, path.parent)
                except DeviceError as exc:
                    result.failures.append(f"turn {number}: device refused {turn.device!r}: {exc}")
                    break
                result.turns.append(rec)
                result.failures.extend(f"turn {number}: incident {op['key']} ({op['result']})"
                                       for op in rec.operations if op["operation"] == "incident")
                if turn.expect is not None:
                    result.failures.extend(f"turn {number}: {p}" for p in _check_turn(turn.expect, rec))
            if script.expect_end is not None:
                result.failures.extend(_check_end(script.expect_end, dm, services, before, result.turns))

    def close(self) -> None:
        shutil.rmtree(self._work, ignore_errors=True)


def _check_turn(expect: TurnExpectation, rec: TurnRecord) -> list[str]:
    problems = []
    said = " ".join(rec.bot)
    if expect.intent is not None and rec.intent != expect.intent:
        problems.append(f"intent {rec.intent!r}, expected {expect.intent!r}")
    if expect.state is not None and rec.state != expect.state:
        problems.append(f"state {rec.state!r}, expected {expect.state!r}")
    for slot, value in expect.slots.items():
        if str(rec.slots.get(slot)) != value:
            problems.append(f"slot {slot}={rec.slots.get(slot)!r}, expected {value!r}")
    if expect.verdict is not None:
        seen = {v["outcome"] for v in rec.verdicts} | {r for v in rec.verdicts for r in v["rules"]}
        if expect.verdict not in seen:
            problems.append(f"verdict {expect.verdict!r} not among {sorted(seen)}")
    problems.extend(f"reply lacks {text!r}: {said!r}" for text in expect.text_contains if text not in said)
    problems.extend(f"reply has {text!r}: {said!r}" for text in expect.text_not_contains if text in said)
    return problems


def _snapshot(core: CoreBanking, expect: EndExpectation | None) -> dict[str, Decimal]:
    if expect is None:
        return {}
    return {key: _balance(core, key) for key in expect.balance_delta}


def _balance(core: CoreBanking, key: str) -> Decimal:
    account = key
    with contextlib.suppress(CoreBankingError):  # not a card: the key is an account number
        account = core.card_status(key).account_number
    return core.balance(account).balance


def _check_end(expect: EndExpectation, dm: DialogManager, services: KioskServices, before: dict[str, Decimal],
               turns: list[TurnRecord]) -> list[str]:
    problems: list[str] = []
    session = dm.session
    if expect.outcome is not None and session.outcome.value != expect.outcome:
        problems.append(f"outcome {session.outcome.value!r}, expected {expect.outcome!r}")
    if expect.transactions is not None and session.transactions_done != expect.transactions:
        problems.append(f"transactions {session.transactions_done}, expected {expect.transactions}")
    for card, status in expect.card_status.items():
        actual = services.core.card_status(card).status.value
        if actual != status:
            problems.append(f"card ...{card[-4:]} is {actual!r}, expected {status!r}")
    for key, delta in expect.balance_delta.items():
        moved = _balance(services.core, key) - before[key]
        if moved != delta:
            problems.append(f"balance of ...{key[-4:]} moved {moved}, expected {delta}")
    if expect.printed is not None:
        printed = len([p for p in services.settings.output_dir.rglob("*.pdf")])
        if printed != expect.printed:
            problems.append(f"printer wrote {printed} PDFs, expected {expect.printed}")
    ran = [str(op["operation"]) for rec in turns for op in rec.operations]
    problems.extend(f"operation {name!r} did not run" for name in expect.operations if name not in ran)
    problems.extend(f"operation {name!r} ran" for name in expect.not_operations if name in ran)
    return problems


def describe(result: ConversationResult) -> dict[str, Any]:
    return {"path": str(result.path), "passed": result.passed, "failures": result.failures}
