"""The audit chain on a real SQLite file: sealed entries, anchors, purges, key rotation, old format.

Tampering of every kind an insider could try is in ``test_audit_tamper.py``; this file covers
the honest life of the trail and the commands that manage it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtm.audit import GENESIS_SEAL, AnchorWriteError, AuditFormatError, AuditLog, PurgeTooRecent
from vtm.audit.anchors import ANCHOR_FILE
from vtm.cli import app
from vtm.config import Settings
from vtm.records.journal import JournalError, JournalStatus, OperationJournal


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh data folder; the CLI reads the same one through the environment."""
    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VTM_AUDIT_ANCHOR_EVERY", "4")
    for name in ("VTM_RECORDS_DATABASE_URL", "VTM_AUDIT_KEY", "VTM_AUDIT_ANCHOR_DIR", "VTM_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


def db_file(settings: Settings) -> Path:
    return settings.data_dir / "records.sqlite3"


def filled(settings: Settings, n: int = 5, *, ts: datetime | None = None) -> AuditLog:
    log = AuditLog.from_settings(settings)
    for i in range(n):
        log.append(
            "verdict",
            {"checkpoint": "transfer.execute", "amount": f"{100 + i}.00", "payee": "王芳"},
            session_id=f"S-{i % 2}",
            ts=ts,
        )
    return log


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_untouched_chain_verifies_through_the_cli(settings: Settings) -> None:
    log = filled(settings)
    report = log.verify()
    assert report.ok, report.breaks
    assert report.entries == 5
    first = next(log.entries())
    assert (first.seq, first.prev_seal) == (1, GENESIS_SEAL)
    code, output = run("audit", "verify")
    assert code == 0, output
    assert "intact: 5 entries" in output
    assert "anchored to seq 4" in output


def test_the_key_lives_outside_the_database_and_the_repository(settings: Settings) -> None:
    filled(settings, 1)
    key_file = settings.keys_dir / "audit.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key_hex = key_file.read_text().strip()
    assert key_hex.encode() not in db_file(settings).read_bytes()
    assert "audit_key" not in repr(Settings(audit_key=key_hex))


def test_anchors_are_written_every_n_entries_and_on_command(settings: Settings) -> None:
    log = filled(settings, 9)
    lines = [json.loads(x) for x in (settings.audit_anchors_path / ANCHOR_FILE).read_text().splitlines()]
    assert [a["last_seq"] for a in lines] == [4, 8]
    code, output = run("audit", "anchor")
    assert code == 0, output
    assert "anchored seq 9" in output
    report = log.verify()
    assert report.ok
    assert (report.anchored_seq, report.unanchored) == (9, 0)


def test_a_legitimate_purge_past_retention_verifies_and_is_itself_recorded(settings: Settings) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    log = filled(settings, 3, ts=old)
    log.append("verdict", {"checkpoint": "balance.show"}, session_id="S-9")
    assert log.purge_payloads(before=datetime.now(UTC) - timedelta(days=settings.retention_days)) == 3
    entries = list(log.entries())
    assert [e.payload is None for e in entries[:3]] == [True, True, True]
    assert entries[3].payload == {"checkpoint": "balance.show"}
    purge = entries[4]
    assert purge.kind == "purge"
    assert purge.payload is not None
    assert (purge.payload["first_seq"], purge.payload["last_seq"], purge.payload["count"]) == (1, 3, 3)
    assert log.verify().ok
    log.append("verdict", {"checkpoint": "balance.show"}, session_id="S-10")
    assert log.verify().ok


def test_a_purge_inside_the_retention_period_is_refused(settings: Settings) -> None:
    log = filled(settings, 2)
    with pytest.raises(PurgeTooRecent):
        log.purge_payloads(before=datetime.now(UTC) + timedelta(seconds=1))
    assert all(e.payload is not None for e in log.entries())
    code, output = run("records", "purge", "--older-than", "1")
    assert code == 2
    assert "retention period" in output


def test_reports_and_journal_rows_are_written_with_their_entry(settings: Settings) -> None:
    log = AuditLog.from_settings(settings)
    journal = OperationJournal(log.engine, audit=log)
    journal.begin("K-1", "S-1", "transfer", {"amount": "25000.00", "to": "3100100000002015"})
    journal.finish("K-1", JournalStatus.DONE, {"reference": "T-1"})
    report = log.record_report(
        rule_id="RPT-LARGE", reason_code="LARGE_VALUE", session_id="S-1", customer_id="C-1", amount=Decimal("50000")
    )
    kinds = [(e.kind, e.record_ref) for e in log.entries()]
    assert kinds == [("journal", "journal:K-1"), ("journal", "journal:K-1"), ("report", f"report:{report.report_id}")]
    assert log.reports()[0].audit_seq == 3
    assert log.verify().ok


def test_a_journal_without_the_audit_log_is_read_only(settings: Settings) -> None:
    log = AuditLog.from_settings(settings)
    with pytest.raises(JournalError):
        OperationJournal(log.engine).begin("K-1", "S-1", "transfer", {})
    assert len(log) == 0


def test_two_logs_on_one_file_continue_one_chain(settings: Settings) -> None:
    first, second = filled(settings, 2), AuditLog.from_settings(settings)
    for i in range(10):
        (first if i % 2 else second).append("operation", {"i": i})
    report = first.verify()
    assert report.ok, report.breaks
    assert report.entries == 12


def test_a_rotated_key_keeps_old_entries_verifiable_until_it_is_lost(settings: Settings) -> None:
    filled(settings, 3)
    old_id = next(AuditLog.from_settings(settings).entries()).key_id
    code, output = run("audit", "rotate-key")
    assert code == 0, output
    rotated = AuditLog.from_settings(settings)
    rotated.append("verdict", {"checkpoint": "balance.show"})
    ids = [e.key_id for e in rotated.entries()]
    assert ids[:3] == [old_id] * 3
    assert ids[-1] != old_id
    assert rotated.verify().ok
    (settings.keys_dir / f"audit-retired-{old_id}.key").unlink()
    report = AuditLog.from_settings(settings).verify()
    assert report.broken_seq == 1
    assert "unknown key id" in (report.problem or "")


def test_a_chain_of_the_previous_format_is_refused_with_a_clear_error(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_file(settings)) as conn:
        conn.execute(
            "CREATE TABLE audit_entries (seq INTEGER PRIMARY KEY, ts TEXT, session_id TEXT, kind TEXT, "
            "payload TEXT, payload_hash TEXT, prev_hash TEXT, hash TEXT)"
        )
    with pytest.raises(AuditFormatError, match="old format"):
        AuditLog.from_settings(settings)
    code, output = run("audit", "verify")
    assert code == 2
    assert "plain SHA-256" in output


def test_an_unwritable_anchor_folder_fails_loudly_after_the_entry_is_committed(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.audit_anchors_path.write_text("not a folder")  # a file where the folder should be
    log = filled(settings, 3)
    with pytest.raises(AnchorWriteError, match="cannot write the audit anchor"):
        log.append("verdict", {"checkpoint": "balance.show"})
    assert len(log) == 4


def test_recovery_with_a_shared_journal_leaves_another_replicas_fresh_entry_alone(settings: Settings) -> None:
    """A replica starting while another is mid-transfer must not settle that transfer as not executed."""
    from vtm.kiosk.recovery import SHARED_JOURNAL_GRACE

    now = [datetime(2026, 11, 23, 10, 0, tzinfo=UTC)]
    log = AuditLog.from_settings(settings)
    journal = OperationJournal(log.engine, lambda: now[0], audit=log)
    journal.begin("K-old", "S-1", "transfer", {})
    now[0] += SHARED_JOURNAL_GRACE + timedelta(seconds=1)
    journal.begin("K-new", "S-2", "transfer", {})  # the other replica's call to the core is under way
    settled = journal.recover(lambda _op, _key: None, grace=SHARED_JOURNAL_GRACE)
    assert settled == [("K-old", JournalStatus.NOT_EXECUTED)]
    fresh = journal.get("K-new")
    assert fresh is not None
    assert fresh.status == JournalStatus.PENDING
    assert journal.recover(lambda _op, _key: {"reference": "T-1"}) == [("K-new", JournalStatus.DONE)]  # alone
    assert log.verify().ok
