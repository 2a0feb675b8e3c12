"""The dialog's facade: one customer session, turn by turn.

Each turn is an input (an utterance, a device event, speech that could not be used, or a step a
driver asks for); the facade makes a :class:`~vtm.dialog.context.TurnContext`, gives the input to
the declared policies (:data:`vtm.dialog.policies.order.SPOKEN_TURN`) or the device handling,
isolates any failure as an incident, hands the turn's device actions to the kiosk's performer,
and records the turn. The logic of the conversation lives in the policies and the engine, the
knowledge of each transaction in its plug-in.

Usage::

    dm = DialogManager(services, services.new_session(lang="zh"))
    dm.start()
    dm.handle_device(InsertCard("6222..."))
    record = dm.handle_text("我要转账")
    record.bot   # what the kiosk said
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from vtm.common.masking import mask_slots
from vtm.compliance.guarded import GuardedCoreBanking
from vtm.devices import DeviceCommand, TakeCard, TakeReceipt
from vtm.devices.commands import raw_device_line
from vtm.dialog import repair
from vtm.dialog.consent import unclear_read_back
from vtm.dialog.context import TurnContext
from vtm.dialog.device_events import handle_device_event
from vtm.dialog.engine import advance
from vtm.dialog.policies import Utterance, parser_for, run_policies
from vtm.dialog.policies.order import SPOKEN_TURN
from vtm.dialog.services import DialogServices
from vtm.dialog.session import Awaiting, Pending, Session
from vtm.dialog.turn import Reply, TurnRecord, jsonable
from vtm.flows.definition import StateKind

__all__ = ["DialogManager"]

_log = logging.getLogger(__name__)


class DialogManager:
    """Drives one :class:`Session` with the kiosk's services (bank, gate, NLU, prompts)."""

    def __init__(self, services: DialogServices, session: Session, today: date | None = None) -> None:
        self.services = services
        self.session = session
        self.today = today
        self.guarded = GuardedCoreBanking(services.core, services.gate, session.session_id,
                                          audit=services.audit, clock=services.clock)
        self._closed = False
        self._defer = False
        self._deferred: tuple[TurnRecord, dict[str, Any]] | None = None
        if services.recorder is not None:
            services.recorder.opened(session)

    # Inputs ------------------------------------------------------------------------------------
    def start(self) -> TurnRecord:
        return self._turn(lambda ctx: ctx.say("session.welcome"))

    def handle_text(self, text: str, asr_confidence: float | None = None, audio_path: str | None = None) -> TurnRecord:
        meta = {"asr_confidence": asr_confidence, "audio_path": audio_path}
        if self.session.ended:
            return self._turn(None, user=text, meta=meta)  # handed off or said goodbye: no longer acts on speech

        def spoken(ctx: TurnContext) -> None:
            ctx.session.silence_count = 0
            said = Utterance(text, parser_for(ctx, ctx.local_today()))
            try:
                run_policies(ctx, said, SPOKEN_TURN)
            finally:
                if said.parsed:
                    ctx.record.intent, ctx.record.confidence = said.nlu.intent, said.nlu.confidence
                    ctx.record.latency_ms["nlu"] = said.parse_ms or 0.0
            if not any(key.startswith("repair.no_match") for key, _ in ctx.said):
                ctx.session.no_match_count = 0  # only consecutive misses lead to the offer of a person

        return self._turn(spoken, user=text, meta=meta)

    def handle_device(self, command: DeviceCommand) -> TurnRecord:
        meta = {"device_raw": raw_device_line(command)}
        if self.session.ended and not isinstance(command, TakeCard | TakeReceipt):
            return self._turn(None, device=str(command), meta=meta)  # after the end only taking the card/receipt
        return self._turn(lambda ctx: handle_device_event(ctx, command), device=str(command), meta=meta)

    def not_understood(self, reason: str, asr_confidence: float | None = None,
                       audio_path: str | None = None) -> TurnRecord:
        """Speech was heard but not recognised well enough to act on: ask again, never guess."""

        def unusable(ctx: TurnContext) -> None:
            flow, session = ctx.session.flow, ctx.session
            if session.ended:
                return
            if flow is not None and session.pending is None and flow.spec.kind is StateKind.CONFIRM:
                unclear_read_back(ctx, flow)  # a mumble at a read-back is never a yes
            else:
                repair.no_match(ctx)

        return self._turn(unusable, device=f"unrecognised speech ({reason})",
                          meta={"asr_confidence": asr_confidence, "audio_path": audio_path})

    def resume(self) -> TurnRecord:
        """A recorded turn that only runs the transaction on (for drivers other than speech and devices)."""
        return self._turn(advance)

    def record_turn(self, step: Callable[[TurnContext], None]) -> TurnRecord:
        """Run ``step`` as one recorded turn (replies, verdicts, operations, latency)."""
        return self._turn(step)

    def scratch_context(self) -> TurnContext:
        """A context outside any turn, for a channel that fills slots its own way (the Rasa form's
        validation): nothing said or done through it is recorded or performed."""
        return TurnContext(self.services, self.session, TurnRecord(turn=self.session.turn), self.guarded, self.today)

    # The turn ------------------------------------------------------------------------------------
    def _turn(self, handle: Callable[[TurnContext], None] | None, *, user: str | None = None,
              device: str | None = None, meta: dict[str, Any] | None = None) -> TurnRecord:
        session = self.session
        started = time.perf_counter()
        session.turn += 1
        session.last_activity_at = self.services.clock()
        record = TurnRecord(turn=session.turn, user=user, device=device)
        ctx = TurnContext(self.services, session, record, self.guarded, self.today)
        if handle is not None:
            with self._isolated(ctx):
                handle(ctx)
        flow = session.flow
        record.state = "ended" if session.ended else (f"{flow.name}.{flow.state}" if flow else "idle")
        record.slots = {k: jsonable(v) for k, v in mask_slots(flow.slots).items() if v is not None} if flow else {}
        if ctx.said:
            session.last_prompts = list(ctx.said)
        self._perform(ctx)
        record.latency_ms["turn"] = (time.perf_counter() - started) * 1000
        if self._defer:
            self._deferred, self._defer = (record, meta or {}), False
        else:
            self._store(record, meta or {})
        return record

    def _perform(self, ctx: TurnContext) -> None:
        """Hand the turn's device actions to the kiosk; a device that fails is said and recorded."""
        perform = self.services.perform_actions
        if not ctx.record.actions or perform is None:
            return
        with self._isolated(ctx):
            for result in perform(ctx.record.actions):
                ctx.record.operations.append(result)
                if str(result.get("result", "")).startswith("device_error"):
                    ctx.record.replies.append(Reply("error.device", ctx.render("error.device")))

    @contextmanager
    def _isolated(self, ctx: TurnContext) -> Iterator[None]:
        """One turn's unexpected error must not end the customer's session or lose its record.

        The customer hears an apology and an offer of a person; the error becomes an incident in
        the turn record and the audit chain (with its id, so staff find the log line); the session
        state is kept as it was when the error struck, so a person can take over where it stopped.
        Money is safe by construction: a movement needs a permit and a journal entry written first.
        """
        try:
            yield
        except Exception as exc:  # isolate the turn: the error is logged and recorded below
            session = self.session
            incident = f"INC-{uuid.uuid4().hex[:12]}"
            _log.exception("turn failed incident=%s session=%s turn=%s", incident, session.session_id, session.turn)
            detail = {"incident": incident, "error": type(exc).__name__, "turn": session.turn,
                      "state": f"{session.flow.name}.{session.flow.state}" if session.flow else "idle"}
            ctx.record_operation("incident", incident, type(exc).__name__)
            try:
                self.services.audit.append("incident", detail, session_id=session.session_id)
            except Exception:  # a failing records store must not silence the customer
                _log.exception("incident not audited incident=%s", incident)
            session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "incident"})
            ctx.record.replies.append(Reply("error.unexpected", ctx.render("error.unexpected"), True))
            ctx.said.append(("error.unexpected", {}))

    # Recording -----------------------------------------------------------------------------------
    def defer_recording(self) -> None:
        """Keep the next turn out of the session store until :meth:`commit_turn` (the voice front end
        adds speech latencies and the reply audio after the dialog has answered)."""
        self._defer = True

    def commit_turn(self) -> None:
        """Store the turn kept back by :meth:`defer_recording`, with whatever was added to it since."""
        if self._deferred is not None:
            record, meta = self._deferred
            self._deferred = None
            self._store(record, meta)

    def _store(self, record: TurnRecord, meta: dict[str, Any]) -> None:
        recorder = self.services.recorder
        if recorder is None:
            return
        recorder.turn(self.session, record, self._known_names(), **meta)
        if self.session.ended and not self._closed:
            self.close()

    def close(self) -> None:
        """Record the session's end (the kiosk calls it when the customer leaves or the program stops)."""
        if self.services.recorder is not None and not self._closed:
            self._closed = True
            self.services.recorder.closed(self.session)

    def _known_names(self) -> list[str]:
        """Names to mask in the record: the customer's and every name a transaction was given."""
        flows = [f for f in (self.session.flow, *self.session.stack) if f is not None]
        names = [self.session.customer_name, *(n for f in flows for n in f.names())]
        return [str(n) for n in names if n]
