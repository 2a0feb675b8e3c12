"""A session's records held back until the session's state is saved: every turn stored exactly once.

The kiosk service saves each kiosk's session after every turn (:mod:`vtm.records.kiosk_sessions`)
and another replica may carry it on. If the turn's record were written first and the process died
before the save, the next replica would play the customer's message again from the saved state and
store a second turn under the same number. So the dialog's recorder is a :class:`HeldRecords`: it
keeps what the dialog records (opened, each turn, closed) in order, as JSON, until the service has
saved the session *with those items in the row* (:meth:`HeldRecords.pending`), then writes them
(:meth:`HeldRecords.flush`). A replica that takes over after a crash between the save and the
writes finds them in the row and writes whichever the session store lacks (:meth:`HeldRecords.replay`).

Turns are written from their JSON form on both paths (times as captured, not as written), so a
replayed turn is stored exactly as it would have been.

Usage::

    records = HeldRecords(store, clock, audit=audit)
    dm = DialogManager(replace(services, recorder=records), session)
    dm.handle_text("我要转账")
    held.save(session_id, {"records": records.pending(), ...})   # the session, with its records
    records.flush()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

from vtm.audit import AuditLog
from vtm.dialog.session import Session
from vtm.dialog.turn import Reply, TurnRecord
from vtm.records.recorder import SessionRecorder
from vtm.records.store import SessionStore, UnknownSession

__all__ = ["HeldRecords"]

_OPENED: Final = "opened"
_TURN: Final = "turn"
_CLOSED: Final = "closed"


def _json(value: Any) -> Any:
    """The value as the session store writes it (``default=str``, as :mod:`vtm.records.store` does)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


class HeldRecords(SessionRecorder):
    """A :class:`SessionRecorder` (what the kiosk's services name) that writes only on :meth:`flush`.

    ``opened``/``closed``: this session's opening or end is already stored (a restored session), so
    the dialog manager's call for it is not stored again.
    """

    def __init__(self, store: SessionStore, clock: Callable[[], datetime], *, audit: AuditLog | None = None,
                 opened: bool = False, closed: bool = False) -> None:
        super().__init__(store, clock, audit=audit)
        self._now, self._anchor_log = clock, audit
        self._opened, self._closed = opened, closed
        self._held: list[dict[str, Any]] = []

    # What the dialog manager calls -------------------------------------------------------------
    def opened(self, session: Session) -> None:
        if not self._opened:
            self._opened = True
            self._held.append({"kind": _OPENED, "session_id": session.session_id, "kiosk_id": session.kiosk_id,
                               "lang": session.lang, "at": session.started_at.isoformat()})

    def turn(self, session: Session, record: TurnRecord, names: list[str], *, audio_path: str | None = None,
             asr_confidence: float | None = None, device_raw: str | None = None) -> None:
        self._held.append(_json({
            "kind": _TURN, "session_id": session.session_id, "at": self._now().isoformat(), "names": names,
            "audio_path": audio_path, "asr_confidence": asr_confidence, "device_raw": device_raw,
            "record": {"turn": record.turn, "user": record.user, "device": record.device, "intent": record.intent,
                       "confidence": record.confidence, "slots": record.slots, "state": record.state,
                       "replies": [{"key": r.key, "text": r.text, "interruptible": r.interruptible}
                                   for r in record.replies],
                       "verdicts": record.verdicts, "operations": record.operations,
                       "latency_ms": record.latency_ms}}))

    def closed(self, session: Session) -> None:
        if not self._closed:
            self._closed = True
            self._held.append({"kind": _CLOSED, "session_id": session.session_id, "at": self._now().isoformat(),
                               "outcome": session.outcome.value, "transactions": list(session.transactions_done),
                               "customer_id": session.customer_id})

    # What the kiosk service calls --------------------------------------------------------------
    def pending(self) -> list[dict[str, Any]]:
        """The held items, JSON-ready, to save with the session (they hold raw text: save them sealed)."""
        return list(self._held)

    def flush(self) -> None:
        """Write the held items in order (the session holding them has been saved)."""
        while self._held:
            self._write(self._held[0])
            self._held.pop(0)  # only once written: a failure leaves it for the next flush

    def replay(self, items: Sequence[dict[str, Any]]) -> int:
        """Write the items of a saved row that the store lacks (their holder died before its flush);
        returns how many were written."""
        if not items:
            return 0
        try:
            detail = self.store.get_session(items[0]["session_id"])
        except UnknownSession:
            detail = None  # not even opened: every item is missing (the first one opens it)
        turns = {t.turn_no for t in detail.turns} if detail is not None else set()

        def stored(item: dict[str, Any]) -> bool:
            if item["kind"] == _OPENED:
                return detail is not None
            if item["kind"] == _TURN:
                return item["record"]["turn"] in turns
            return detail is not None and detail.summary.ended_at is not None

        missing = [item for item in items if not stored(item)]
        for item in missing:
            self._write(item)
        return len(missing)

    def _write(self, item: dict[str, Any]) -> None:
        at = datetime.fromisoformat(item["at"])
        if item["kind"] == _OPENED:
            self.store.open_session(item["session_id"], item["kiosk_id"], item["lang"], at)
        elif item["kind"] == _TURN:
            data = item["record"]
            record = TurnRecord(
                turn=data["turn"], user=data["user"], device=data["device"], intent=data["intent"],
                confidence=data["confidence"], slots=data["slots"], state=data["state"],
                replies=[Reply(**r) for r in data["replies"]], verdicts=data["verdicts"],
                operations=data["operations"], latency_ms=data["latency_ms"])
            self.store.record_turn(item["session_id"], record, item["names"], audio_path=item["audio_path"],
                                   asr_confidence=item["asr_confidence"], device_raw=item["device_raw"], ts=at)
        else:
            self.store.close_session(item["session_id"], item["outcome"], item["transactions"],
                                     item["customer_id"], at)
            if self._anchor_log is not None:
                self._anchor_log.anchor()  # as SessionRecorder.closed: a session's end is anchored

