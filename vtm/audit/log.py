"""The audit log: append-only entries, HMAC-sealed in a chain, in the records database.

Every compliance verdict, core-bank operation, compliance report, journal step, staff access and
retention purge is appended here. Each entry is sealed with HMAC-SHA256 under a key the database
does not hold (:mod:`~vtm.audit.sealing`), over the previous entry's seal and the entry's
content (the payload through its SHA-256). Rows of other tables that matter to an auditor
(``compliance_reports``, ``operation_journal``) are written in the same transaction as the entry
that seals their content hash, so both exist or neither does.

The chain head is anchored outside the database every ``anchor_every`` entries and on request
(:meth:`AuditLog.anchor`; :mod:`~vtm.audit.anchors`). Payloads are dropped only by
:meth:`AuditLog.purge_payloads`, past the retention period, and the purge is itself an entry.
:meth:`AuditLog.verify` (``vtm audit verify``) checks all of it (:mod:`~vtm.audit.verify`).

Usage::

    log = AuditLog.from_settings(settings)
    entry = log.append("verdict", {"outcome": "allow"}, session_id="S-1")
    assert log.verify().ok
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from vtm.audit.anchors import Anchor, AnchorStore
from vtm.audit.db import records_engine
from vtm.audit.errors import AuditError, AuditFormatError, PurgeTooRecent
from vtm.audit.sealing import AuditKeyring
from vtm.audit.tables import (
    GENESIS_SEAL,
    audit_entries,
    audit_metadata,
    compliance_reports,
    report_ref,
    report_row_hash,
    sealed_content,
)
from vtm.audit.verify import PURGE_KIND, ChainReport, PurgeRecord, verify_records
from vtm.common.canonical import canonical_json, sha256_hex
from vtm.config import Settings

__all__ = ["DEFAULT_ANCHOR_EVERY", "AuditEntry", "AuditLog", "Draft", "ReportRecord", "utc_stamp"]

DEFAULT_ANCHOR_EVERY = 50
_DEFAULT_RETENTION_DAYS = 180  # the Settings default; production passes settings.retention_days


def utc_stamp(when: datetime) -> str:
    """The one text form of an entry's time: UTC, microseconds, so text order is time order."""
    if when.tzinfo is None:
        raise AuditError("naive datetime given to the audit log; pass an aware one")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One sealed entry; ``payload`` is None once purged."""

    seq: int
    ts: str
    session_id: str | None
    kind: str
    payload: dict[str, Any] | None
    payload_hash: str
    record_ref: str | None
    record_hash: str | None
    key_id: str
    prev_seal: str
    seal: str


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """A regulatory report created by a ``report`` rule; it never blocks the transaction."""

    report_id: int
    ts: str
    session_id: str | None
    rule_id: str
    reason_code: str
    customer_id: str | None
    amount: Decimal | None
    audit_seq: int


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry about to be sealed; ``record_ref``/``record_hash`` name the row it vouches for."""

    kind: str
    payload: Mapping[str, Any]
    session_id: str | None = None
    ts: datetime | None = None
    record_ref: str | None = None
    record_hash: str | None = None


class _SeqTaken(Exception):
    """Another writer sealed this ``seq`` first; the whole transaction is redone on the new head."""


