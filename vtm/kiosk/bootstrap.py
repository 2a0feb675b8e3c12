"""Wiring: build the kiosk's services from validated settings (the one place that knows them all).

Tests call :func:`bootstrap` with their own settings (a temporary data directory, a fixed clock)
and get the same real components the kiosk uses: the sandbox bank on SQLite, the compliance
gate with the policy pack, the NLU model, simulated devices.

Usage::

    services = bootstrap(load_settings())
    dm = DialogManager(services, services.new_session())
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import yaml
import zhconv
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vtm.banking.errors import CoreBankingError
from vtm.banking.port import CoreBanking
from vtm.compliance.gate import Gate
from vtm.compliance.pack import default_pack_path, load_pack
from vtm.config import Settings
from vtm.devices import Devices
from vtm.dialog.operations import OPERATIONS
from vtm.dialog.prompts import Lang, PromptCatalog
from vtm.dialog.session import Session
from vtm.flows.definition import TransactionDefinition, load_definitions
from vtm.flows.machine import GUARDS
from vtm.kiosk.recovery import recover_unfinished
from vtm.nlu.types import NluResult
from vtm.records.audit import AuditLog
from vtm.records.journal import OperationJournal
from vtm.records.recorder import SessionRecorder
from vtm.records.store import SessionStore

__all__ = ["KioskServices", "KioskSettingsError", "Phrases", "bootstrap"]

Clock = Callable[[], datetime]


class KioskSettingsError(Exception):
    """``dialogs/dialog.yaml`` is invalid; the message names the file and the field."""


class Parser(Protocol):
    def parse(self, text: str, lang: Lang | None = None, today: Any = None) -> NluResult: ...


def _squash(text: str) -> str:
    return "".join(zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn").lower().split())


class _DialogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    temporary_loss_days: int = Field(ge=1, le=60)
    idle_reset_seconds: float = Field(gt=0, le=3600)
    phrases: dict[str, list[str]]


@dataclass(frozen=True)
class Phrases:
    lists: dict[str, tuple[str, ...]]

    def matches(self, name: str, text: str) -> bool:
        squashed = _squash(text)
        return any(p in squashed for p in self.lists.get(name, ()))


@dataclass
class KioskServices:
    settings: Settings
    core: CoreBanking
    gate: Gate
    audit: AuditLog
    journal: OperationJournal
    nlu: Parser
    prompts: PromptCatalog
    definitions: dict[str, TransactionDefinition]
    devices: Devices
    phrases: Phrases
    bank_policy: dict[str, int]
    idle_reset_s: float
    clock: Clock
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    recorder: SessionRecorder | None = None

    def transaction_for_intent(self, intent: str) -> str | None:
        return next((d.name for d in self.definitions.values() if d.intent == intent), None)

    def customer_email(self, customer_id: str | None) -> str | None:
        if customer_id is None:
            return None
        try:
            return self.core.customer(customer_id).email
        except CoreBankingError:
            return None

    def new_session(self, lang: Lang | None = None) -> Session:
        now = self.clock()
        return Session(session_id=f"S-{uuid.uuid4().hex[:20]}", kiosk_id=self.settings.kiosk_id,
                       lang=lang or self.settings.language, started_at=now, last_activity_at=now)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _read_dialog_file(path: Path) -> _DialogFile:
    try:
        return _DialogFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise KioskSettingsError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        raise KioskSettingsError(f"{path}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc


def make_core(settings: Settings, clock: Clock) -> CoreBanking:
    """The core bank: over HTTP when ``VTM_BANK_URL`` is set, else the embedded sandbox."""
    if settings.bank_url:
        import httpx

        from vtm.banking.http_client import HttpCoreBanking

        return HttpCoreBanking(settings.bank_url, timeout=httpx.Timeout(settings.bank_timeout_s))
    from vtm.banking.sandbox import SandboxBank, create_bank_engine

    return SandboxBank(create_bank_engine(settings.bank_db_url), clock=clock)


def bootstrap(settings: Settings, *, clock: Clock = _utc_now, core: CoreBanking | None = None,
              nlu: Parser | None = None, devices: Devices | None = None, record: bool = True) -> KioskServices:
    """Build every service; content errors surface here, at start-up, with file and field.

    ``record=False`` runs without the session store (benchmarks of the dialog alone).
    """
    settings.ensure_dirs()
    root = settings.content_root
    dialog = _read_dialog_file(root / "dialogs" / "dialog.yaml")
    core = core or make_core(settings, clock)
    audit = AuditLog.from_url(settings.records_db_url)
    gate = Gate(load_pack(default_pack_path(root)), audit=audit, clock=clock)
    if nlu is None:
        from vtm.nlu.parser import NluParser

        nlu = NluParser(settings.models_path, root / "dialogs" / "nlu", train_if_missing=True)

    def id_name(id_number: str) -> str | None:
        try:
            return core.verify_identity(id_number).customer_name
        except CoreBankingError:
            return None

    services = KioskServices(
        settings=settings, core=core, gate=gate, audit=audit,
        journal=OperationJournal(audit.engine, clock=clock),
        nlu=nlu,
        prompts=PromptCatalog.load(root),
        definitions=load_definitions(root / "transactions", set(GUARDS), set(OPERATIONS)),
        devices=devices or Devices.simulated(settings.output_dir, id_lookup=id_name, clock=clock),
        phrases=Phrases({k: tuple(_squash(p) for p in v) for k, v in dialog.phrases.items()}),
        bank_policy={"temporary_loss_days": dialog.temporary_loss_days},
        idle_reset_s=dialog.idle_reset_seconds,
        clock=clock,
        recorder=SessionRecorder(SessionStore.from_settings(settings), clock) if record else None,
    )
    # A kiosk killed mid-operation left journal entries unfinished: settle them before any new session.
    recover_unfinished(services.journal, core)
    return services
