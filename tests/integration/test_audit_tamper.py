"""An insider with the records database (and ``sqlite3``) tries to rewrite the audit trail.

Every case edits the SQLite file directly, as someone with database access would, and then asks
:meth:`AuditLog.verify`, the call behind ``vtm audit verify`` (the CLI itself runs for several
cases). The insider holds neither the audit key nor the anchor folder, except where a test says
so. The honest cases (an untouched trail, a real purge) are in ``test_audit_chain.py``; a real
kiosk session is at the end of this file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtm.audit import AuditLog, ChainReport, PurgeTooRecent
from vtm.audit.anchors import ANCHOR_FILE
from vtm.cli import app
from vtm.config import Settings, load_settings
from vtm.dialog.manager import DialogManager
from vtm.kiosk.script import load_script
from vtm.kiosk.sim import play_turn
from vtm.kiosk.testing import DEFAULT_TODAY, ConversationRunner
from vtm.records.journal import JournalStatus, OperationJournal

ENTRIES = 12  # anchored every 4 entries and once more at the end (a session close)
SESSION_SCRIPT = "gate_step_up_second_pin_large_amount.yaml"  # a transfer: verdicts, journal, operations


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VTM_AUDIT_ANCHOR_EVERY", "4")
    for name in ("VTM_RECORDS_DATABASE_URL", "VTM_AUDIT_KEY", "VTM_AUDIT_ANCHOR_DIR", "VTM_ENV_FILE"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


@pytest.fixture
def trail(settings: Settings) -> AuditLog:
    """Verdicts, a journalled transfer, a compliance report and staff access: one session's trail."""
    log = AuditLog.from_settings(settings)
    journal = OperationJournal(log.engine, audit=log)
    for checkpoint in ("card.inserted", "identity.pin", "transfer.collect", "transfer.confirm"):
        log.append("verdict", {"checkpoint": checkpoint, "outcome": "allow", "payee": "李娜"}, session_id="S-1")
    journal.begin("K-1", "S-1", "transfer", {"amount": "60000.00", "to": "3100100000002015"})
    log.append("operation_call", {"operation": "transfer", "amount": "60000.00"}, session_id="S-1")
    journal.finish("K-1", JournalStatus.DONE, {"reference": "T-0001"})
    log.record_report(rule_id="RPT-LARGE-VALUE", reason_code="large_value", session_id="S-1",
                      customer_id="C-1", amount=Decimal("60000.00"))
    log.append("verdict", {"checkpoint": "receipt.offer", "outcome": "allow"}, session_id="S-1")
    log.append("staff_view", {"user": "auditor"}, session_id="S-1")
    log.append("verdict", {"checkpoint": "session.end", "outcome": "allow"}, session_id="S-1")
    log.append("verdict", {"checkpoint": "card.returned", "outcome": "allow"}, session_id="S-1")
    log.anchor()  # what SessionRecorder.closed does
    assert len(log) == ENTRIES
    assert log.verify().ok, log.verify().breaks
    return log


@pytest.fixture
def db(trail: AuditLog, settings: Settings) -> Iterator[sqlite3.Connection]:
    """The insider's own connection to the records file."""
    trail.engine.dispose()
    conn = sqlite3.connect(settings.data_dir / "records.sqlite3", isolation_level=None)
    yield conn
    conn.close()


def verify(settings: Settings) -> ChainReport:
    return AuditLog.from_settings(settings).verify()


def verify_cli() -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify"])
    return result.exit_code, result.output


def seq_of(db: sqlite3.Connection, kind: str) -> int:
    return int(db.execute("SELECT min(seq) FROM audit_entries WHERE kind = ?", (kind,)).fetchone()[0])