class AuditLog:
    """Append-only, HMAC-chained log over a SQLAlchemy engine.

    Appends are serialised by the primary key on ``seq``: two writers racing for the same
    sequence number cannot both commit, and the loser redoes its transaction on the new head.
    """

    _MAX_RACE_RETRIES = 20

    def __init__(
        self,
        engine: Engine,
        keyring: AuditKeyring,
        *,
        anchors: AnchorStore | None = None,
        anchor_every: int = DEFAULT_ANCHOR_EVERY,
        retention_days: int = _DEFAULT_RETENTION_DAYS,
        clock: Callable[[], datetime] = _now,
        create: bool = True,
    ) -> None:
        if anchor_every < 1:
            raise AuditError("anchor_every must be at least 1")
        _refuse_old_format(engine)
        self._engine = engine
        self._keyring = keyring
        self._anchors = anchors
        self._anchor_every = anchor_every
        self._retention_days = retention_days
        self._clock = clock
        if create:
            audit_metadata.create_all(engine)

    @classmethod
    def from_settings(cls, settings: Settings, *, engine: Engine | None = None) -> AuditLog:
        """The kiosk's log: records database, audit key (and retired keys), anchor folder, retention."""
        return cls(
            engine or records_engine(settings.records_db_url),
            AuditKeyring.from_settings(settings),
            anchors=AnchorStore(settings.audit_anchors_path),
            anchor_every=settings.audit_anchor_every,
            retention_days=settings.retention_days,
        )

    @classmethod
    def from_url(cls, url: str, keyring: AuditKeyring, *, anchors: AnchorStore | None = None) -> AuditLog:
        return cls(records_engine(url), keyring, anchors=anchors)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def retention_days(self) -> int:
        return self._retention_days

    # Writing ---------------------------------------------------------------------------------
    def append(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        session_id: str | None = None,
        ts: datetime | None = None,
    ) -> AuditEntry:
        """Seal ``payload`` as the next entry and return it."""
        entry = self.transact(lambda _conn, _seq: Draft(kind, payload, session_id, ts))
        assert entry is not None  # the draft above is never None
        return entry

    def transact(self, build: Callable[[Connection, int], Draft | None]) -> AuditEntry | None:
        """Run ``build(conn, seq)`` and seal the entry it drafts, in one transaction: both or neither.

        ``build`` may write the row the entry vouches for (it learns the ``seq`` the entry will
        get) or return None to write nothing. It is run again if another writer took the ``seq``.
        """
        for _ in range(self._MAX_RACE_RETRIES):
            try:
                with self._engine.begin() as conn:
                    head = conn.execute(
                        select(audit_entries.c.seq, audit_entries.c.seal).order_by(audit_entries.c.seq.desc()).limit(1)
                    ).first()
                    seq, prev = (1, GENESIS_SEAL) if head is None else (head.seq + 1, head.seal)
                    draft = build(conn, seq)
                    if draft is None:
                        return None
                    entry = self._seal(draft, seq, prev)
                    try:
                        conn.execute(insert(audit_entries).values(**_row_of(entry)))
                    except IntegrityError as exc:
                        raise _SeqTaken from exc
            except _SeqTaken:
                continue
            if self._anchors is not None and entry.seq % self._anchor_every == 0:
                self.anchor()
            return entry
        raise AuditError("could not append to the audit chain: too much contention")

    def _seal(self, draft: Draft, seq: int, prev: str) -> AuditEntry:
        if not draft.kind:
            raise AuditError("an audit entry needs a kind")
        try:
            body = canonical_json(dict(draft.payload))
        except TypeError as exc:
            raise AuditError(str(exc)) from exc
        stamp = utc_stamp(draft.ts or self._clock())
        kid = self._keyring.current_id
        payload_hash = sha256_hex(body)
        content = sealed_content(
            seq=seq,
            ts=stamp,
            session_id=draft.session_id,
            kind=draft.kind,
            payload_hash=payload_hash,
            record_ref=draft.record_ref,
            record_hash=draft.record_hash,
            key_id=kid,
        )
        seal = self._keyring.seal(prev, content)
        return AuditEntry(seq, stamp, draft.session_id, draft.kind, json.loads(body), payload_hash,
                          draft.record_ref, draft.record_hash, kid, prev, seal)

    def record_report(
        self,
        *,
        rule_id: str,
        reason_code: str,
        session_id: str | None,
        customer_id: str | None,
        amount: Decimal | None,
        details: Mapping[str, Any] | None = None,
    ) -> ReportRecord:
        """Create a regulatory report row and the entry that seals it, in one transaction."""
        when = self._clock()
        made: list[ReportRecord] = []

        def build(conn: Connection, seq: int) -> Draft:
            made.clear()
            values = {
                "ts": utc_stamp(when),
                "session_id": session_id,
                "rule_id": rule_id,
                "reason_code": reason_code,
                "customer_id": customer_id,
                "amount": None if amount is None else str(amount),
                "audit_seq": seq,
            }
            key = conn.execute(insert(compliance_reports).values(**values)).inserted_primary_key
            if key is None:
                raise AuditError("the database did not return the report's id")
            report_id = int(key[0])
            made.append(ReportRecord(report_id, utc_stamp(when), session_id, rule_id, reason_code,
                                     customer_id, amount, seq))
            payload = {"rule_id": rule_id, "reason_code": reason_code, "customer_id": customer_id,
                       "amount": amount, **(details or {})}
            row_hash = report_row_hash({"report_id": report_id, **values})
            return Draft("report", payload, session_id, when, report_ref(report_id), row_hash)

        self.transact(build)
        return made[0]

    def check_purge_cutoff(self, before: datetime) -> None:
        """Raise :class:`PurgeTooRecent` unless ``before`` lies at least the retention period in the past."""
        if before > self._clock() - timedelta(days=self._retention_days):
            raise PurgeTooRecent(before, self._retention_days)

    def purge_payloads(self, before: datetime) -> int:
        """Drop payloads of entries older than ``before`` (PII retention) and record the purge as an entry.

        Refuses (:class:`PurgeTooRecent`) a cut-off inside the retention period. Seals and payload
        hashes stay, so the chain verifies, and the purge entry names the range it emptied.
        """
        now = self._clock()
        self.check_purge_cutoff(before)
        cutoff = utc_stamp(before)
        emptied: list[int] = []

        def build(conn: Connection, seq: int) -> Draft | None:
            emptied.clear()
            old = (
                (audit_entries.c.ts < cutoff)
                & audit_entries.c.payload.is_not(None)
                & (audit_entries.c.kind != PURGE_KIND)
                & (audit_entries.c.seq < seq)
            )
            seqs = [int(s) for s in conn.execute(select(audit_entries.c.seq).where(old)).scalars()]
            if not seqs:
                return None
            conn.execute(update(audit_entries).where(old).values(payload=None))
            emptied.extend(seqs)
            record = PurgeRecord(seq, now, before, min(seqs), max(seqs), self._retention_days)
            return Draft(PURGE_KIND, {**record.payload(), "count": len(seqs)}, None, now)

        self.transact(build)
        return len(emptied)

    def anchor(self) -> Anchor | None:
        """Write the current head to the anchor file now (None when the chain is empty or no folder)."""
        if self._anchors is None:
            return None
        with self._engine.connect() as conn:
            head = conn.execute(
                select(audit_entries.c.seq, audit_entries.c.seal).order_by(audit_entries.c.seq.desc()).limit(1)
            ).first()
            count = int(conn.execute(select(func.count()).select_from(audit_entries)).scalar_one())
        if head is None:
            return None
        return self._anchors.append(
            self._keyring, count=count, last_seq=int(head.seq), head_seal=str(head.seal), ts=utc_stamp(self._clock())
        )

    # Reading ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_entries)).scalar_one())

    def entries(self, *, session_id: str | None = None, kind: str | None = None) -> Iterator[AuditEntry]:
        query = select(audit_entries).order_by(audit_entries.c.seq)
        if session_id is not None:
            query = query.where(audit_entries.c.session_id == session_id)
        if kind is not None:
            query = query.where(audit_entries.c.kind == kind)
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                yield AuditEntry(
                    row.seq, row.ts, row.session_id, row.kind,
                    None if row.payload is None else json.loads(row.payload),
                    row.payload_hash, row.record_ref, row.record_hash, row.key_id, row.prev_seal, row.seal,
                )

    def reports(self, *, session_id: str | None = None) -> Sequence[ReportRecord]:
        query = select(compliance_reports).order_by(compliance_reports.c.report_id)
        if session_id is not None:
            query = query.where(compliance_reports.c.session_id == session_id)
        with self._engine.connect() as conn:
            return [
                ReportRecord(r.report_id, r.ts, r.session_id, r.rule_id, r.reason_code, r.customer_id,
                             None if r.amount is None else Decimal(r.amount), r.audit_seq)
                for r in conn.execute(query)
            ]

    def verify(self) -> ChainReport:
        """Verify chain, linked rows and anchors in one read snapshot; see :mod:`vtm.audit.verify`."""
        with _snapshot(self._engine) as conn:
            return verify_records(
                conn,
                self._keyring,
                anchors=self._anchors,
                anchor_every=self._anchor_every,
                retention_days=self._retention_days,
                now=self._clock,
            )


def _row_of(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "ts": entry.ts,
        "session_id": entry.session_id,
        "kind": entry.kind,
        "payload": None if entry.payload is None else canonical_json(entry.payload),
        "payload_hash": entry.payload_hash,
        "record_ref": entry.record_ref,
        "record_hash": entry.record_hash,
        "key_id": entry.key_id,
        "prev_seal": entry.prev_seal,
        "seal": entry.seal,
    }


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read of several tables while the kiosk keeps writing."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite opens no transaction for SELECTs; BEGIN pins one WAL snapshot for every read below.
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()
        else:
            with conn.execution_options(isolation_level="REPEATABLE READ").begin():
                yield conn


def _refuse_old_format(engine: Engine) -> None:
    inspector = inspect(engine)
    if not inspector.has_table(audit_entries.name):
        return
    columns = {c["name"] for c in inspector.get_columns(audit_entries.name)}
    if "seal" not in columns:
        raise AuditFormatError(engine.url.render_as_string(hide_password=True))
