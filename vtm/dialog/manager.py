"""The dialog manager: one customer session, turn by turn.

Each turn is an utterance (already transcribed) or a device event. The manager first handles
what cuts across every transaction (cancel, repeat, help, hand-off, language, silence, pending
verifications and acknowledgements), then gives the turn to the running transaction's state
machine, and finally *advances* the machine: every state's gate checkpoint is judged before the
state acts, and the verdict decides what happens (go on, play a warning and wait for an
acknowledgement, ask for a verification, hand off, or refuse).

Usage::

    dm = DialogManager(services, new_session(services, lang="zh"))
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
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from vtm.banking.errors import CoreBankingError
from vtm.compliance.context import AuthFactor
from vtm.compliance.guarded import GuardedCoreBanking
from vtm.compliance.verdict import Outcome, Verdict
from vtm.devices import TakeCard, TakeReceipt
from vtm.dialog import gate_context, knowledge, repair
from vtm.dialog.confirm import confirm_values
from vtm.dialog.operations import OPERATIONS
from vtm.dialog.prompts import Lang
from vtm.dialog.session import DEVICE_PROMPTS, Awaiting, Pending, Session
from vtm.dialog.slots import OWN_BANK, fill_slots, guess_bare_name, resolve_saved_payee, slot_types_filled_by
from vtm.dialog.turn import Reply, TurnRecord, jsonable
from vtm.flows.definition import Outcome as FlowOutcome
from vtm.flows.definition import SlotSpec, StateKind
from vtm.flows.machine import Flow
from vtm.nlu.types import NluResult
from vtm.records.masking import mask_slots

if TYPE_CHECKING:
    from vtm.kiosk.bootstrap import KioskServices

__all__ = ["DialogManager"]

_log = logging.getLogger(__name__)
_GLOBAL = {"cancel", "repeat", "help", "ask_human", "switch_language", "goodbye"}
_GLOBAL_OVER_ANSWER = 0.8  # below this confidence, a value for the open question beats a global command
_MAX_STEPS = 40  # a definition that loops without asking anything is a bug, not a hang


class DialogManager:
    """Drives one :class:`Session` with the kiosk's services (bank, gate, NLU, devices, prompts)."""

    reconfirm_factor = AuthFactor.PIN_RECONFIRMED

    def __init__(self, services: KioskServices, session: Session, today: date | None = None) -> None:
        self.services = services
        self.session = session
        self.today = today
        self.core = services.core
        self.gate = services.gate
        self.journal = services.journal
        self.devices = services.devices
        self.guarded = GuardedCoreBanking(services.core, services.gate, session.session_id,
                                          audit=services.audit, clock=services.clock)
        self._rec = TurnRecord(turn=0)
        self._pending_said: list[tuple[str, dict[str, Any]]] = []
        self._turn_meta: dict[str, Any] = {}
        self._closed = False
        self._defer = False
        self._deferred: tuple[TurnRecord, dict[str, Any]] | None = None
        if services.recorder is not None:
            services.recorder.opened(session)

    # Public API ----------------------------------------------------------------------------
    def start(self) -> TurnRecord:
        rec = self._begin()
        self.say("session.welcome")
        return self._end(rec)

    def handle_text(self, text: str, asr_confidence: float | None = None, audio_path: str | None = None) -> TurnRecord:
        rec = self._begin(user=text)
        self._turn_meta = {"asr_confidence": asr_confidence, "audio_path": audio_path}
        session = self.session
        if session.ended:
            return self._end(rec)  # handed off or said goodbye: the kiosk no longer acts on speech
        session.silence_count = 0
        with self._isolated():
            self._text_turn(rec, text)
        return self._end(rec)

    def _text_turn(self, rec: TurnRecord, text: str) -> None:
        session = self.session
        started = time.perf_counter()
        nlu = self.services.nlu.parse(text, lang=session.lang, today=self.local_today())
        rec.latency_ms["nlu"] = (time.perf_counter() - started) * 1000
        rec.intent, rec.confidence = nlu.intent, nlu.confidence
        if session.pending and session.pending.awaiting in (Awaiting.PIN, Awaiting.PIN_AGAIN) \
                and sum(c.isdigit() for c in text) >= 4:
            # A PIN must never be spoken aloud or kept in a transcript.
            rec.user = "******"
            self.say("auth.enter_pin")
            return
        session.remember_utterance(text)
        if self.services.phrases.matches("elderly", text):
            if not session.elderly:
                session.elderly = True
                self.say("session.elderly_on")
            flow = session.flow
            if flow is not None and session.pending is None and flow.spec.kind is StateKind.CONFIRM:
                repair.reprompt(self)  # "说慢一点" at a read-back asks to hear it again: it is no unclear answer
                return
        self._route(nlu, text)
        if not any(key.startswith("repair.no_match") for key, _ in self._pending_said):
            session.no_match_count = 0  # only consecutive misses lead to the offer of a person

    def handle_device(self, command: Any) -> TurnRecord:
        rec = self._begin(device=str(command))
        from vtm.dialog.device_events import handle_device_event
        from vtm.records.recorder import raw_device_line

        self._turn_meta = {"device_raw": raw_device_line(command)}
        if self.session.ended and not isinstance(command, TakeCard | TakeReceipt):
            return self._end(rec)  # after the end only taking the card or receipt still happens

        with self._isolated():
            handle_device_event(self, command)
        return self._end(rec)

    # Helpers used by operations and device handling ------------------------------------------
    def now(self) -> datetime:
        return self.services.clock()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.services.timezone)

    def local_today(self) -> date:
        return self.today or self.local(self.now()).date()

    def render(self, key: str, **values: Any) -> str:
        return self.services.prompts.render(key, self.session.lang, self.session.elderly, values)

    def is_question(self, text: str) -> bool:
        """A question asking for information rather than a request ("能撤回吗？" vs "can you block it?"):
        a question word, or a question mark / yes-no particle without a polite-request cue (dialogs/dialog.yaml)."""
        phrases = self.services.phrases
        if phrases.matches("question_cues", text):
            return True
        asks = "?" in text or "？" in text or phrases.matches("yes_no_cues", text)
        return asks and not phrases.matches("request_cues", text)

    def say_text(self, key: str, text: str) -> None:
        """Say content that is not a prompt (a knowledge answer); ``key`` labels it in the record."""
        self._rec.replies.append(Reply(key, text, True))

    def repeat_question(self) -> None:
        """Ask the open question again (after a digression answered in passing)."""
        repair.reprompt(self)

    def say(self, key: str, interruptible: bool = True, **values: Any) -> None:
        self._rec.replies.append(Reply(key, self.render(key, **values), interruptible))
        self._pending_said.append((key, values))
        self.session.heard[key] = self.now()

    def resume(self) -> TurnRecord:
        """A recorded turn that only runs the transaction on (for drivers other than speech and devices)."""
        return self.record_turn(self._advance)

    def record_turn(self, step: Callable[[], None]) -> TurnRecord:
        """Run ``step`` as one recorded turn (replies, verdicts, operations, latency)."""
        rec = self._begin()
        with self._isolated():
            step()
        return self._end(rec)

    @contextmanager
    def _isolated(self) -> Iterator[None]:
        """One turn's unexpected error must not end the customer's session or lose its record.

        The customer hears an apology and an offer of a person; the error becomes an incident in
        the turn record and the audit chain (with its id, so staff find the log line); the session
        state is kept as it was when the error struck, so a person can take over where it stopped.
        Money is safe by construction: a movement needs a permit and a journal entry written first.
        """
        try:
            yield
        except Exception as exc:  # isolate the turn: the error is logged and recorded below
            incident = f"INC-{uuid.uuid4().hex[:12]}"
            _log.exception("turn failed incident=%s session=%s turn=%s", incident, self.session.session_id,
                           self.session.turn)
            detail = {"incident": incident, "error": type(exc).__name__, "turn": self.session.turn,
                      "state": f"{self.session.flow.name}.{self.session.flow.state}" if self.session.flow else "idle"}
            self._rec.operations.append({"operation": "incident", "key": incident, "result": type(exc).__name__})
            try:
                self.services.audit.append("incident", detail, session_id=self.session.session_id)
            except Exception:  # a failing records store must not silence the customer
                _log.exception("incident not audited incident=%s", incident)
            self.session.pending = Pending(Awaiting.HANDOFF_CONFIRM, {"reason": "incident"})
            self._rec.replies.append(Reply("error.unexpected", self.render("error.unexpected"), True))
            self._pending_said.append(("error.unexpected", {}))

    def advance(self) -> None:
        """Run the transaction on until it needs the customer (used after a verification)."""
        self._advance()

    def fail_flow(self) -> None:
        """End the running transaction as refused (a blocked card, an ID that does not match)."""
        flow = self.session.flow
        if flow is not None and not flow.finished:
            flow.facts["denied"] = True
            flow.fire("cancel")
            self._finish_flow(flow)

    @property
    def current_record(self) -> TurnRecord:
        """The record of the turn being handled (repair adds its hand-off summary to it)."""
        return self._rec

    @property
    def said_this_turn(self) -> bool:
        return bool(self._pending_said)

    def record_operation(self, name: str, key: str | None, result: str) -> None:
        self._rec.operations.append({"operation": name, "key": key, "result": result})

    def flow_required(self) -> Flow:
        if self.session.flow is None:
            raise RuntimeError("no transaction is running")
        return self.session.flow

    def own_account_required(self) -> str:
        account = gate_context.own_account(self.session, self.core)
        if account is None:
            raise RuntimeError("no inserted card to take the money from")
        return account

    def customer_email(self) -> str | None:
        return self.services.customer_email(self.session.customer_id)

    def policy_days(self, name: str) -> int:
        return int(self.services.bank_policy.get(name, 0))

    # Turn bookkeeping ----------------------------------------------------------------------
    def _begin(self, user: str | None = None, device: str | None = None) -> TurnRecord:
        self.session.turn += 1
        self.session.last_activity_at = self.now()
        self._rec = TurnRecord(turn=self.session.turn, user=user, device=device)
        self._pending_said = []
        self._t0 = time.perf_counter()
        return self._rec

    def _end(self, rec: TurnRecord) -> TurnRecord:
        flow = self.session.flow
        rec.state = "ended" if self.session.ended else (f"{flow.name}.{flow.state}" if flow else "idle")
        rec.slots = {k: jsonable(v) for k, v in mask_slots(flow.slots).items() if v is not None} if flow else {}
        if self._pending_said:
            self.session.last_prompts = list(self._pending_said)
        rec.latency_ms["turn"] = (time.perf_counter() - self._t0) * 1000
        if self._defer:
            self._deferred, self._defer = (rec, self._turn_meta), False
        else:
            self._store(rec, self._turn_meta)
        self._turn_meta = {}
        return rec

    def defer_recording(self) -> None:
        """Keep the next turn out of the session store until :meth:`commit_turn` (the voice front end
        adds speech latencies and the reply audio after the dialog has answered)."""
        self._defer = True

    def commit_turn(self) -> None:
        """Store the turn kept back by :meth:`defer_recording`, with whatever was added to it since."""
        if self._deferred is not None:
            rec, meta = self._deferred
            self._deferred = None
            self._store(rec, meta)

    def not_understood(self, reason: str, asr_confidence: float | None = None,
                       audio_path: str | None = None) -> TurnRecord:
        """Speech was heard but not recognised well enough to act on: ask again, never guess."""
        rec = self._begin(device=f"unrecognised speech ({reason})")
        self._turn_meta = {"asr_confidence": asr_confidence, "audio_path": audio_path}
        flow = self.session.flow
        with self._isolated():
            if flow is not None and not self.session.ended and self.session.pending is None \
                    and flow.spec.kind is StateKind.CONFIRM:
                self.unclear_read_back(flow)  # a mumble at a read-back is never a yes
            elif not self.session.ended:
                repair.no_match(self)
        return self._end(rec)

    def _store(self, rec: TurnRecord, meta: dict[str, Any]) -> None:
        recorder = self.services.recorder
        if recorder is None:
            return
        recorder.turn(self.session, rec, self._known_names(), **meta)
        if self.session.ended and not self._closed:
            self.close()

    def close(self) -> None:
        """Record the session's end (the kiosk calls it when the customer leaves or the program stops)."""
        if self.services.recorder is not None and not self._closed:
            self._closed = True
            self.services.recorder.closed(self.session)

    def _known_names(self) -> list[str]:
        """Names to mask in the record: the customer's and every payee named in this session."""
        flows = [f for f in (self.session.flow, *self.session.stack) if f is not None]
        names = [self.session.customer_name, *(f.slots.get("payee_name") for f in flows)]
        return [str(n) for n in names if n]

    # Routing -------------------------------------------------------------------------------
    def _route(self, nlu: NluResult, text: str) -> None:
        session, intent = self.session, nlu.intent
        # "不取消" / "取消吧" answer "cancel it?" itself: the question comes before the global "cancel".
        confirming_cancel = session.pending is not None and session.pending.awaiting is Awaiting.CANCEL_CONFIRM
        if session.pending is not None and session.pending.detail.get("face_alternative") \
                and self.services.phrases.matches("face", text):
            from vtm.dialog.device_events import offer_face

            offer_face(self)  # "can I use my face instead?" answers the PIN request, whatever else it sounds like
            return
        flow = session.flow
        if session.pending is None and flow is not None and flow.spec.kind is StateKind.COLLECT \
                and self._collect_shortcut(flow, text):
            return  # "都行" / "I don't mind" answers the open choice, whatever else the classifier heard
        answers_open_question = session.pending is None and flow is not None \
            and self._answers_question(flow, nlu, text) and nlu.confidence < _GLOBAL_OVER_ANSWER
        if intent in _GLOBAL and not (confirming_cancel and intent == "cancel") and not answers_open_question \
                and self._global(intent, nlu):
            return  # ("先挂着吧" gives the loss kind asked for, even if the classifier leans to "cancel")
        if session.pending is not None and self._answer_pending(nlu, text):
            return
        if session.flow is None and self._follow_up(nlu):
            return
        txn = self.services.transaction_for_intent(intent)
        asks = self.services.phrases.matches("how_to_cues", text) or self.is_question(text)
        if txn is not None and session.flow is None and asks \
                and not self.services.definitions[txn].question_is_request \
                and knowledge.answer_question(self, text, offer=txn, quiet_decline=True):
            return  # "怎么挂失？": a one-sentence answer and the offer to do it now
        if txn is not None and (session.flow is None or session.flow.name != txn) \
                and not (session.flow is not None and self._answers_question(session.flow, nlu, text)):
            self._start_flow(txn, nlu)
            return
        if session.flow is None:
            self._idle(nlu, text)
            return
        self._in_flow(session.flow, nlu, text)

    def _global(self, intent: str, nlu: NluResult) -> bool:
        session = self.session
        if intent == "repeat":
            if not session.last_prompts:
                self.say("session.nothing_to_repeat")
            for key, values in session.last_prompts:
                self.say(key, **values)
            self._pending_said = list(session.last_prompts)
        elif intent == "help":
            if self.is_question(nlu.text) and knowledge.answer_question(
                    self, nlu.text, quiet_decline=True, in_flow=session.flow is not None):
                return True  # "I forgot my PIN, what should I do?" is a question with an answer, not "help"
            if session.flow is None or not self._propose_default(session.flow):
                repair.help_in_context(self)
        elif intent == "ask_human":
            repair.handoff(self, "handoff.start", reason="customer_asked")
        elif intent == "switch_language":
            wanted = next((str(e.value) for e in nlu.slots if e.name == "language"), None)
            session.lang = _lang(wanted) if wanted else ("en" if session.lang == "zh" else "zh")
            self.say("session.language_switched")
            for key, values in session.last_prompts:
                if not key.startswith("session.language"):
                    self.say(key, **values)
        elif intent == "cancel":
            if session.flow is None:
                return self._global("goodbye", nlu)
            kind = session.flow.spec.kind
            if session.pending is None and kind is StateKind.OFFER:
                return False  # "no, cancel that" to an offer declines the offer; the work done stays done
            if session.pending is None and kind is StateKind.CONFIRM and session.flow.definition.cancel_confirms:
                return False  # "yes, cancel it" confirms a revocation
            session.pending = Pending(Awaiting.CANCEL_CONFIRM)
            self.say("repair.cancel_confirm", title=self._title(session.flow))
        elif intent == "goodbye":
            if session.flow is not None and not session.flow.finished:
                return False  # "bye" in the middle of a transfer is answered by the flow (no-match)
            repair.end_session(self)
        return True

    def _answer_pending(self, nlu: NluResult, text: str) -> bool:
        session, pending = self.session, self.session.pending
        assert pending is not None
        yes, no = nlu.intent == "affirm", nlu.intent in ("deny", "cancel")
        if pending.awaiting is Awaiting.CANCEL_CONFIRM:
            session.pending = None
            if session.flow is None or session.flow.finished:
                return False  # the transaction ended meanwhile (a verdict, a device): nothing left to cancel
            keep = self.services.phrases.matches("keep_going", text)
            yes, no = (False, True) if keep else (nlu.intent in ("affirm", "cancel"), nlu.intent == "deny")
            if yes:
                self.cancel_flow()
            elif no:
                self.say("repair.cancel_kept", title=self._title(self.flow_required()))
                self._advance()
            else:
                return False
            return True
        if pending.awaiting is Awaiting.ACKNOWLEDGE:
            if self.services.confirmation.acknowledges(text, self.session.lang) is not None:  # never a mumble
                session.acknowledged.update(pending.detail["keys"])
                session.pending = None
                self._advance()
            elif no:
                session.pending = None
                self.cancel_flow()
            else:
                self.say("repair.ack_needed")
            return True
        if pending.awaiting is Awaiting.HANDOFF_CONFIRM:
            session.pending = None
            if yes:
                repair.handoff(self, "handoff.start", reason=pending.detail.get("reason", "repair"))
                return True
            session.no_match_count = session.silence_count = 0
            if no:
                repair.reprompt(self)
                return True
            return False
        if pending.awaiting is Awaiting.FACE_CONSENT:
            from vtm.dialog.device_events import answer_face_consent

            if yes or no:
                answer_face_consent(self, yes)
                return True
            return False
        if pending.awaiting is Awaiting.OFFER_TRANSACTION:
            session.pending = None
            if yes or self.explicit_yes(text, None) is not None:
                self._start_flow(pending.detail["transaction"], nlu)
            elif no:
                self.say("session.anything_else")
            else:
                return False
            return True
        if pending.awaiting is Awaiting.PROPOSAL:
            session.pending = None
            flow = session.flow
            if flow is None or pending.detail["slot"] not in flow.missing_slots():
                return False  # the transaction moved on (or another one runs now): an ordinary answer
            slot = flow.definition.slot(pending.detail["slot"])
            if yes or self.explicit_yes(text, None) is not None:
                self._take_default(flow, slot)
            elif no:
                self.say(slot.prompt, **self.prompt_values(flow))
            else:
                return False  # an answer in other words: handled as an answer to the question itself
            return True
        if pending.awaiting is Awaiting.WHAT_TO_CHANGE:
            session.pending = None
            return False  # the answer is an ordinary slot answer in the confirm state
        if pending.awaiting in DEVICE_PROMPTS:
            if self.services.phrases.matches("face", text):
                from vtm.dialog.device_events import offer_face

                offer_face(self)
                return True
            txn = self.services.transaction_for_intent(nlu.intent)
            if txn is not None and self.session.flow is not None and txn != self.session.flow.name:
                return False  # a digression may start before the verification
            self.say(DEVICE_PROMPTS[pending.awaiting])
            return True
        return False

    def _answers_question(self, flow: Flow, nlu: NluResult, text: str) -> bool:
        """Does the utterance give a value for what the running transaction is asking right now?

        An answer to the question asked wins over a new transaction the classifier heard in it
        ("示例银行" is a bank name, not a request for a statement); a real digression names no
        value the current step needs.
        """
        if flow.spec.kind is not StateKind.COLLECT:
            return False
        wanted = {flow.definition.slot(name).type for name in flow.missing_slots()}
        if "payee_bank" in wanted and self.services.phrases.matches("own_bank", text):
            return True
        return any(slot_type in wanted for slot_type in slot_types_filled_by(nlu))

    def _idle(self, nlu: NluResult, text: str) -> None:
        if (nlu.intent == "out_of_scope" or self.is_question(text)) \
                and knowledge.answer_question(self, text, quiet_decline=not self.is_question(text)):
            return  # a question it cannot answer offers a person; a remark it cannot place is a plain miss
        if nlu.intent == "greeting":
            self.say("session.greeting")
        elif nlu.intent in ("deny", "goodbye") or self.services.phrases.matches("nothing_else", text):
            repair.end_session(self)
        else:
            repair.no_match(self)

    def _in_flow(self, flow: Flow, nlu: NluResult, text: str) -> None:
        kind = flow.spec.kind
        if kind is StateKind.CONFIRM:
            said = self.explicit_yes(text, flow)
            if said is not None:
                self.confirm_read_back(flow, "phrase", said)
                return
            if nlu.intent == "deny" and not nlu.slots:
                self.session.pending = Pending(Awaiting.WHAT_TO_CHANGE)
                self.say("repair.what_to_change")
                return
        if kind is StateKind.OFFER:
            # "要打印" answers "shall I print a receipt?" with the action itself: that is a yes.
            wants_print = any(e.name == "delivery" and e.value == "print" for e in nlu.slots)
            answer = "affirm" if wants_print and nlu.intent in ("inform", "out_of_scope") else nlu.intent
            answer = "deny" if answer == "cancel" else answer
            if answer not in ("affirm", "deny"):
                # A yes/no question answered in other words ("no replacement for now, thanks"): the
                # offer's context decides, from phrase lists in dialogs/dialog.yaml; refusals first.
                if self.services.phrases.matches("decline_offer", text):
                    answer = "deny"
                elif self.services.phrases.matches("accept_offer", text):
                    answer = "affirm"
            if answer in ("affirm", "deny"):
                flow.fire(answer)
                self._progress()
                return
        # While a question is open, an answer to it fills only unanswered slots: a misheard number ("24 hour"
        # heard as "20") must not silently replace an amount already given. An utterance that does not answer
        # the question may correct an earlier answer (asked for the account, the customer repeats the payee).
        filled, problems = fill_slots(flow, nlu, self.session, self.core, only_missing=kind is StateKind.COLLECT)
        if kind is StateKind.COLLECT and not problems and not set(filled) & set(flow.spec.slots):
            filled, problems = fill_slots(flow, nlu, self.session, self.core)
        if not filled and "payee_bank" in flow.missing_slots() and self.services.phrases.matches("own_bank", text):
            flow.slots["payee_bank"] = OWN_BANK
            filled = ["payee_bank"]
        if not filled and not problems and kind is StateKind.COLLECT and flow.missing_slots() == ["payee_name"]:
            name = guess_bare_name(text)
            if name:
                flow.slots["payee_name"] = name
                filled = ["payee_name"]
        if "arrival" in filled:
            flow.facts["arrival_chosen_at"] = self.now()
        for problem in problems[:1]:
            self.say(problem.key(self.services.prompts), **problem.values)
        if not filled:
            if not problems and kind is StateKind.CONFIRM:
                self.unclear_read_back(flow)
            elif not problems and not self._propose_default(flow) and not (
                    (nlu.intent == "out_of_scope" or self.is_question(text))
                    and knowledge.answer_question(self, text, in_flow=True)):
                repair.no_match(self)
            return
        if kind is StateKind.CONFIRM:
            for fact in ("confirmed_at", "confirmation", "unclear_answers"):
                flow.facts.pop(fact, None)
            flow.fire("revise")
        self._progress()

    # Answers in context ----------------------------------------------------------------------
    def _collect_shortcut(self, flow: Flow, text: str) -> bool:
        """Answers that name no value: "都行" takes the slot's default, "卡不在身上" hears the other ways."""
        missing = flow.missing_slots()
        if not missing:
            return False
        slot = flow.definition.slot(missing[0])
        if slot.default is not None and self.services.phrases.matches("any_choice", text):
            self._take_default(flow, slot)
            return True
        if slot.unavailable_prompt is not None and self.services.phrases.matches("not_with_me", text):
            self.say(slot.unavailable_prompt)
            return True
        return False

    def _take_default(self, flow: Flow, slot: SlotSpec) -> None:
        flow.slots[slot.name] = slot.default
        if slot.type == "arrival":
            flow.facts["arrival_chosen_at"] = self.now()
        if slot.default_prompt is not None:
            self.say(slot.default_prompt)
        self._progress()

    def _propose_default(self, flow: Flow) -> bool:
        """For an elderly customer, a miss at a choice turns the either/or into a yes/no proposal."""
        missing = flow.missing_slots() if flow.spec.kind is StateKind.COLLECT else []
        if not self.session.elderly or not missing:
            return False
        slot = flow.definition.slot(missing[0])
        if slot.propose_prompt is None:
            return False
        self.session.no_match_count += 1
        self.session.pending = Pending(Awaiting.PROPOSAL, {"slot": slot.name})
        self.say(slot.propose_prompt)
        return True

    def _follow_up(self, nlu: NluResult) -> bool:
        """Right after a transaction, "打印出来吧" (a new value for one of its ``follow_up_slots``) does it again
        with that value and the others kept."""
        done = self.session.transactions_done
        definition = self.services.definitions.get(done[-1]) if done else None
        if definition is None or not definition.follow_up_slots:
            return False
        intent_txn = self.services.transaction_for_intent(nlu.intent)
        if intent_txn is not None and intent_txn != definition.name:
            return False  # a request for another transaction
        flow = Flow(definition, slots=dict(self.session.finished_slots.get(definition.name, {})))
        before = dict(flow.slots)
        filled, problems = fill_slots(flow, nlu, self.session, self.core)
        changed = [name for name in filled if flow.slots.get(name) != before.get(name)]
        if problems or not changed or not set(changed) <= set(definition.follow_up_slots):
            return False
        self.session.flow, self.session.pending = flow, None
        self.say("repair.follow_up", title=self._title(flow))
        self._progress()
        return True

    # Explicit consent ------------------------------------------------------------------------
    def explicit_yes(self, text: str, flow: Flow | None) -> str | None:
        """The phrase heard if ``text`` is an unmistakable yes (closed list), else None."""
        lang = self.session.lang
        extra = flow.definition.confirm_phrases_for(lang) if flow is not None else []
        return self.services.confirmation.match(text, lang, extra)

    def confirm_read_back(self, flow: Flow, method: str, said: str | None) -> None:
        """The read-back was confirmed explicitly (a phrase from the yes-list, or the confirm button)."""
        now = self.now()
        flow.facts["confirmed_at"] = now
        flow.facts["confirmation"] = {"method": method, "said": said, "at": now}
        flow.facts.pop("unclear_answers", None)
        flow.fire("affirm")
        self._progress()

    def unclear_read_back(self, flow: Flow) -> None:
        """Not a yes, not a no, not a correction: ask again; the second time, offer to cancel."""
        count = int(flow.facts.get("unclear_answers", 0)) + 1
        flow.facts["unclear_answers"] = count
        if count >= 2:
            flow.facts["unclear_answers"] = 0
            self.session.pending = Pending(Awaiting.CANCEL_CONFIRM)
            self.say("confirm.unclear_cancel", title=self._title(flow))
            return
        self.say("confirm.unclear")
        assert flow.spec.prompt is not None
        self.say(flow.spec.prompt, **confirm_values(self, flow))

    # Advancing the machine -----------------------------------------------------------------
    def _progress(self) -> None:
        self.session.no_match_count = 0
        self._advance()

    def _advance(self) -> None:
        for _ in range(_MAX_STEPS):
            flow = self.session.flow
            if flow is None or self.session.pending is not None or self.session.ended:
                return
            spec = flow.spec
            if spec.kind is StateKind.FINAL:
                self._finish_flow(flow)  # resumes (and advances) an interrupted transaction itself
                return
            self._prefill(flow)
            verdict = self._check(spec.checkpoint, flow) if spec.checkpoint else None
            if verdict is not None and self._retry(verdict, flow):
                continue
            if verdict is not None and not self._obey(verdict, flow):
                return
            if spec.kind is StateKind.COLLECT:
                missing = flow.missing_slots()
                if missing:
                    slot = flow.definition.slot(missing[0])
                    self.say(slot.prompt, **self.prompt_values(flow))
                    if not slot.ask:  # nothing the customer could say fills it: the transaction cannot go on
                        flow.fire("fail")
                        continue
                    return
                flow.fire("proceed")
            elif spec.kind is StateKind.OPERATION:
                assert spec.operation is not None
                started = time.perf_counter()
                event = OPERATIONS[spec.operation](self, verdict.permit if verdict else None)
                elapsed_ms = (time.perf_counter() - started) * 1000
                self._rec.latency_ms["core"] = self._rec.latency_ms.get("core", 0) + elapsed_ms
                flow.fire(event)
            else:  # confirm and offer: say it and wait for the customer
                assert spec.prompt is not None
                self.say(spec.prompt, **confirm_values(self, flow))
                return
        raise RuntimeError(f"transaction {self.session.flow.name if self.session.flow else '?'} did not settle")

    def _prefill(self, flow: Flow) -> None:
        name = flow.slots.get("payee_name")
        if name and not flow.slots.get("account_number") and flow.facts.get("payee_lookup_for") != name:
            resolve_saved_payee(flow, self.session, self.core)
        for slot in flow.definition.slots:
            if flow.slots.get(slot.name) is None and slot.default_from:
                value = self.session_fact(slot.default_from)
                if value is not None:
                    flow.slots[slot.name] = value

    def session_fact(self, name: str) -> Any:
        """The value of a ``default_from`` session fact named in a transaction definition."""
        if name == "inserted_card":
            return self.session.card_number
        if name == "inserted_account":
            return gate_context.own_account(self.session, self.core)
        if name == "last_delayed_transfer":
            pending = self.session.delayed_transfers or self._pending_at_core()
            return pending[-1]["reference"] if pending else None
        raise KeyError(f"unknown session fact {name!r} in a transaction definition")

    def _pending_at_core(self) -> list[dict[str, Any]]:
        """Delayed transfers made in earlier visits, once the customer is known (revocable until they execute)."""
        if self.session.customer_id is None:
            return []
        try:
            found = self.core.pending_transfers(self.session.customer_id)
        except CoreBankingError:
            return []
        self.session.delayed_transfers = [
            {"reference": t.reference, "amount": t.amount, "execute_at": t.execute_at, "to_account": t.to_account}
            for t in found if t.execute_at is not None
        ]
        return self.session.delayed_transfers

    def _check(self, checkpoint: str, flow: Flow) -> Verdict:
        started = time.perf_counter()
        ctx = gate_context.build_context(self.session, flow, self.core, self.now())
        verdict = self.gate.check(checkpoint, ctx)
        self._rec.latency_ms["gate"] = self._rec.latency_ms.get("gate", 0) + (time.perf_counter() - started) * 1000
        if verdict.outcome is not Outcome.ALLOW or verdict.hits:
            self._rec.verdicts.append({
                "checkpoint": checkpoint, "outcome": verdict.outcome.value,
                "rules": [h.rule_id for h in verdict.hits], "reasons": [h.reason_code for h in verdict.hits],
                "policy_version": verdict.policy_version[:12],
            })
        return verdict

    def _retry(self, verdict: Verdict, flow: Flow) -> bool:
        """A deny about a value the customer can change (``retry_on``): say why, forget the value, ask again."""
        spec = flow.spec
        hits = verdict.blocking_hits
        if verdict.outcome is not Outcome.DENY or not spec.retry_on or not hits \
                or any(h.reason_code not in spec.retry_on for h in hits) \
                or all(flow.slots.get(slot) is None for slot in spec.slots):
            return False  # nothing the customer said is to blame: the deny stands
        for key in verdict.prompt_keys:
            self.say(key)
        for slot in spec.slots:
            flow.slots[slot] = None
        return True

    def _obey(self, verdict: Verdict, flow: Flow) -> bool:
        """Act on a verdict; True means the state may act now."""
        outcome = verdict.outcome
        if outcome is Outcome.ALLOW:
            return True
        if outcome is Outcome.WARN:
            keys = [k for k in verdict.prompt_keys if k not in self.session.acknowledged]
            self.say("gate.warn_intro")
            for key in keys:
                self.say(key, interruptible=not verdict.non_interruptible)
            self.session.pending = Pending(Awaiting.ACKNOWLEDGE, {"keys": keys})
            self.say("repair.ack_needed")
            return False
        if outcome is Outcome.STEP_UP:
            from vtm.dialog.device_events import request_verification

            request_verification(self, verdict)
            return False
        reasons = " ".join(self.render(k) for k in verdict.prompt_keys)
        if outcome is Outcome.REFER:
            if reasons:
                self._rec.replies.append(Reply("gate.refer", reasons))
            repair.handoff(self, "handoff.refer", reason="gate_refer")
            return False
        flow.facts["denied"] = True
        self.say("gate.denied", reason=reasons)
        flow.fire("cancel")
        self._finish_flow(flow)
        return False

    def _finish_flow(self, flow: Flow) -> None:
        session = self.session
        outcome = FlowOutcome.DENIED if flow.facts.get("denied") else flow.spec.outcome
        if outcome is FlowOutcome.COMPLETED:
            session.transactions_done.append(flow.name)
            session.finished_slots[flow.name] = dict(flow.slots)
        self.record_operation("transaction_end", None, f"{flow.name}:{outcome.value if outcome else '?'}")
        session.flow = session.stack.pop() if session.stack else None
        if session.flow is not None:
            self.say("repair.resume", title=self._title(session.flow))
            self._advance()
        elif not session.ended and outcome is not FlowOutcome.CANCELLED:
            self.say("session.anything_else")

    def _start_flow(self, name: str, nlu: NluResult) -> None:
        session = self.session
        if session.flow is not None and not session.flow.finished:
            session.stack.append(session.flow)
        session.pending = None
        flow = Flow(self.services.definitions[name])
        session.flow = flow
        fill_slots(flow, nlu, session, self.core)
        self._progress()

    def cancel_flow(self) -> None:
        """Abandon the running transaction (nothing it has not done yet will happen)."""
        flow = self.flow_required()
        title = self._title(flow)
        flow.fire("cancel")
        self.say("repair.cancelled", title=title)
        self._finish_flow(flow)
        if self.session.flow is None and not self.session.ended:
            self.say("session.anything_else")

    # Prompt values ---------------------------------------------------------------------------
    def _title(self, flow: Flow) -> str:
        return flow.definition.title[self.session.lang]

    def prompt_values(self, flow: Flow) -> dict[str, Any]:
        """Placeholder values for a collect state's question."""
        values: dict[str, Any] = {"payee_name": flow.slots.get("payee_name") or "",
                                  "days": self.policy_days("temporary_loss_days"), "email_option": ""}
        if "delivery" in flow.missing_slots() and self.customer_email():
            values["email_option"] = self.render("statement.email_option")  # offered only with an email on file
        return values


def _lang(value: str) -> Lang:
    return "en" if value.lower().startswith("en") else "zh"

