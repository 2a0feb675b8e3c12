"""What the dialog needs from the rest of the kiosk, as protocols it owns.

:func:`vtm.kiosk.bootstrap.bootstrap` builds the real implementations (the core bank adapter, the
gate with the policy pack, the NLU model, the records database); tests build them the same way or
pass small fakes. Nothing here imports the kiosk, the records store or a device driver: the
dialog depends on these shapes only (the layering is checked by ``lint-imports``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

from vtm.audit import AuditLog
from vtm.banking.port import CoreBanking
from vtm.compliance.gate import Gate
from vtm.devices import Devices
from vtm.dialog.actions import ActionPerformer
from vtm.dialog.confirmation import ExplicitYes
from vtm.dialog.prompts import Lang, PromptCatalog
from vtm.flows.definition import TransactionDefinition
from vtm.nlu.types import NluResult, SlotName

if TYPE_CHECKING:
    from vtm.dialog.session import Session
    from vtm.dialog.turn import TurnRecord
    from vtm.knowledge import Answer, Decline

__all__ = ["DialogServices", "Journal", "KnowledgeAnswers", "Parser", "PhraseLists", "SessionRecorder"]


class Parser(Protocol):
    def parse(self, text: str, lang: Lang | None = None, today: date | None = None) -> NluResult: ...


class PhraseLists(Protocol):
    """Named phrase lists of ``dialogs/dialog.yaml`` (matched after normalisation)."""

    def matches(self, name: str, text: str) -> bool: ...


class Journal(Protocol):
    """The operation journal: written before a core call and finished after it (``vtm.records.journal``)."""

    def begin(self, key: str, session_id: str, operation: str, params: dict[str, Any]) -> None: ...

    def finish(self, key: str, status: Any, result: dict[str, Any] | None = None) -> None: ...


class SessionRecorder(Protocol):
    """Stores each session and turn (masked) for staff review."""

    def opened(self, session: Session) -> None: ...

    def turn(self, session: Session, record: TurnRecord, names: list[str], *, audio_path: str | None = None,
             asr_confidence: float | None = None, device_raw: str | None = None) -> None: ...

    def closed(self, session: Session) -> None: ...


class KnowledgeAnswers(Protocol):
    """What the dialog needs of the knowledge base (:class:`vtm.knowledge.KnowledgeBase` fits)."""

    def ask(self, text: str, lang: str | None = None) -> Answer | Decline: ...


class DialogServices(Protocol):
    """The kiosk's collaborators, as one dialog session sees them (read-only: the dialog never swaps them).

    ``devices`` is read only for what was inserted, typed or scanned; device *actions* are returned
    (:mod:`vtm.dialog.actions`) and performed by ``perform_actions`` (None leaves them to the caller).
    """

    @property
    def core(self) -> CoreBanking: ...

    @property
    def gate(self) -> Gate: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def nlu(self) -> Parser: ...

    @property
    def prompts(self) -> PromptCatalog: ...

    @property
    def definitions(self) -> dict[str, TransactionDefinition]: ...

    @property
    def devices(self) -> Devices: ...

    @property
    def phrases(self) -> PhraseLists: ...

    @property
    def confirmation(self) -> ExplicitYes: ...

    @property
    def bank_policy(self) -> Mapping[str, int]: ...

    @property
    def idle_reset_s(self) -> float: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def timezone(self) -> tzinfo: ...

    @property
    def recorder(self) -> SessionRecorder | None: ...

    @property
    def knowledge(self) -> KnowledgeAnswers | None: ...

    @property
    def slot_types(self) -> Mapping[str, Sequence[SlotName]]: ...

    @property
    def perform_actions(self) -> ActionPerformer | None: ...


    def transaction_for_intent(self, intent: str) -> str | None: ...

    def customer_email(self, customer_id: str | None) -> str | None: ...
