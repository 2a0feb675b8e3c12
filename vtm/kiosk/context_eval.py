"""Answers in context: evaluation rows that carry the question the kiosk had just asked.

An intent evaluation reads each utterance alone. "第一个", "转6000" or "对 就是工行那个" are answers,
and what they mean depends on the question before them; the kiosk never reads them alone (the
running transaction's own answers are heard first, :mod:`vtm.dialog.policies.flow_input`). Rows of
an evaluation set whose ``asked`` column names that question are therefore played through the real
dialog: a fresh session on a fresh sandbox bank is brought to the question by a scripted prefix (one
per language and question, ``tests/data/nlu/contexts.yaml``), the row is said, and the kiosk's turn is
judged by what it did, not by the label the classifier gave:

- ``inform`` to a value question (amount, payee, period, ...): the kiosk took a value or moved on in
  the same transaction, or said that question's own follow-up ("卡不在身上" -> the other ways);
  it did not say "I didn't understand", start another task, answer a knowledge question or cancel;
- ``affirm`` / ``deny`` to a read-back, an offer or "anything else?": the kiosk did what it does for a
  plain yes (or no) at the same point, measured on the prefix with the context's reference answers;
  a deny that corrects a value (a re-read-back or "what shall I change?") counts as a deny;
- ``affirm`` to "anything else?" may name the next task ("还想改个密码"): the kiosk starting it is a yes;
- ``help``, ``cancel``, ``ask_human``: the kiosk helped with the question (or answered it from the
  knowledge base), cancelled or asked whether to, offered or called a person; any other label
  (``repeat``...): the intent the kiosk heard.

A question asked in more than one place (an offer: a receipt, a replacement card) has one prefix per
place; a row is right if the kiosk handles it right at one of them.

A prefix that no longer reaches its question (a transaction redesigned) fails the run with the
question named, so the figures never come from the wrong context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vtm.common import yamlio
from vtm.common.validation import problems
from vtm.devices.bundle import SimulatedDevices
from vtm.dialog.turn import TurnRecord
from vtm.kiosk.script import Script, Turn
from vtm.kiosk.sim import play_turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner

__all__ = ["ContextError", "ContextRow", "ContextSet", "Judged", "evaluate_in_context", "load_contexts"]

YES_NO = frozenset({"confirm", "offer", "anything_else"})
# Replies that mean the kiosk did not take the utterance as the answer it was waiting for.
_NOT_TAKEN = ("repair.no_match", "help.", "handoff.", "knowledge.", "confirm.unclear")
# What the kiosk does for a control word, by label: the reply keys that show it (prefixes).
_CONTROL = {
    "help": ("help.", "knowledge.answer"),
    "cancel": ("repair.cancel", "repair.cancelled"),
    "ask_human": ("handoff.", "repair.no_match.handoff"),
}


class ContextError(Exception):
    """The context file is invalid, or a prefix no longer reaches its question."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Context(_Strict):
    """Turns that bring a fresh session to one question, and the reply key that asks it."""

    turns: list[Turn] = Field(min_length=1)
    asks: str = Field(description="a reply key of the prefix's last turn (the question now open)")
    plain_yes: str | None = Field(default=None, description="this question's plain yes, if not the language's")
    plain_no: str | None = Field(default=None, description="this question's plain no, if not the language's")


class LanguageContexts(_Strict):
    plain_yes: str = Field(description="the plain yes of this language, the reference for affirm")
    plain_no: str = Field(description="the plain no of this language, the reference for deny")
    contexts: dict[str, Annotated[list[Context], Field(min_length=1)]] = Field(
        min_length=1, description="the places each question is asked")


class ContextSet(_Strict):
    """``tests/data/nlu/contexts.yaml``."""

    today: date = DEFAULT_TODAY
    languages: dict[Literal["zh", "en"], LanguageContexts]


