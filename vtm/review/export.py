"""Export a recorded session as a conversation test (the ``vtm test`` YAML of :mod:`vtm.kiosk.script`).

A replayable test needs what the customer really said and which card was really inserted, so
the export reads the *raw* turns (decrypted from the store): only supervisors may export, with a
stated reason, and the export is logged and appended to the audit chain like an unmask.

Two things are never stored and so never exported as recorded:

* PINs: a ``pin`` device turn (and a spoken PIN, kept as ``******``) is written with the
  *test PIN* the supervisor types in the export form (the sandbox's demo PINs are in
  ``docs/demo-cards.md``);
* device commands recorded without their raw form (by a caller that did not pass
  ``device_raw``): their masked form is kept and the export lists them as warnings, since the
  test will not replay them faithfully.

The expectations written are those the session showed: each spoken turn's intent and every
turn's state, and at the end the outcome and the transactions completed. Replayed against a
freshly seeded sandbox bank for the session's day, the test passes while the kiosk still
behaves as it did, and fails when a change alters that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import yaml

from vtm.common.masking import PIN_MASK
from vtm.kiosk.script import Script
from vtm.records.store import SessionStore

__all__ = ["ExportError", "ExportResult", "export_session"]

_SECRET_SAY = PIN_MASK  # what the dialog records instead of a spoken PIN


class ExportError(Exception):
    """The session cannot be exported as asked (the message says why)."""


@dataclass(frozen=True)
class ExportResult:
    yaml_text: str
    warnings: list[str] = field(default_factory=list)


def _is_pin(command: str) -> bool:
    return command.split(" ", 1)[0] in {"pin", "enter_pin"}


def export_session(store: SessionStore, session_id: str, *, tz: tzinfo, test_pin: str | None = None) -> ExportResult:
    detail = store.get_session(session_id)
    if detail.summary.purged:
        raise ExportError("this session was purged (retention); its words are gone")
    pin = (test_pin or "").strip() or None
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ExportError("the test PIN must be 4-12 digits")
    warnings: list[str] = []
    turns: list[dict[str, Any]] = []
    for turn in detail.turns:
        raw_user, raw_device = store.reveal(session_id, turn.turn_no)
        entry: dict[str, Any]
        if turn.user_text is not None:
            said = raw_user if raw_user is not None else turn.user_text
            if raw_user is None:
                warnings.append(f"turn {turn.turn_no}: raw text not kept; masked text exported")
            if said == _SECRET_SAY:
                if pin is None:
                    raise ExportError(f"turn {turn.turn_no} is a spoken PIN: give a test PIN to export it")
                said = pin
            entry = {"say": said}
            expect: dict[str, Any] = {}
            if turn.intent:
                expect["intent"] = turn.intent
            if turn.state:
                expect["state"] = turn.state
            if expect:
                entry["expect"] = expect
        elif turn.device is not None:
            if _is_pin(turn.device):
                if pin is None:
                    raise ExportError(f"turn {turn.turn_no} enters a PIN: give a test PIN to export it")
                command = f"pin {pin}"
            elif raw_device is not None:
                command = raw_device
            else:
                command = turn.device
                if "*" in command:
                    warnings.append(f"turn {turn.turn_no}: device command kept only masked ({command})")
            entry = {"device": command}
            if turn.state:
                entry["expect"] = {"state": turn.state}
        else:
            continue  # the kiosk's greeting (turn 0): nothing to replay
        turns.append(entry)
    if not turns:
        raise ExportError("the session has no customer turns to replay")
    summary = detail.summary
    document: dict[str, Any] = {
        "name": f"exported from session {summary.session_id}",
        "lang": summary.lang,
        "today": summary.started_at.astimezone(tz).date(),
        "turns": turns,
        "expect_end": {"outcome": summary.outcome, "transactions": list(summary.transactions)},
    }
    Script.model_validate(document)  # the export must be a valid test, or it is a bug here
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, default_flow_style=False)
    return ExportResult(text, warnings)
