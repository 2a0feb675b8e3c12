"""The audit chain on a real SQLite file: `vtm audit verify` detects tampering; purging is not tampering."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtm.cli import app
from vtm.records.audit import GENESIS_HASH, AuditLog


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "records.sqlite3"


def filled(db: Path, n: int = 5) -> AuditLog:
    log = AuditLog.from_url(f"sqlite:///{db}")
    for i in range(n):
        log.append(
            "verdict",
            {"checkpoint": "transfer.execute", "amount": f"{100 + i}.00", "payee": "王芳"},
            session_id=f"S-{i % 2}",
        )
    return log


def verify_cli(db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", "--db", f"sqlite:///{db}"])
    return result.exit_code, result.output


def test_untouched_chain_verifies(db: Path) -> None:
    log = filled(db)
    report = log.verify()
    assert report.ok
    assert report.entries == 5
    first = next(log.entries())
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH
    code, output = verify_cli(db)
    assert code == 0
    assert "intact: 5 entries" in output


def test_edited_payload_is_named_by_verify(db: Path) -> None:
    filled(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_entries SET payload = replace(payload, '102.00', '902.00') WHERE seq = 3")
    code, output = verify_cli(db)
    assert code == 1
    assert "seq 3" in output
    assert "payload" in output


def test_edited_payload_with_recomputed_payload_hash_is_still_caught(db: Path) -> None:
    import hashlib

    filled(db)
    with sqlite3.connect(db) as conn:
        (payload,) = conn.execute("SELECT payload FROM audit_entries WHERE seq = 2").fetchone()
        forged = payload.replace("101.00", "901.00")
        conn.execute(
            "UPDATE audit_entries SET payload = ?, payload_hash = ? WHERE seq = 2",
            (forged, hashlib.sha256(forged.encode()).hexdigest()),
        )
    report = AuditLog.from_url(f"sqlite:///{db}").verify()
    assert report.broken_seq == 2
    assert "entry hash" in (report.problem or "")


def test_deleted_entry_breaks_the_chain_at_the_gap(db: Path) -> None:
    filled(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_entries WHERE seq = 4")
    code, output = verify_cli(db)
    assert code == 1
    assert "seq 4" in output


def test_purged_payloads_keep_the_chain_verifiable(db: Path) -> None:
    log = filled(db)
    purged = log.purge_payloads(before=datetime.now(UTC) + timedelta(seconds=1))
    assert purged == 5
    assert all(e.payload is None for e in log.entries())
    assert log.verify().ok
    log.append("verdict", {"checkpoint": "balance.show"}, session_id="S-9")
    assert log.verify().ok
    assert len(log) == 6


def test_two_logs_on_one_file_continue_one_chain(db: Path) -> None:
    first, second = filled(db, 2), AuditLog.from_url(f"sqlite:///{db}")
    for i in range(10):
        (first if i % 2 else second).append("operation", {"i": i})
    report = first.verify()
    assert report.ok
    assert report.entries == 12