def load_contexts(path: Path) -> ContextSet:
    try:
        return ContextSet.model_validate(yamlio.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise ContextError("\n".join(problems(exc, prefix=f"{path}: "))) from exc
    except (OSError, ValueError) as exc:
        raise ContextError(f"{path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ContextRow:
    text: str
    intent: str
    lang: str
    asked: str
    kind: str = ""
    id: str = ""


@dataclass(frozen=True, slots=True)
class _Turn:
    """What one turn did, as far as judging an answer needs."""

    intent: str | None
    state: str | None
    slots: dict[str, Any]
    keys: tuple[str, ...]
    ended: tuple[str, ...] = ()  # "transfer:completed": transactions that ended this turn

    @classmethod
    def of(cls, rec: TurnRecord) -> _Turn:
        ended = tuple(str(op["result"]) for op in rec.operations if op["operation"] == "transaction_end")
        return cls(rec.intent, rec.state, dict(rec.slots), tuple(r.key for r in rec.replies), ended)

    @property
    def flow(self) -> str:
        return (self.state or "").split(".")[0]

    def not_taken(self) -> bool:
        return any(key.startswith(_NOT_TAKEN) for key in self.keys)


@dataclass
class Judged:
    row: ContextRow
    understood: str
    correct: bool
    turn: dict[str, Any] = field(default_factory=dict)


class _Player:
    def __init__(self, runner: ConversationRunner, today: date) -> None:
        self.runner, self.today = runner, today

    def play(self, lang: str, prefix: list[Turn], said: str) -> tuple[_Turn, _Turn]:
        """The prefix's last turn and the turn that answers it, on a fresh session and bank."""
        script = Script(lang=lang, today=self.today, turns=[*prefix, Turn(say=said)])
        with self.runner.conversation(script) as (dm, services, clock):
            devices = services.devices
            assert isinstance(devices, SimulatedDevices)  # a conversation runner's kiosk has no hardware
            last = dm.start()
            for turn in prefix:
                last = play_turn(dm, devices, turn, clock.advance)
            return _Turn.of(last), _Turn.of(play_turn(dm, devices, Turn(say=said), clock.advance))


def _judge_yes_no(before: _Turn, after: _Turn, yes: _Turn, no: _Turn) -> str:
    signature = (after.state, after.keys)
    if signature == (yes.state, yes.keys):
        return "affirm"
    if before.flow in ("idle", "") and not after.not_taken() and (
            after.flow not in ("idle", "ended", "") or any(end.endswith(":completed") for end in after.ended)):
        return "affirm"  # "anything else?" answered with the next task: the kiosk started it
    if signature == (no.state, no.keys):
        return "deny"
    if after.not_taken():
        return "not_understood"
    if "repair.what_to_change" in after.keys or (after.flow == before.flow and after.slots != before.slots):
        return "correction"
    if after.state == before.state and after.keys and after.keys[-1] in before.keys:
        return "correction"  # a value said again at a read-back: read back again
    return f"other:{after.intent}"


def _judge_value(before: _Turn, after: _Turn) -> str:
    if after.not_taken():
        return "not_understood"
    if f"{before.flow}:completed" in after.ended:
        return "inform"  # the answer was the last thing the transaction needed
    if after.flow != before.flow:
        return f"other:{after.intent}"
    if after.slots != before.slots or after.state != before.state or after.keys != before.keys[-1:]:
        return "inform"
    return "not_understood"  # the same question again


def _correct(expected: str, understood: str, after: _Turn, asked: str) -> bool:
    intent = after.intent
    if expected in _CONTROL:
        return intent == expected or any(key.startswith(_CONTROL[expected]) for key in after.keys) or (
            expected == "cancel" and any(end.endswith(":cancelled") for end in after.ended))
    if expected == "affirm":
        return understood == "affirm"
    if expected == "deny":
        if asked in YES_NO:
            return understood in ("deny", "correction")
        return understood == "inform" or intent == "deny"
    if expected == "inform":
        return understood in ("inform", "correction")
    return intent == expected


def _references(player: _Player, row: ContextRow, context: Context, spec: LanguageContexts) -> tuple[_Turn, _Turn]:
    """What a plain yes and a plain no do at this place (the yardstick of affirm and deny)."""
    yes = player.play(row.lang, context.turns, context.plain_yes or spec.plain_yes)[1]
    no = player.play(row.lang, context.turns, context.plain_no or spec.plain_no)[1]
    if (yes.state, yes.keys) == (no.state, no.keys) or yes.not_taken() or no.not_taken():
        raise ContextError(f"the {row.lang} references of {row.asked!r} at {context.asks} do not tell yes from no "
                           f"(yes: {yes.state} {list(yes.keys)}, no: {no.state} {list(no.keys)})")
    return yes, no


def evaluate_in_context(runner: ConversationRunner, contexts: ContextSet, rows: list[ContextRow]) -> list[Judged]:
    """Play every row at its question and judge the kiosk's turn (module docstring)."""
    player = _Player(runner, contexts.today)
    references: dict[tuple[str, str, int], tuple[_Turn, _Turn]] = {}
    judged = []
    for row in rows:
        spec = contexts.languages.get(row.lang)  # type: ignore[call-overload]
        if spec is None or row.asked not in spec.contexts:
            raise ContextError(f"no context {row.asked!r} for {row.lang} (row {row.id or row.text!r})")
        best: Judged | None = None
        for place, context in enumerate(spec.contexts[row.asked]):
            before, after = player.play(row.lang, context.turns, row.text)
            if context.asks not in before.keys:
                raise ContextError(f"the {row.lang} prefix of {row.asked!r} no longer ends at {context.asks!r} "
                                   f"(it ends with {list(before.keys)})")
            if row.asked in YES_NO:
                key = (row.lang, row.asked, place)
                if key not in references:
                    references[key] = _references(player, row, context, spec)
                understood = _judge_yes_no(before, after, *references[key])
            else:
                understood = _judge_value(before, after)
            judged_here = Judged(row, understood, _correct(row.intent, understood, after, row.asked),
                                 {"intent": after.intent, "state": after.state, "replies": list(after.keys)})
            if best is None or (judged_here.correct and not best.correct):
                best = judged_here
        assert best is not None  # every question has at least one place (min_length)
        judged.append(best)
    return judged
