"""The turn context: everything one turn's policies and transaction plug-ins work with.

A :class:`TurnContext` is made for each turn by the facade (:class:`~vtm.dialog.manager.DialogManager`)
and thrown away after it. It holds the session (the state that lasts), the services (the kiosk's
collaborators), and the turn's own output: replies, device actions, verdicts, operations and
latencies in its :class:`~vtm.dialog.turn.TurnRecord`. Policies change the session and add to the
record through it; nothing here performs a device action or stores anything.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from vtm.banking.errors import CoreBankingError
from vtm.banking.port import CoreBanking
from vtm.compliance.guarded import GuardedCoreBanking
from vtm.dialog.actions import Action
from vtm.dialog.services import DialogServices, PhraseLists
from vtm.dialog.session import Session
from vtm.dialog.turn import Reply, TurnRecord
from vtm.flows.machine import Flow

__all__ = ["TurnContext"]


class TurnContext:
    def __init__(self, services: DialogServices, session: Session, record: TurnRecord,
                 guarded: GuardedCoreBanking, today: date | None = None) -> None:
        self.services = services
        self.session = session
        self.record = record
        self.guarded = guarded  # the core bank for movements: every call needs the gate's permit
        self.said: list[tuple[str, dict[str, Any]]] = []  # prompt keys said this turn (for "repeat")
        self._today = today

    # Shortcuts to collaborators ----------------------------------------------------------------
    @property
    def core(self) -> CoreBanking:
        return self.services.core

    @property
    def phrases(self) -> PhraseLists:
        return self.services.phrases

    # Time -------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.services.clock()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.services.timezone)

    def local_today(self) -> date:
        return self._today or self.local(self.now()).date()

    # What the kiosk says and does -------------------------------------------------------------
    def render(self, key: str, **values: Any) -> str:
        return self.services.prompts.render(key, self.session.lang, self.session.elderly, values)

    def say(self, key: str, interruptible: bool = True, **values: Any) -> None:
        self.record.replies.append(Reply(key, self.render(key, **values), interruptible))
        self.said.append((key, values))
        self.session.heard[key] = self.now()

    def say_text(self, key: str, text: str) -> None:
        """Say content that is not a prompt (a knowledge answer); ``key`` labels it in the record."""
        self.record.replies.append(Reply(key, text, True))

    def act(self, action: Action) -> None:
        """Ask the kiosk's hardware to do something after this turn (retain the card, print)."""
        self.record.actions.append(action)

    def record_operation(self, name: str, key: str | None, result: str, **extra: Any) -> dict[str, Any]:
        entry = {"operation": name, "key": key, "result": result, **extra}
        self.record.operations.append(entry)
        return entry

    @property
    def said_this_turn(self) -> bool:
        return bool(self.said)

    # Reading the customer ---------------------------------------------------------------------
    def is_question(self, text: str) -> bool:
        """A question asking for information rather than a request ("能撤回吗？" vs "can you block it?"):
        a question word, or a question mark / yes-no particle without a polite-request cue (dialogs/dialog.yaml)."""
        phrases = self.services.phrases
        if phrases.matches("question_cues", text):
            return True
        asks = "?" in text or "？" in text or phrases.matches("yes_no_cues", text)
        return asks and not phrases.matches("request_cues", text)

    # The running transaction ------------------------------------------------------------------
    def flow_required(self) -> Flow:
        if self.session.flow is None:
            raise RuntimeError("no transaction is running")
        return self.session.flow

    def title(self, flow: Flow) -> str:
        return flow.definition.title[self.session.lang]

    def own_account(self) -> str | None:
        """The account behind the inserted card (the source of transfers, statements and balances)."""
        if self.session.card_number is None:
            return None
        try:
            return self.services.core.card_status(self.session.card_number).account_number
        except CoreBankingError:
            return None

    def own_account_required(self) -> str:
        account = self.own_account()
        if account is None:
            raise RuntimeError("no inserted card to take the money from")
        return account

    def customer_email(self) -> str | None:
        return self.services.customer_email(self.session.customer_id)
