"""``vtm audit verify``: everything an insider with the database could have changed, checked at once.

One walk over ``audit_entries`` in ``seq`` order, then the rows the chain vouches for, then the
anchors. Each finding is a :class:`Break`; the report names the first (lowest ``seq``) one.

Per entry: no gap in ``seq``; ``prev_seal`` equal to the previous entry's seal; the seal verifies
under the key its ``key_id`` names (HMAC: without the key an entry cannot be rewritten, re-sealed
with plain SHA-256, or re-sealed under another key); a payload that is present matches its hash;
a payload that is absent is covered by a later, sealed ``purge`` entry whose range contains it and
whose cut-off it predates, and that purge itself respected its retention period.

Linked rows: every ``compliance_reports`` row and every ``operation_journal`` row must equal the
content hash sealed by the newest entry that names it; a row nobody sealed, or a sealed row that
is gone, is a break.

Anchors (:mod:`~vtm.audit.anchors`): every line's MAC verifies, and the chain still holds
each anchored head at its anchored position, so deleting the tail or restoring an old backup is
caught up to the last anchor. Entries written after the newest anchor are reported as
``unanchored``: the only ones whose deletion from the end cannot be seen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, inspect, select

from vtm.audit.anchors import Anchor, AnchorStore
from vtm.audit.journal_model import journal_ref, journal_row_hash, journal_table
from vtm.audit.sealing import AuditKeyring
from vtm.audit.tables import (
    GENESIS_SEAL,
    audit_entries,
    compliance_reports,
    report_ref,
    report_row_hash,
    row_content,
)
from vtm.common.canonical import sha256_hex

__all__ = ["PURGE_KIND", "Break", "ChainReport", "PurgeRecord", "verify_records"]

PURGE_KIND = "purge"


@dataclass(frozen=True, slots=True)
class Break:
    """One thing that does not verify. ``seq`` names the entry when the finding belongs to one."""

    seq: int | None
    problem: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The verdict on the whole audit trail: ``ok`` only when nothing at all failed."""

    entries: int
    breaks: tuple[Break, ...] = ()
    head_seal: str = GENESIS_SEAL
    anchored_seq: int | None = None
    unanchored: int = 0

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def broken_seq(self) -> int | None:
        """The first broken entry's ``seq`` (None when intact, or when only a row or anchor broke)."""
        return self.breaks[0].seq if self.breaks else None

    @property
    def problem(self) -> str | None:
        return self.breaks[0].problem if self.breaks else None


@dataclass(frozen=True, slots=True)
class PurgeRecord:
    """What a ``purge`` entry states: entries ``first_seq..last_seq`` older than ``before`` lost their payload."""

    seq: int
    ts: datetime
    before: datetime
    first_seq: int
    last_seq: int
    retention_days: int

    def payload(self) -> dict[str, Any]:
        return {
            "before": self.before.isoformat(timespec="microseconds"),
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "retention_days": self.retention_days,
        }

    @classmethod
    def from_payload(cls, seq: int, ts: str, payload: dict[str, Any]) -> PurgeRecord:
        return cls(
            seq=seq,
            ts=datetime.fromisoformat(ts),
            before=datetime.fromisoformat(str(payload["before"])),
            first_seq=int(payload["first_seq"]),
            last_seq=int(payload["last_seq"]),
            retention_days=int(payload["retention_days"]),
        )

    def covers(self, seq: int, ts: datetime) -> bool:
        return self.seq > seq and self.first_seq <= seq <= self.last_seq and ts < self.before


@dataclass
class _Walk:
    """State carried along the chain."""

    anchored_seqs: set[int]
    count: int = 0
    last_seq: int = 0
    head: str = GENESIS_SEAL
    breaks: list[Break] = field(default_factory=list)
    emptied: list[tuple[int, datetime]] = field(default_factory=list)
    purges: list[PurgeRecord] = field(default_factory=list)
    vouched: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    seals_at: dict[int, str] = field(default_factory=dict)


def verify_records(
    conn: Connection,
    keyring: AuditKeyring,
    *,
    anchors: AnchorStore | None,
    anchor_every: int,
    retention_days: int,
    now: Callable[[], datetime],
) -> ChainReport:
    """Verify the chain, the rows it vouches for and the anchors; see the module docstring."""
    # Anchors first: each names a head committed before it was written, so the snapshot below holds it.
    found, anchor_problems = anchors.read(keyring) if anchors is not None else ([], [])
    walk = _Walk(anchored_seqs={a.last_seq for a in found})
    for row in conn.execute(select(audit_entries).order_by(audit_entries.c.seq)):
        _check_entry(walk, row, keyring)
    breaks = walk.breaks
    breaks += _check_emptied(walk, now() - timedelta(days=retention_days), retention_days)
    breaks += _check_linked(walk, conn)
    breaks += _check_anchors(walk, found)
    breaks.sort(key=lambda b: (b.seq is None, b.seq or 0))
    breaks += [Break(None, f"anchor file {anchors.path if anchors else ''} line {p.line}: {p.problem}")
               for p in anchor_problems]
    if anchors is not None and not found and walk.count >= anchor_every:
        breaks.append(Break(None, f"no valid anchor in {anchors.path} although the chain has {walk.count} "
                                  f"entries (anchored every {anchor_every}): anchors deleted, or another database's"))
    newest = max((a.last_seq for a in found), default=None)
    return ChainReport(
        entries=walk.count,
        breaks=tuple(breaks),
        head_seal=walk.head,
        anchored_seq=newest,
        unanchored=max(0, walk.last_seq - (newest or 0)),
    )


