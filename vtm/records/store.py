"""Session store: every kiosk session and its turns, written as the session runs.

The dialog loop calls three methods; each commits on its own, so a crash loses at most the turn
in flight::

    store = SessionStore.from_settings(settings)       # or SessionStore(engine, cipher=...)
    store.open_session(session.session_id, settings.kiosk_id, "zh", started_at)
    store.record_turn(session.session_id, turn_record, names=["张伟"], audio_path=None,
                      asr_confidence=0.93, device_raw="insert_card 6222020200001234")
    store.close_session(session.session_id, "completed", ["card_loss"], customer_ref, ended_at)

What is kept, and how (masking by default, :mod:`vtm.common.masking` is the only masker):

* customer text: masked with the known ``names``; the raw text as a Fernet token (only when the
  store has a :class:`~vtm.records.crypto.RecordsCipher`) for a supervisor's audited unmask;
* device command: its masked ``str()``; the raw command (``device_raw``) encrypted, except PINs,
  which are never stored in any form;
* slots, verdicts, operations, bot texts: masked again here (idempotent), so a caller's slip
  cannot put a card number in the database;
* customer reference: a keyed pseudonym (HMAC), never the reference itself.

The read side (list with filters, detail, tags, notes, the staff access log) serves the review
app; :mod:`vtm.records.purge` applies the retention period.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, insert, select, update

from vtm.common.masking import mask_slots, mask_text
from vtm.config import Settings
from vtm.dialog.turn import TurnRecord
from vtm.records.crypto import RecordsCipher
from vtm.records.query import all_summaries, list_sessions, summaries_for
from vtm.records.schema import (
    access_log,
    records_metadata,
    session_notes,
    session_tags,
    session_transactions,
    sessions,
    turns,
)
from vtm.records.views import (
    AccessEntry,
    NoteView,
    Outcome,
    SessionDetail,
    SessionFilter,
    SessionPage,
    SessionSummary,
    TagView,
    TurnView,
)

__all__ = ["RecordsError", "SessionStore", "UnknownSession"]

_MAX_TAG = 40
_MAX_NOTE = 4000


class RecordsError(Exception):
    """Root of the session store's errors."""


class UnknownSession(RecordsError):
    """No session (or turn) with this id is recorded."""


def _now() -> datetime:
    return datetime.now(UTC)


