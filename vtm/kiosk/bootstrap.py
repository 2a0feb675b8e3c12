"""Wiring: build the kiosk's services from validated settings (the one place that knows them all).

Tests call :func:`bootstrap` with their own settings (a temporary data directory, a fixed clock)
and get the same real components the kiosk uses: the sandbox bank on SQLite, the compliance
gate with the policy pack, the NLU model, simulated devices.

Usage::

    services = bootstrap(load_settings())
    dm = DialogManager(services, services.new_session())
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from vtm.audit import AuditLog
from vtm.banking.errors import CoreBankingError
from vtm.banking.port import CoreBanking
from vtm.compliance.gate import Gate
from vtm.compliance.pack import default_pack_path, load_pack
from vtm.compliance.semantic import TextEmbedder
from vtm.config import Settings
from vtm.devices import Devices
from vtm.dialog.actions import ActionPerformer
from vtm.dialog.confirmation import ExplicitYes
from vtm.dialog.content import Phrases, load_dialog_content
from vtm.dialog.prompts import Lang, PromptCatalog
from vtm.dialog.services import KnowledgeAnswers, Parser, PhraseLists
from vtm.dialog.session import Session
from vtm.dialog.transactions import transactions_of
from vtm.flows.definition import TransactionDefinition
from vtm.kiosk.actions import DevicePerformer
from vtm.kiosk.recovery import recover_unfinished
from vtm.nlu.types import SlotName
from vtm.records.journal import OperationJournal
from vtm.records.recorder import SessionRecorder
from vtm.records.store import SessionStore

if TYPE_CHECKING:
    from vtm.knowledge import Answer, Decline, KnowledgeBase, KnowledgeContent, SentenceEncoder
    from vtm.nlu.model.encoder import E5Encoder

__all__ = ["E5TextEmbedder", "KioskServices", "Parser", "bootstrap", "nlu_embedder"]

Clock = Callable[[], datetime]


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
    phrases: PhraseLists
    confirmation: ExplicitYes
    bank_policy: dict[str, int]
    idle_reset_s: float
    screen_silence_s: float
    clock: Clock
    slot_types: dict[str, list[SlotName]]
    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    recorder: SessionRecorder | None = None
    knowledge: KnowledgeAnswers | None = None
    perform_actions: ActionPerformer | None = None

    def transaction_for_intent(self, intent: str) -> str | None:
        return next((d.name for d in self.definitions.values() if d.intent == intent), None)

    def customer_email(self, customer_id: str | None) -> str | None:
        if customer_id is None:
            return None
        try:
            return self.core.customer(customer_id).email
        except CoreBankingError:
            return None

    def warm_knowledge(self) -> None:
        """Index the knowledge base before the first customer (no-op without one, or one given ready)."""
        if isinstance(self.knowledge, LazyKnowledge):
            self.knowledge.warm_up()

    def new_session(self, lang: Lang | None = None) -> Session:
        now = self.clock()
        return Session(session_id=f"S-{uuid.uuid4().hex[:20]}", kiosk_id=self.settings.kiosk_id,
                       lang=lang or self.settings.language, started_at=now, last_activity_at=now)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class E5TextEmbedder:
    """The NLU's e5 encoder as the gate's :class:`TextEmbedder`: one model copy per process.

    ``encoder`` is called on first use (the parser's encoder loads with the intent model), so a
    gate whose exemplar vectors come from the cache starts without touching the model.
    """

    def __init__(self, encoder: Callable[[], E5Encoder], model_id: str) -> None:
        self._encoder = encoder
        self._model_id = model_id

    @property
    def model_id(self) -> str:
        return self._model_id

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        # E5Encoder.embed adds e5's "query: " prefix, mean-pools and L2-normalises.
        return self._encoder().embed(texts).numpy().astype(np.float32)

    def encoder(self) -> E5Encoder:
        """The shared encoder itself (the knowledge base embeds with it too)."""
        return self._encoder()


class LazyKnowledge:
    """The knowledge base: content validated at start-up, indexed at warm-up (or the first question)
    with the kiosk's shared e5 encoder (vectors and classifier come from the cache keyed by content
    and encoder)."""

    def __init__(self, content: KnowledgeContent, models_path: Path,
                 encoder: Callable[[], SentenceEncoder] | None) -> None:
        self._content, self._models_path, self._encoder = content, models_path, encoder
        self._lock = threading.Lock()
        self._kb: KnowledgeBase | None = None

    def warm_up(self) -> KnowledgeBase:
        """Index now (the start-up warm-up calls it): vectors and classifier from the cache that
        ``vtm models prepare`` fills, or built here when the bank has edited knowledge/ since."""
        with self._lock:
            if self._kb is None:
                from vtm.knowledge import KnowledgeBase

                encoder = self._encoder() if self._encoder is not None else None
                self._kb = KnowledgeBase.from_content(self._content, self._models_path, encoder=encoder)
            return self._kb

    def ask(self, text: str, lang: str | None = None) -> Answer | Decline:
        return self.warm_up().ask(text, "zh" if lang == "zh" else "en" if lang == "en" else None)


def nlu_embedder(models_path: Path, nlu: Parser | None = None) -> E5TextEmbedder:
    """Share the intent model's encoder with the gate; a process without one (the Rasa action
    server, tests with a scripted parser, benchmarks) loads e5 alone, once, on first use."""
    from vtm.nlu.encoder_files import e5_dir
    from vtm.nlu.model.encoder import QUERY_PREFIX, E5Encoder
    from vtm.nlu.parser import NluParser

    folder = e5_dir(models_path)
    digest = folder / "model.sha256"
    model_id = f"{folder.name}:{digest.read_text().strip() if digest.is_file() else 'unprepared'}:{QUERY_PREFIX!r}:mean"
    if isinstance(nlu, NluParser):
        parser = nlu
        return E5TextEmbedder(lambda: parser.classifier.encoder, model_id)
    lock = threading.Lock()
    loaded: list[E5Encoder] = []

    def own_encoder() -> E5Encoder:
        with lock:
            if not loaded:
                import torch

                torch.set_num_threads(1)  # the NLU's rule: one thread, ASR shares the CPU
                loaded.append(E5Encoder.load(folder))
            return loaded[0]

    return E5TextEmbedder(own_encoder, model_id)


def make_core(settings: Settings, clock: Clock) -> CoreBanking:
    """The core bank: over HTTP when ``VTM_BANK_URL`` is set, else the embedded sandbox."""
    if settings.bank_url:
        import httpx

        from vtm.banking.credentials import kiosk_credential
        from vtm.banking.http_client import HttpCoreBanking

        return HttpCoreBanking(settings.bank_url, timeout=httpx.Timeout(settings.bank_timeout_s),
                               credential=kiosk_credential(settings))
    from vtm.banking.sandbox import SandboxBank, create_bank_engine

    return SandboxBank(create_bank_engine(settings.bank_db_url), clock=clock)


def bootstrap(settings: Settings, *, clock: Clock = _utc_now, core: CoreBanking | None = None,
              nlu: Parser | None = None, devices: Devices | None = None, record: bool = True,
              embedder: TextEmbedder | None = None, knowledge: KnowledgeAnswers | None = None) -> KioskServices:
    """Build every service; content errors surface here, at start-up, with file and field.

    ``record=False`` runs without the session store (benchmarks of the dialog alone). The gate's
    fraud-script check embeds with ``embedder``, by default the NLU's own e5 encoder.
    """
    settings.ensure_dirs()
    root = settings.content_root
    dialog = load_dialog_content(root / "dialogs" / "dialog.yaml")
    core = core or make_core(settings, clock)
    audit = AuditLog.from_settings(settings)
    if nlu is None:
        from vtm.nlu.parser import NluParser

        nlu = NluParser(settings.models_path, root / "dialogs" / "nlu", train_if_missing=True)
    embedder = embedder or nlu_embedder(settings.models_path, nlu)
    gate = Gate(load_pack(default_pack_path(root)), audit=audit, clock=clock, embedder=embedder,
                embedding_cache=settings.models_path / "fraud-exemplars")
    if knowledge is None and (root / "knowledge").is_dir():
        from vtm.knowledge import load_knowledge

        shared = embedder.encoder if isinstance(embedder, E5TextEmbedder) else None
        knowledge = LazyKnowledge(load_knowledge(root), settings.models_path, shared)

    def id_name(id_number: str) -> str | None:
        try:
            return core.verify_identity(id_number).customer_name
        except CoreBankingError:
            return None

    devices = devices or Devices.simulated(settings.output_dir, id_lookup=id_name, clock=clock)
    services = KioskServices(
        settings=settings, core=core, gate=gate, audit=audit,
        journal=OperationJournal(audit.engine, clock=clock, audit=audit),
        nlu=nlu,
        prompts=PromptCatalog.load(root),
        definitions=transactions_of(root, dialog=dialog),
        devices=devices,
        phrases=Phrases.from_content(dialog),
        confirmation=ExplicitYes.from_content(dialog.confirmation),
        bank_policy=dialog.bank_policy,
        idle_reset_s=dialog.idle_reset_seconds, screen_silence_s=dialog.screen_silence_seconds,
        clock=clock,
        slot_types={name: list(kinds) for name, kinds in dialog.slot_types.items()},
        perform_actions=DevicePerformer(devices),
        recorder=SessionRecorder(SessionStore.from_settings(settings), clock, audit=audit) if record else None,
        knowledge=knowledge,
    )
    # A kiosk killed mid-operation left journal entries unfinished: settle them before any new session
    # (with a shared records database, only those old enough not to be another replica's, under way).
    recover_unfinished(services.journal, core, shared=not settings.records_db_url.startswith("sqlite"))
    return services