def reseal_from(db: sqlite3.Connection, start: int, seal: object) -> None:
    """Recompute payload hashes and every seal from ``start`` on, as a forger would."""
    rows = db.execute(
        "SELECT seq, ts, session_id, kind, payload, record_ref, record_hash, key_id FROM audit_entries "
        "WHERE seq >= ? ORDER BY seq", (start,)
    ).fetchall()
    (prev,) = db.execute("SELECT seal FROM audit_entries WHERE seq = ?", (start - 1,)).fetchone()
    for seq, ts, session_id, kind, payload, ref, ref_hash, kid in rows:
        payload_hash = hashlib.sha256(payload.encode()).hexdigest() if payload else None
        material = json.dumps({"v": 2, "seq": seq, "ts": ts, "session_id": session_id, "kind": kind,
                               "payload_hash": payload_hash, "record_ref": ref, "record_hash": ref_hash,
                               "key_id": kid}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        new = seal(prev, material)  # type: ignore[operator]
        db.execute("UPDATE audit_entries SET payload_hash = coalesce(?, payload_hash), prev_seal = ?, seal = ? "
                   "WHERE seq = ?", (payload_hash, prev, new, seq))
        prev = new


# Deleting -------------------------------------------------------------------------------------
def test_deleting_the_tail_is_caught_by_the_anchor(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM audit_entries WHERE seq > ?", (ENTRIES - 2,))
    report = verify(settings)
    assert report.broken_seq == ENTRIES - 1
    assert "deleted from the tail" in (report.problem or "")
    code, output = verify_cli()
    assert code == 1
    assert f"seq {ENTRIES - 1}" in output


def test_restoring_an_older_copy_of_the_database_is_caught(settings: Settings, trail: AuditLog) -> None:
    file = settings.data_dir / "records.sqlite3"
    trail.engine.dispose()
    shutil.copyfile(file, settings.data_dir / "backup.sqlite3")
    for i in range(5):
        trail.append("verdict", {"i": i}, session_id="S-2")
    trail.anchor()
    trail.engine.dispose()
    shutil.copyfile(settings.data_dir / "backup.sqlite3", file)
    for suffix in ("-wal", "-shm"):
        Path(f"{file}{suffix}").unlink(missing_ok=True)
    report = verify(settings)
    assert report.broken_seq == ENTRIES + 1
    assert "older copy" in (report.problem or "")


def test_deleting_a_middle_entry_is_named(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM audit_entries WHERE seq = 3")
    report = verify(settings)
    assert report.broken_seq == 3
    assert "entry missing" in (report.problem or "")


def test_renumbering_after_a_delete_does_not_hide_it(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM audit_entries WHERE seq = 3")
    db.execute("UPDATE audit_entries SET seq = seq - 1 WHERE seq > 3")
    report = verify(settings)
    assert report.broken_seq == 3


# Emptying payloads ----------------------------------------------------------------------------
def test_nulling_recent_payloads_is_not_a_purge(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("UPDATE audit_entries SET payload = NULL WHERE seq >= ?", (ENTRIES - 2,))
    report = verify(settings)
    assert report.broken_seq == ENTRIES - 2
    assert "younger than the retention period" in (report.problem or "")
    code, output = verify_cli()
    assert code == 1
    assert "retention" in output


def test_nulling_an_old_payload_without_a_recorded_purge_is_caught(settings: Settings) -> None:
    log = AuditLog.from_settings(settings)
    log.append("verdict", {"card": "6230887983054949930"}, ts=datetime.now(UTC) - timedelta(days=400))
    log.append("verdict", {"outcome": "allow"})
    log.engine.dispose()
    with sqlite3.connect(settings.data_dir / "records.sqlite3") as conn:
        conn.execute("UPDATE audit_entries SET payload = NULL WHERE seq = 1")
    report = verify(settings)
    assert report.broken_seq == 1
    assert "no recorded purge" in (report.problem or "")


def test_a_forged_purge_entry_does_not_cover_young_rows(settings: Settings, db: sqlite3.Connection) -> None:
    (head,) = db.execute("SELECT seal FROM audit_entries WHERE seq = ?", (ENTRIES,)).fetchone()
    payload = json.dumps({"before": datetime.now(UTC).isoformat(), "first_seq": 1, "last_seq": ENTRIES,
                          "retention_days": 0, "count": ENTRIES}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(payload.encode()).hexdigest()
    db.execute("UPDATE audit_entries SET payload = NULL WHERE seq <= 4")
    db.execute("INSERT INTO audit_entries VALUES (?, ?, NULL, 'purge', ?, ?, NULL, NULL, ?, ?, ?)",
               (ENTRIES + 1, datetime.now(UTC).isoformat(), payload, digest,
                db.execute("SELECT key_id FROM audit_entries WHERE seq = 1").fetchone()[0], head,
                hashlib.sha256((head + payload).encode()).hexdigest()))
    report = verify(settings)
    assert report.broken_seq == 1
    assert any(b.seq == ENTRIES + 1 and "seal does not verify" in b.problem for b in report.breaks)


def test_a_purge_of_young_rows_through_the_api_is_refused(trail: AuditLog) -> None:
    with pytest.raises(PurgeTooRecent):
        trail.purge_payloads(before=datetime.now(UTC))
    assert trail.verify().ok


def test_nulling_a_young_payload_after_a_real_purge_is_caught(settings: Settings) -> None:
    log = AuditLog.from_settings(settings)
    log.append("verdict", {"old": True}, ts=datetime.now(UTC) - timedelta(days=400))
    log.append("verdict", {"young": True})
    log.purge_payloads(before=datetime.now(UTC) - timedelta(days=settings.retention_days))
    assert log.verify().ok
    log.engine.dispose()
    with sqlite3.connect(settings.data_dir / "records.sqlite3") as conn:
        conn.execute("UPDATE audit_entries SET payload = NULL WHERE seq = 2")
    assert verify(settings).broken_seq == 2


# Editing and re-sealing ------------------------------------------------------------------------
def test_editing_a_payload_is_named(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("UPDATE audit_entries SET payload = replace(payload, '李娜', '王芳') WHERE seq = 2")
    report = verify(settings)
    assert report.broken_seq == 2
    assert "payload edited" in (report.problem or "")


def test_editing_and_resealing_with_plain_sha256_is_caught(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("UPDATE audit_entries SET payload = replace(payload, '李娜', '王芳') WHERE seq = 2")
    reseal_from(db, 2, lambda prev, material: hashlib.sha256((prev + material).encode()).hexdigest())
    report = verify(settings)
    assert report.broken_seq == 2
    assert "seal does not verify" in (report.problem or "")


@pytest.mark.parametrize("claimed_key", ["real key id", "attacker's key id"])
def test_editing_and_resealing_with_hmac_under_another_key_is_caught(
    settings: Settings, db: sqlite3.Connection, claimed_key: str
) -> None:
    forged_key = b"\x01" * 32
    if claimed_key != "real key id":
        db.execute("UPDATE audit_entries SET key_id = 'deadbeefdeadbeef' WHERE seq >= 2")
    db.execute("UPDATE audit_entries SET payload = replace(payload, '李娜', '王芳') WHERE seq = 2")
    reseal_from(db, 2, lambda prev, material: hmac.new(
        forged_key, b"vtm-audit-entry/2\x00" + prev.encode() + b"\x00" + material.encode(), hashlib.sha256
    ).hexdigest())
    report = verify(settings)
    assert report.broken_seq == 2
    assert ("unknown key id" if claimed_key != "real key id" else "seal does not verify") in (report.problem or "")


def test_swapping_two_entries_is_caught(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("UPDATE audit_entries SET seq = -2 WHERE seq = 2")
    db.execute("UPDATE audit_entries SET seq = 2 WHERE seq = 3")
    db.execute("UPDATE audit_entries SET seq = 3 WHERE seq = -2")
    assert verify(settings).broken_seq == 2


def test_changing_an_entrys_time_or_session_is_caught(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("UPDATE audit_entries SET session_id = 'S-OTHER' WHERE seq = 5")
    assert verify(settings).broken_seq == 5


# Rows the chain vouches for -------------------------------------------------------------------
def test_editing_a_compliance_report_is_caught(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("UPDATE compliance_reports SET amount = '6000.00'")
    report = verify(settings)
    assert report.broken_seq == seq_of(db, "report")
    assert "compliance report" in (report.problem or "")
    code, output = verify_cli()
    assert code == 1
    assert "row edited" in output


def test_deleting_a_compliance_report_is_caught(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM compliance_reports")
    report = verify(settings)
    assert report.broken_seq == seq_of(db, "report")
    assert "row deleted" in (report.problem or "")


def test_inserting_a_compliance_report_by_hand_is_caught(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO compliance_reports (ts, session_id, rule_id, reason_code, customer_id, amount, audit_seq) "
               "VALUES ('2026-01-01T00:00:00+00:00', 'S-9', 'RPT-LARGE-VALUE', 'large_value', 'C-9', '1.00', 99)")
    report = verify(settings)
    assert not report.ok
    assert "in no audit entry" in (report.problem or "")


def test_deleting_a_journal_row_is_caught(settings: Settings, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM operation_journal WHERE idempotency_key = 'K-1'")
    report = verify(settings)
    assert not report.ok
    assert "journal:K-1" in (report.problem or "")


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE operation_journal SET status = 'pending', result = NULL",  # rolled back to "never finished"
        "UPDATE operation_journal SET params = replace(params, '60000.00', '6000.00')",
    ],
)
def test_editing_a_journal_row_is_caught(settings: Settings, db: sqlite3.Connection, edit: str) -> None:
    db.execute(edit)
    report = verify(settings)
    assert report.broken_seq == int(
        db.execute("SELECT max(seq) FROM audit_entries WHERE record_ref = 'journal:K-1'").fetchone()[0]
    )
    assert "journal row K-1" in (report.problem or "")


# The anchor folder (an insider who also reaches it) ---------------------------------------------
def test_an_edited_anchor_line_is_caught(settings: Settings, trail: AuditLog) -> None:
    path = settings.audit_anchors_path / ANCHOR_FILE
    lines = path.read_text().splitlines()
    forged = json.loads(lines[-1]) | {"last_seq": 3}
    path.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    report = verify(settings)
    assert not report.ok
    assert "MAC does not verify" in (report.problem or "")


def test_a_long_chain_without_any_anchor_is_caught(settings: Settings, trail: AuditLog) -> None:
    shutil.rmtree(settings.audit_anchors_path)
    report = verify(settings)
    assert not report.ok
    assert "no valid anchor" in (report.problem or "")


# The honest case: a real kiosk session ---------------------------------------------------------
@pytest.mark.slow
def test_a_real_kiosk_session_verifies_clean_and_is_anchored_at_its_end(tmp_path: Path) -> None:
    base = load_settings()
    runner = ConversationRunner(base.model_copy(update={"data_dir": tmp_path / "base"}))
    try:
        script = load_script(base.content_root / "dialogs" / "tests" / "zh" / SESSION_SCRIPT)
        services, clock = runner.services_for(script, tmp_path / "data")
        dm = DialogManager(services, services.new_session(script.lang), today=script.today or DEFAULT_TODAY)
        dm.start()
        for turn in script.turns:
            play_turn(dm, services.devices, turn, clock.advance)  # type: ignore[arg-type]
        dm.close()
        log = AuditLog.from_settings(services.settings)
        kinds = {e.kind for e in log.entries()}
        assert {"verdict", "journal"} <= kinds
        report = log.verify()
        assert report.ok, report.breaks
        assert report.unanchored == 0  # the session's close anchored its last entry
    finally:
        runner.close()


def test_even_the_key_holder_cannot_rewrite_what_was_anchored(settings: Settings, db: sqlite3.Connection) -> None:
    """The forger above is faithful: with the real key its chain seals verify, and only the anchors object."""
    key = bytes.fromhex((settings.keys_dir / "audit.key").read_text().strip())
    db.execute("UPDATE audit_entries SET payload = replace(payload, '李娜', '王芳') WHERE seq = 2")
    reseal_from(db, 2, lambda prev, material: hmac.new(
        key, b"vtm-audit-entry/2\x00" + prev.encode() + b"\x00" + material.encode(), hashlib.sha256
    ).hexdigest())
    report = verify(settings)
    assert report.broken_seq == 4  # the first anchored head after the edit
    assert all("the chain was rewritten" in b.problem for b in report.breaks)