def _mask_deep(value: Any, names: list[str]) -> Any:
    """Every string inside verdicts/operations, masked; structure and non-strings unchanged."""
    if isinstance(value, str):
        return mask_text(value, names)
    if isinstance(value, Mapping):
        return {str(k): _mask_deep(v, names) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_deep(v, names) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _is_pin_command(command: str) -> bool:
    return command.strip().split(" ", 1)[0].lower() in {"pin", "enter_pin"}


@dataclass(frozen=True)
class _TurnRaw:
    user: str | None
    device: str | None


class SessionStore:
    """Writes sessions and turns; reads them back for staff. Thread-safe (one engine, short transactions)."""

    def __init__(self, engine: Engine, *, cipher: RecordsCipher | None = None, create: bool = True) -> None:
        self._engine = engine
        self._cipher = cipher
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_foreign_keys)
        if create:
            records_metadata.create_all(engine)

    @classmethod
    def from_url(cls, url: str, *, cipher: RecordsCipher | None = None) -> SessionStore:
        """A store on ``url``; without a cipher, raw text is not kept (nothing can be unmasked)."""
        return cls(create_engine(url), cipher=cipher)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionStore:
        """The kiosk's store on ``records_db_url`` with the records key (:mod:`vtm.records.crypto`)."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls.from_url(settings.records_db_url, cipher=RecordsCipher.from_settings(settings))

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def can_unmask(self) -> bool:
        return self._cipher is not None

    # Writing (the dialog loop) -----------------------------------------------------------------
    def open_session(self, session_id: str, kiosk_id: str, lang: str, started_at: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    session_id=session_id,
                    kiosk_id=kiosk_id,
                    lang=lang,
                    started_at=started_at,
                    outcome=Outcome.ACTIVE.value,
                    turn_count=0,
                    has_deny=False,
                    has_refer=False,
                )
            )

    def record_turn(
        self,
        session_id: str,
        record: TurnRecord,
        names: list[str],
        audio_path: str | None = None,
        asr_confidence: float | None = None,
        *,
        device_raw: str | None = None,
        ts: datetime | None = None,
    ) -> None:
        """Store one turn, masked; ``device_raw`` (the unmasked command, for export) is encrypted."""
        known = [n for n in names if n]
        user_enc = device_enc = None
        if self._cipher is not None:
            if record.user is not None:
                user_enc = self._cipher.encrypt(record.user)
            if device_raw is not None and not _is_pin_command(device_raw):
                device_enc = self._cipher.encrypt(device_raw)
        outcomes = {str(v.get("outcome")) for v in record.verdicts}
        with self._engine.begin() as conn:
            row = conn.execute(
                select(
                    sessions.c.turn_count,
                    sessions.c.has_deny,
                    sessions.c.has_refer,
                    sessions.c.min_asr_confidence,
                ).where(sessions.c.session_id == session_id)
            ).first()
            if row is None:
                raise UnknownSession(f"session {session_id} was not opened")
            conn.execute(
                insert(turns).values(
                    session_id=session_id,
                    turn_no=record.turn,
                    ts=ts or _now(),
                    user_text=None if record.user is None else mask_text(record.user, known),
                    user_text_enc=user_enc,
                    device=None if record.device is None else mask_text(record.device, known),
                    device_enc=device_enc,
                    asr_confidence=asr_confidence,
                    audio_path=audio_path,
                    intent=record.intent,
                    intent_confidence=record.confidence,
                    state=record.state,
                    slots_json=_dumps(_mask_deep(mask_slots(record.slots), known)),
                    verdicts_json=_dumps(_mask_deep(record.verdicts, known)),
                    operations_json=_dumps(_mask_deep(record.operations, known)),
                    bot_json=_dumps(
                        [
                            {"key": r.key, "text": mask_text(r.text, known), "interruptible": r.interruptible}
                            for r in record.replies
                        ]
                    ),
                    latency_json=_dumps({k: round(float(v), 2) for k, v in record.latency_ms.items()}),
                )
            )
            lowest = row.min_asr_confidence
            if asr_confidence is not None:
                lowest = asr_confidence if lowest is None else min(lowest, asr_confidence)
            conn.execute(
                update(sessions)
                .where(sessions.c.session_id == session_id)
                .values(
                    turn_count=row.turn_count + 1,
                    has_deny=bool(row.has_deny or "deny" in outcomes),
                    has_refer=bool(row.has_refer or "refer" in outcomes),
                    min_asr_confidence=lowest,
                )
            )

    def close_session(
        self,
        session_id: str,
        outcome: str,
        transactions: list[str],
        customer_ref: str | None,
        ended_at: datetime,
    ) -> None:
        """Record how the session ended; ``customer_ref`` is stored only as a keyed pseudonym."""
        result = Outcome(outcome)
        pseudonym = None
        if customer_ref:
            pseudonym = self._cipher.pseudonym(customer_ref) if self._cipher else None
        with self._engine.begin() as conn:
            done = conn.execute(
                update(sessions)
                .where(sessions.c.session_id == session_id)
                .values(outcome=result.value, ended_at=ended_at, customer_ref_hash=pseudonym)
            )
            if done.rowcount == 0:
                raise UnknownSession(f"session {session_id} was not opened")
            conn.execute(delete(session_transactions).where(session_transactions.c.session_id == session_id))
            if transactions:
                conn.execute(
                    insert(session_transactions),
                    [
                        {"session_id": session_id, "position": i, "name": name}
                        for i, name in enumerate(transactions)
                    ],
                )

    # Reading (the review app) ------------------------------------------------------------------
    def list_sessions(
        self, filters: SessionFilter | None = None, *, page: int = 1, per_page: int = 25
    ) -> SessionPage:
        with self._engine.connect() as conn:
            return list_sessions(conn, filters or SessionFilter(), page=page, per_page=per_page)

    def summaries(self, filters: SessionFilter) -> list[SessionSummary]:
        """Every session matching ``filters`` (no pagination), for the dashboard."""
        with self._engine.connect() as conn:
            return all_summaries(conn, filters)

    def get_session(self, session_id: str) -> SessionDetail:
        with self._engine.connect() as conn:
            found = summaries_for(conn, [session_id])
            if not found:
                raise UnknownSession(f"no session {session_id}")
            rows = conn.execute(
                select(turns).where(turns.c.session_id == session_id).order_by(turns.c.turn_no)
            )
            turn_views = [_turn_view(r) for r in rows]
            tags = [
                TagView(r.tag, r.turn_no, r.created_by, r.created_at)
                for r in conn.execute(
                    select(session_tags)
                    .where(session_tags.c.session_id == session_id)
                    .order_by(session_tags.c.id)
                )
            ]
            notes = [
                NoteView(r.id, r.text, r.turn_no, r.created_by, r.created_at)
                for r in conn.execute(
                    select(session_notes)
                    .where(session_notes.c.session_id == session_id)
                    .order_by(session_notes.c.id)
                )
            ]
        return SessionDetail(found[0], turn_views, tags, notes)

    def session_ids(self) -> list[str]:
        with self._engine.connect() as conn:
            return [r[0] for r in conn.execute(select(sessions.c.session_id).order_by(sessions.c.started_at))]

    def kiosks(self) -> list[str]:
        with self._engine.connect() as conn:
            return [
                r[0]
                for r in conn.execute(select(sessions.c.kiosk_id).distinct().order_by(sessions.c.kiosk_id))
            ]

    def transaction_names(self) -> list[str]:
        with self._engine.connect() as conn:
            return [
                r[0]
                for r in conn.execute(
                    select(session_transactions.c.name).distinct().order_by(session_transactions.c.name)
                )
            ]

    def reveal(self, session_id: str, turn_no: int) -> tuple[str | None, str | None]:
        """The raw customer text and raw device command of one turn (None where not kept).

        Callers must log the access first (:meth:`log_access`); the review app also appends it
        to the audit chain.
        """
        raw = self._raw(session_id, turn_no)
        return raw.user, raw.device

    def _raw(self, session_id: str, turn_no: int) -> _TurnRaw:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(turns.c.user_text_enc, turns.c.device_enc).where(
                    turns.c.session_id == session_id, turns.c.turn_no == turn_no
                )
            ).first()
        if row is None:
            raise UnknownSession(f"no turn {turn_no} in session {session_id}")
        if self._cipher is None:
            return _TurnRaw(None, None)
        user = None if row.user_text_enc is None else self._cipher.decrypt(row.user_text_enc)
        device = None if row.device_enc is None else self._cipher.decrypt(row.device_enc)
        return _TurnRaw(user, device)

    def audio_path(self, session_id: str, turn_no: int) -> Path | None:
        with self._engine.connect() as conn:
            value = conn.execute(
                select(turns.c.audio_path).where(turns.c.session_id == session_id, turns.c.turn_no == turn_no)
            ).scalar_one_or_none()
        return None if value is None else Path(value)

    # Tags, notes, access log --------------------------------------------------------------------
    def add_tag(self, session_id: str, tag: str, user: str, turn_no: int | None = None) -> None:
        clean = " ".join(tag.split())[:_MAX_TAG]
        if not clean:
            raise RecordsError("a tag cannot be empty")
        self._require(session_id)
        with self._engine.begin() as conn:
            exists = conn.execute(
                select(session_tags.c.id).where(
                    session_tags.c.session_id == session_id,
                    session_tags.c.tag == clean,
                    session_tags.c.turn_no.is_(None)
                    if turn_no is None
                    else session_tags.c.turn_no == turn_no,
                )
            ).first()
            if exists is None:
                conn.execute(
                    insert(session_tags).values(
                        session_id=session_id, turn_no=turn_no, tag=clean, created_by=user, created_at=_now()
                    )
                )

    def remove_tag(
        self, session_id: str, tag: str, turn_no: int | None = None, *, created_by: str | None = None
    ) -> bool:
        """Remove a tag; with ``created_by``, only if that user added it. True if one was removed."""
        with self._engine.begin() as conn:
            query = delete(session_tags).where(
                session_tags.c.session_id == session_id,
                session_tags.c.tag == tag,
                session_tags.c.turn_no.is_(None) if turn_no is None else session_tags.c.turn_no == turn_no,
            )
            if created_by is not None:
                query = query.where(session_tags.c.created_by == created_by)
            return conn.execute(query).rowcount > 0

    def add_note(self, session_id: str, text: str, user: str, turn_no: int | None = None) -> int:
        """Store a staff note as typed (it is escaped when displayed, never interpreted)."""
        body = text.strip()[:_MAX_NOTE]
        if not body:
            raise RecordsError("a note cannot be empty")
        self._require(session_id)
        with self._engine.begin() as conn:
            result = conn.execute(
                insert(session_notes).values(
                    session_id=session_id, turn_no=turn_no, text=body, created_by=user, created_at=_now()
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def log_access(
        self,
        username: str,
        session_id: str | None,
        action: str,
        *,
        turn_no: int | None = None,
        field: str | None = None,
        reason: str | None = None,
    ) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(access_log).values(
                    ts=_now(),
                    username=username,
                    session_id=session_id,
                    action=action,
                    turn_no=turn_no,
                    field=field,
                    reason=reason,
                )
            )

    def access_log(self, *, session_id: str | None = None, limit: int = 200) -> list[AccessEntry]:
        query = select(access_log).order_by(access_log.c.id.desc()).limit(limit)
        if session_id is not None:
            query = query.where(access_log.c.session_id == session_id)
        with self._engine.connect() as conn:
            return [
                AccessEntry(r.ts, r.username, r.session_id, r.action, r.turn_no, r.field, r.reason)
                for r in conn.execute(query)
            ]

    def _require(self, session_id: str) -> None:
        with self._engine.connect() as conn:
            if (
                conn.execute(select(sessions.c.session_id).where(sessions.c.session_id == session_id)).first()
                is None
            ):
                raise UnknownSession(f"no session {session_id}")

    def all_turn_payloads(self, session_ids: Iterable[str] | None = None) -> list[TurnView]:
        """Every turn (masked), for the dashboard's verdict counts and latency percentiles."""
        with self._engine.connect() as conn:
            if session_ids is None:
                return [_turn_view(r) for r in conn.execute(select(turns).order_by(turns.c.id))]
            ids = list(session_ids)
            found: list[TurnView] = []
            for i in range(0, len(ids), 500):  # bounded IN lists
                query = select(turns).where(turns.c.session_id.in_(ids[i : i + 500])).order_by(turns.c.id)
                found.extend(_turn_view(r) for r in conn.execute(query))
            return found


def _turn_view(r: Any) -> TurnView:
    return TurnView(
        turn_no=r.turn_no,
        ts=r.ts,
        user_text=r.user_text,
        device=r.device,
        asr_confidence=r.asr_confidence,
        has_audio=r.audio_path is not None,
        intent=r.intent,
        intent_confidence=r.intent_confidence,
        state=r.state,
        slots=json.loads(r.slots_json),
        verdicts=json.loads(r.verdicts_json),
        operations=json.loads(r.operations_json),
        bot=json.loads(r.bot_json),
        latency_ms=json.loads(r.latency_json),
        has_raw_user=r.user_text_enc is not None,
        has_raw_device=r.device_enc is not None,
    )


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
