"""The audit chain's tables, and the content hash that binds a compliance report row to its entry.

``audit_entries`` is the chain. Beside the entry's own fields it carries ``record_ref`` and
``record_hash``: an entry that vouches for a row in another table (a compliance report, an
operation-journal row) names it (``"report:17"``, ``"journal:<idempotency key>"``) and seals the
SHA-256 of the row's canonical content. Both columns stay when a retention purge drops the
payload, so the rows remain checkable for as long as they exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from vtm.common.canonical import canonical_json, sha256_hex

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_SEAL",
    "audit_entries",
    "audit_metadata",
    "compliance_reports",
    "report_ref",
    "report_row_hash",
    "row_content",
    "sealed_content",
]

FORMAT_VERSION = 2
"""1: plain SHA-256 chain (no key); 2: HMAC-sealed with key ids, record links and anchors."""

GENESIS_SEAL = "0" * 64
"""The ``prev_seal`` of the first entry."""

audit_metadata = MetaData()
"""Tables owned by the audit chain; other record stores keep their own tables next to these."""

audit_entries = Table(
    "audit_entries",
    audit_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", String(40), nullable=False, doc="UTC, ISO 8601 with microseconds"),
    Column("session_id", String(80), nullable=True, index=True),
    Column("kind", String(40), nullable=False, index=True),
    Column("payload", Text, nullable=True, doc="Canonical JSON; NULL after a recorded purge"),
    Column("payload_hash", String(64), nullable=False),
    Column("record_ref", String(120), nullable=True, index=True, doc="Row this entry vouches for"),
    Column("record_hash", String(64), nullable=True, doc="SHA-256 of that row's canonical content"),
    Column("key_id", String(16), nullable=False, doc="Fingerprint of the sealing key"),
    Column("prev_seal", String(64), nullable=False),
    Column("seal", String(64), nullable=False, unique=True, doc="HMAC-SHA256 over prev_seal and content"),
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
    Column("audit_seq", Integer, nullable=False, unique=True),
)

_REPORT_FIELDS = ("report_id", "ts", "session_id", "rule_id", "reason_code", "customer_id", "amount", "audit_seq")


def report_ref(report_id: int) -> str:
    return f"report:{report_id}"


def report_row_hash(row: Mapping[Any, Any]) -> str:
    """SHA-256 of a ``compliance_reports`` row's canonical content (every column)."""
    return sha256_hex(canonical_json({name: row[name] for name in _REPORT_FIELDS}))


def sealed_content(
    *,
    seq: int,
    ts: str,
    session_id: str | None,
    kind: str,
    payload_hash: str,
    record_ref: str | None,
    record_hash: str | None,
    key_id: str,
) -> dict[str, Any]:
    """Everything an entry's seal covers besides the previous seal (the payload through its hash)."""
    return {
        "v": FORMAT_VERSION,
        "seq": seq,
        "ts": ts,
        "session_id": session_id,
        "kind": kind,
        "payload_hash": payload_hash,
        "record_ref": record_ref,
        "record_hash": record_hash,
        "key_id": key_id,
    }


def row_content(row: Any) -> dict[str, Any]:
    """:func:`sealed_content` of a stored ``audit_entries`` row."""
    return sealed_content(
        seq=row.seq,
        ts=row.ts,
        session_id=row.session_id,
        kind=row.kind,
        payload_hash=row.payload_hash,
        record_ref=row.record_ref,
        record_hash=row.record_hash,
        key_id=row.key_id,
    )
