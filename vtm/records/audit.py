"""Hash-chained, append-only audit log in the records database (SQLite by default, PostgreSQL by URL).

Every compliance verdict and every core-bank operation the kiosk executes is appended here. Each
entry stores the SHA-256 of its predecessor, so editing, deleting or reordering any entry breaks
the chain from that point on; :meth:`AuditLog.verify` (``vtm audit verify``) names the first
broken entry.

What is hashed (the *sealed material*) is ``seq, ts, session_id, kind, payload_hash`` and the
previous hash; the payload itself is covered only through ``payload_hash``. That is deliberate:
a later purge of personal data (retention) may replace a payload by ``NULL`` while its hash stays
in the chain, and :meth:`AuditLog.purge_payloads` does exactly that. The chain then still
verifies, and any payload that remains is checked against its hash.

Large-value transaction reports (PBOC Order 2016 No. 3) live in their own table
``compliance_reports``; each report row names the audit entry that carries it.

Usage::

    log = AuditLog.from_url(settings.records_db_url)
    entry = log.append("verdict", {"outcome": "allow"}, session_id="S-1")
    assert log.verify().ok
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "ChainReport",
    "ReportRecord",
    "audit_metadata",
    "canonical_json",
    "sha256_hex",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first entry."""

audit_metadata = MetaData()
"""Tables owned by this module; other record stores keep their own tables next to these."""