def _check_entry(walk: _Walk, row: Any, keyring: AuditKeyring) -> None:
    walk.count += 1
    expected = walk.last_seq + 1
    problem: Break | None = None
    if row.seq != expected:
        problem = Break(expected, f"entry missing: expected seq {expected}, found seq {row.seq} next (deleted)")
    elif row.prev_seal != walk.head:
        problem = Break(row.seq, "prev_seal does not match the previous entry's seal (entries deleted or reordered)")
    elif row.key_id not in keyring.key_ids:
        problem = Break(row.seq, f"sealed with unknown key id {row.key_id} (forged, or a retired key is missing)")
    elif not keyring.verify(row.key_id, row.prev_seal, row_content(row), row.seal):
        problem = Break(row.seq, f"seal does not verify under key {row.key_id} "
                                 "(entry edited, or sealed without the key)")
    elif row.payload is not None and sha256_hex(row.payload) != row.payload_hash:
        problem = Break(row.seq, "payload does not match its sealed payload_hash (payload edited)")
    if problem is not None:
        walk.breaks.append(problem)
    elif row.payload is None:
        if row.kind == PURGE_KIND:
            walk.breaks.append(Break(row.seq, "a purge entry's own payload was removed (purges are never purged)"))
        else:
            walk.emptied.append((row.seq, datetime.fromisoformat(row.ts)))
    elif row.kind == PURGE_KIND:
        _note_purge(walk, row)
    if row.record_ref is not None and problem is None:
        walk.vouched[row.record_ref] = (row.seq, row.record_hash)
    if row.seq in walk.anchored_seqs:
        walk.seals_at[row.seq] = row.seal
    walk.head = row.seal
    walk.last_seq = row.seq


def _note_purge(walk: _Walk, row: Any) -> None:
    try:
        purge = PurgeRecord.from_payload(row.seq, row.ts, json.loads(row.payload))
    except (ValueError, KeyError, TypeError) as exc:
        walk.breaks.append(Break(row.seq, f"purge entry is unreadable ({exc})"))
        return
    if purge.before > purge.ts - timedelta(days=purge.retention_days):
        walk.breaks.append(Break(row.seq, f"purge cut-off {purge.before.isoformat()} is inside its own "
                                          f"retention period of {purge.retention_days} days"))
        return
    walk.purges.append(purge)


def _check_emptied(walk: _Walk, retention_cutoff: datetime, retention_days: int) -> Iterable[Break]:
    for seq, ts in walk.emptied:
        if any(p.covers(seq, ts) for p in walk.purges):
            continue
        if ts >= retention_cutoff:
            yield Break(seq, f"payload removed from an entry younger than the retention period ({retention_days} "
                             "days); no recorded purge covers it")
        else:
            yield Break(seq, "payload removed but no recorded purge covers this entry")


def _check_linked(walk: _Walk, conn: Connection) -> list[Break]:
    breaks: list[Break] = []
    seen: set[str] = set()
    tables = set(inspect(conn).get_table_names())
    if compliance_reports.name in tables:
        for report in conn.execute(select(compliance_reports)).mappings():
            ref = report_ref(report["report_id"])
            seen.add(ref)
            breaks += _compare(walk, ref, report_row_hash(report), f"compliance report {report['report_id']}")
    if journal_table.name in tables:
        for entry in conn.execute(select(journal_table)).mappings():
            ref = journal_ref(entry["idempotency_key"])
            seen.add(ref)
            breaks += _compare(walk, ref, journal_row_hash(entry), f"journal row {entry['idempotency_key']}")
    for ref, (seq, _) in walk.vouched.items():
        if ref not in seen:
            breaks.append(Break(seq, f"{ref} sealed at seq {seq} is missing from its table (row deleted)"))
    return breaks


def _compare(walk: _Walk, ref: str, actual: str, label: str) -> list[Break]:
    sealed = walk.vouched.get(ref)
    if sealed is None:
        return [Break(None, f"{label} is in no audit entry (inserted or renumbered outside the kiosk)")]
    seq, expected = sealed
    if expected != actual:
        return [Break(seq, f"{label} differs from the content sealed at seq {seq} (row edited)")]
    return []


def _check_anchors(walk: _Walk, anchors: list[Anchor]) -> list[Break]:
    breaks: list[Break] = []
    for anchor in anchors:
        seal = walk.seals_at.get(anchor.last_seq)
        if anchor.last_seq > walk.last_seq:
            breaks.append(Break(walk.last_seq + 1, f"chain ends at seq {walk.last_seq} but anchor line {anchor.line} "
                                f"({anchor.ts}) recorded seq {anchor.last_seq}: entries deleted from the tail "
                                "or the database restored from an older copy"))
        elif seal is not None and seal != anchor.head_seal:
            breaks.append(Break(anchor.last_seq, f"seal at seq {anchor.last_seq} differs from anchor line "
                                f"{anchor.line} ({anchor.ts}): the chain was rewritten"))
    return breaks