audit_entries = Table(
    "audit_entries",
    audit_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", String(40), nullable=False),
    Column("session_id", String(80), nullable=True, index=True),
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=True, doc="Canonical JSON; NULL after a purge"),
    Column("payload_hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

compliance_reports = Table(
    "compliance_reports",
    audit_metadata,
    Column("report_id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(40), nullable=False),
    Column("session_id", String(80), nullable=True, index=True),
    Column("rule_id", String(80), nullable=False),
    Column("reason_code", String(80), nullable=False),
    Column("customer_id", String(80), nullable=True),
    Column("amount", String(32), nullable=True, doc="Decimal yuan as text"),
    Column("audit_seq", Integer, nullable=False),
)


class AuditError(Exception):
    """The audit log could not be written or read."""


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(_default(v) if not isinstance(v, str) else v for v in value)  # type: ignore[type-var]
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError(f"not JSON-serialisable for the audit log: {type(value).__name__}")


def canonical_json(value: object) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text, Decimal as its exact string."""
    return json.dumps(value, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _seal(seq: int, ts: str, session_id: str | None, kind: str, payload_hash: str, prev_hash: str) -> str:
    material = canonical_json(
        {"seq": seq, "ts": ts, "session_id": session_id, "kind": kind, "payload_hash": payload_hash}
    )
    return sha256_hex(prev_hash + material)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One sealed entry; ``payload`` is None once purged."""

    seq: int
    ts: str
    session_id: str | None
    kind: str
    payload: dict[str, Any] | None
    payload_hash: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Result of walking the chain: ``broken_seq`` is the first entry that does not verify."""

    entries: int
    broken_seq: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


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


class AuditLog:
    """Append-only, hash-chained log over a SQLAlchemy engine.

    Appends are serialised by the primary key on ``seq``: two writers racing for the same
    sequence number cannot both commit, and the loser retries on the new head.
    """

    _MAX_RACE_RETRIES = 20

    def __init__(self, engine: Engine, *, create: bool = True) -> None:
        self._engine = engine
        if create:
            audit_metadata.create_all(engine)

    @classmethod
    def from_url(cls, url: str) -> AuditLog:
        from vtm.records.db import records_engine

        return cls(records_engine(url))

    @property
    def engine(self) -> Engine:
        return self._engine

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
        if not kind:
            raise AuditError("an audit entry needs a kind")
        try:
            body = canonical_json(dict(payload))
        except TypeError as exc:
            raise AuditError(str(exc)) from exc
        payload_hash = sha256_hex(body)
        stamp = (ts or datetime.now(UTC)).isoformat()
        for _ in range(self._MAX_RACE_RETRIES):
            try:
                with self._engine.begin() as conn:
                    head = conn.execute(
                        select(audit_entries.c.seq, audit_entries.c.hash)
                        .order_by(audit_entries.c.seq.desc())
                        .limit(1)
                    ).first()
                    seq, prev = (1, GENESIS_HASH) if head is None else (head.seq + 1, head.hash)
                    digest = _seal(seq, stamp, session_id, kind, payload_hash, prev)
                    conn.execute(
                        insert(audit_entries).values(
                            seq=seq,
                            ts=stamp,
                            session_id=session_id,
                            kind=kind,
                            payload=body,
                            payload_hash=payload_hash,
                            prev_hash=prev,
                            hash=digest,
                        )
                    )
            except IntegrityError:
                continue  # another writer took this seq; seal again on the new head
            return AuditEntry(seq, stamp, session_id, kind, json.loads(body), payload_hash, prev, digest)
        raise AuditError("could not append to the audit chain: too much contention")

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
        """Create a regulatory report row, carried by its own audit entry."""
        entry = self.append(
            "report",
            {
                "rule_id": rule_id,
                "reason_code": reason_code,
                "customer_id": customer_id,
                "amount": amount,
                **(details or {}),
            },
            session_id=session_id,
        )
        with self._engine.begin() as conn:
            result = conn.execute(
                insert(compliance_reports).values(
                    ts=entry.ts,
                    session_id=session_id,
                    rule_id=rule_id,
                    reason_code=reason_code,
                    customer_id=customer_id,
                    amount=None if amount is None else str(amount),
                    audit_seq=entry.seq,
                )
            )
            key = result.inserted_primary_key
            if key is None:
                raise AuditError("the database did not return the report's id")
            report_id = int(key[0])
        return ReportRecord(
            report_id, entry.ts, session_id, rule_id, reason_code, customer_id, amount, entry.seq
        )

    def purge_payloads(self, before: datetime) -> int:
        """Drop payloads older than ``before`` (PII retention); hashes stay, so the chain verifies."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(audit_entries)
                .where(audit_entries.c.ts < before.isoformat())
                .where(audit_entries.c.payload.is_not(None))
                .values(payload=None)
            )
            return int(result.rowcount)

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
                    row.seq,
                    row.ts,
                    row.session_id,
                    row.kind,
                    None if row.payload is None else json.loads(row.payload),
                    row.payload_hash,
                    row.prev_hash,
                    row.hash,
                )

    def reports(self, *, session_id: str | None = None) -> Sequence[ReportRecord]:
        query = select(compliance_reports).order_by(compliance_reports.c.report_id)
        if session_id is not None:
            query = query.where(compliance_reports.c.session_id == session_id)
        with self._engine.connect() as conn:
            return [
                ReportRecord(
                    r.report_id,
                    r.ts,
                    r.session_id,
                    r.rule_id,
                    r.reason_code,
                    r.customer_id,
                    None if r.amount is None else Decimal(r.amount),
                    r.audit_seq,
                )
                for r in conn.execute(query)
            ]

    def verify(self) -> ChainReport:
        """Walk the whole chain in ``seq`` order; stop at the first entry that does not verify."""
        prev = GENESIS_HASH
        expected_seq = 1
        count = 0
        query = select(audit_entries).order_by(audit_entries.c.seq)
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                count += 1
                problem = None
                if row.seq != expected_seq:
                    problem = f"sequence gap: expected seq {expected_seq}, found {row.seq}"
                elif row.prev_hash != prev:
                    problem = "prev_hash does not match the hash of the previous entry"
                elif row.payload is not None and sha256_hex(row.payload) != row.payload_hash:
                    problem = "payload does not match its payload_hash (payload edited)"
                elif (
                    _seal(row.seq, row.ts, row.session_id, row.kind, row.payload_hash, row.prev_hash)
                    != row.hash
                ):
                    problem = "entry hash does not match its sealed material (entry edited)"
                if problem is not None:
                    return ChainReport(
                        entries=count,
                        broken_seq=row.seq if row.seq == expected_seq else expected_seq,
                        problem=problem,
                        head_hash=prev,
                    )
                prev = row.hash
                expected_seq += 1
        return ChainReport(entries=count, head_hash=prev)
