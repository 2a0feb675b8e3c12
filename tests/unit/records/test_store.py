"""Session store: masked by default, raw text only encrypted, written per turn, filterable, purgeable."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from vtm.audit import AuditKeyring, AuditLog
from vtm.cli import app
from vtm.config import load_settings
from vtm.dialog.turn import Reply, TurnRecord
from vtm.records.crypto import KEY_FILE, RecordsCipher
from vtm.records.purge import purge_before
from vtm.records.store import RecordsError, SessionStore, UnknownSession
from vtm.records.views import PURGED, Outcome, SessionFilter

CARD = "6230887983054949930"
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'records.sqlite3'}"


@pytest.fixture
def store(db_url: str) -> SessionStore:
    return SessionStore.from_url(db_url, cipher=RecordsCipher(RecordsCipher.generate_key()))


def _turn(n: int, user: str | None = None, device: str | None = None, **extra: object) -> TurnRecord:
    rec = TurnRecord(turn=n, user=user, device=device)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def _session(
    store: SessionStore, sid: str, *, started: datetime = T0, kiosk: str = "VTM-0001", lang: str = "zh"
) -> None:
    store.open_session(sid, kiosk, lang, started)


def test_customer_text_is_stored_masked_and_the_raw_text_only_encrypted(store: SessionStore) -> None:
    _session(store, "S-1")
    store.record_turn(
        "S-1",
        _turn(1, user=f"我是张伟,卡号{CARD}丢了", replies=[Reply("k", "张伟您好", True)]),
        names=["张伟"],
    )
    turn = store.get_session("S-1").turns[0]
    assert turn.user_text == "我是张*,卡号6230 **** **** 9930丢了"
    assert turn.bot[0]["text"] == "张*您好"
    with store.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM record_turns")) for v in row)
    assert CARD not in dump
    assert "张伟" not in dump
    assert store.reveal("S-1", 1) == (f"我是张伟,卡号{CARD}丢了", None)


def test_device_commands_keep_their_raw_form_encrypted_but_never_a_pin(store: SessionStore) -> None:
    _session(store, "S-1")
    store.record_turn(
        "S-1", _turn(1, device="insert_card 6230 **** **** 9930"), names=[], device_raw=f"insert_card {CARD}"
    )
    store.record_turn("S-1", _turn(2, device="pin ******"), names=[], device_raw="pin 955756")
    assert store.reveal("S-1", 1) == (None, f"insert_card {CARD}")
    assert store.reveal("S-1", 2) == (None, None)
    with store.engine.connect() as conn:
        encrypted = [r[0] for r in conn.execute(text("SELECT device_enc FROM record_turns ORDER BY turn_no"))]
    assert encrypted[1] is None


def test_slots_verdicts_and_operations_are_masked_even_if_the_caller_forgot(store: SessionStore) -> None:
    _session(store, "S-1")
    store.record_turn(
        "S-1",
        _turn(
            1,
            user="转账",
            slots={"payee_account": CARD, "amount": "500.00"},
            verdicts=[
                {
                    "checkpoint": "transfer.confirm",
                    "outcome": "refer",
                    "rules": ["R-1"],
                    "reasons": ["watch"],
                    "note": f"payee {CARD}",
                }
            ],
            operations=[{"operation": "transfer", "key": "k1", "result": f"to {CARD}"}],
        ),
        names=[],
    )
    turn = store.get_session("S-1").turns[0]
    assert turn.slots == {"payee_account": "6230 **** **** 9930", "amount": "500.00"}
    assert turn.verdicts[0]["note"] == "payee 6230 **** **** 9930"
    assert turn.verdicts[0]["rules"] == ["R-1"]
    assert turn.operations[0]["result"] == "to 6230 **** **** 9930"


def test_each_turn_is_committed_so_a_crash_loses_at_most_the_turn_in_flight(db_url: str) -> None:
    writer = SessionStore.from_url(db_url)
    _session(writer, "S-1")
    writer.record_turn("S-1", _turn(1, user="你好"), names=[])
    writer.record_turn("S-1", _turn(2, user="我的卡丢了"), names=[])
    # A second process opening the database sees both turns without the writer closing anything.
    reader = SessionStore.from_url(db_url)
    detail = reader.get_session("S-1")
    assert [t.user_text for t in detail.turns] == ["你好", "我的卡丢了"]
    assert detail.summary.outcome == "active"


def test_a_store_without_a_key_keeps_nothing_it_could_unmask(db_url: str) -> None:
    plain = SessionStore.from_url(db_url)
    _session(plain, "S-1")
    plain.record_turn("S-1", _turn(1, user=f"卡号{CARD}"), names=[])
    assert plain.reveal("S-1", 1) == (None, None)
    assert plain.get_session("S-1").turns[0].has_raw_user is False


def test_closing_stores_outcome_transactions_and_only_a_pseudonym_of_the_customer(
    store: SessionStore,
) -> None:
    _session(store, "S-1")
    _session(store, "S-2", started=T0 + timedelta(hours=1))
    store.close_session("S-1", "completed", ["card_loss"], "C-000123", T0 + timedelta(minutes=3))
    store.close_session("S-2", "handed_off", [], "C-000123", T0 + timedelta(hours=1, minutes=2))
    one, two = store.get_session("S-1").summary, store.get_session("S-2").summary
    assert one.outcome == "completed"
    assert one.transactions == ("card_loss",)
    assert one.customer_ref is not None
    assert "000123" not in one.customer_ref
    assert one.customer_ref == two.customer_ref  # the same customer links, unnamed
    with pytest.raises(ValueError, match="exploded"):
        store.close_session("S-1", "exploded", [], None, T0)
    with pytest.raises(UnknownSession):
        store.close_session("S-404", "completed", [], None, T0)


def test_recording_a_turn_of_a_session_never_opened_is_an_error(store: SessionStore) -> None:
    with pytest.raises(UnknownSession):
        store.record_turn("S-404", _turn(1, user="hi"), names=[])


@pytest.fixture
def populated(store: SessionStore) -> SessionStore:
    _session(store, "S-done", started=T0)
    store.record_turn(
        "S-done", _turn(1, user="我的卡丢了", intent="report_card_lost"), names=[], asr_confidence=0.95
    )
    store.close_session("S-done", "completed", ["card_loss"], None, T0 + timedelta(minutes=2))
    _session(store, "S-deny", started=T0 + timedelta(days=1), kiosk="VTM-0002")
    store.record_turn(
        "S-deny",
        _turn(
            1,
            user="转五万",
            verdicts=[
                {
                    "checkpoint": "transfer.confirm",
                    "outcome": "deny",
                    "rules": ["R-LIMIT"],
                    "reasons": ["limit"],
                }
            ],
        ),
        names=[],
        asr_confidence=0.41,
    )
    store.close_session("S-deny", "failed", ["transfer"], None, T0 + timedelta(days=1, minutes=2))
    _session(store, "S-refer", started=T0 + timedelta(days=2), lang="en")
    store.record_turn(
        "S-refer",
        _turn(
            1,
            user="I want a person",
            verdicts=[
                {
                    "checkpoint": "transfer.confirm",
                    "outcome": "refer",
                    "rules": ["R-WATCH"],
                    "reasons": ["watch"],
                }
            ],
        ),
        names=[],
    )
    store.close_session("S-refer", "handed_off", [], None, T0 + timedelta(days=2, minutes=1))
    store.add_tag("S-refer", "needs-training", "alice")
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SessionFilter(), {"S-done", "S-deny", "S-refer"}),
        (SessionFilter(outcome=Outcome.COMPLETED), {"S-done"}),
        (SessionFilter(handed_off=True), {"S-refer"}),
        (SessionFilter(verdict="deny"), {"S-deny"}),
        (SessionFilter(verdict="refer"), {"S-refer"}),
        (SessionFilter(asr_below=0.6), {"S-deny"}),
        (SessionFilter(transaction="transfer"), {"S-deny"}),
        (SessionFilter(kiosk_id="VTM-0002"), {"S-deny"}),
        (SessionFilter(lang="en"), {"S-refer"}),
        (SessionFilter(tagged=True), {"S-refer"}),
        (SessionFilter(tag="needs-training"), {"S-refer"}),
        (
            SessionFilter(
                started_from=T0 + timedelta(hours=12), started_before=T0 + timedelta(days=1, hours=12)
            ),
            {"S-deny"},
        ),
        (SessionFilter(search="卡丢"), {"S-done"}),
        (SessionFilter(search="PERSON"), {"S-refer"}),
        (SessionFilter(search="' OR 1=1 --"), set()),
        (SessionFilter(search="%"), set()),
    ],
)
def test_the_session_list_filters(
    populated: SessionStore, filters: SessionFilter, expected: set[str]
) -> None:
    page = populated.list_sessions(filters)
    assert {s.session_id for s in page.items} == expected
    assert page.total == len(expected)


def test_the_session_list_is_paginated_newest_first(store: SessionStore) -> None:
    for i in range(7):
        _session(store, f"S-{i}", started=T0 + timedelta(minutes=i))
    first = store.list_sessions(page=1, per_page=3)
    last = store.list_sessions(page=3, per_page=3)
    assert [s.session_id for s in first.items] == ["S-6", "S-5", "S-4"]
    assert [s.session_id for s in last.items] == ["S-0"]
    assert first.total == 7
    assert first.pages == 3


def test_tags_and_notes_are_kept_per_session_or_turn_with_their_author(populated: SessionStore) -> None:
    populated.add_tag("S-done", "good", "bob", turn_no=1)
    populated.add_tag("S-done", "good", "bob", turn_no=1)  # idempotent
    note_id = populated.add_note("S-done", "<script>alert(1)</script>", "bob", turn_no=1)
    detail = populated.get_session("S-done")
    assert [(t.tag, t.turn_no, t.created_by) for t in detail.tags] == [("good", 1, "bob")]
    assert [(n.note_id, n.text, n.created_by) for n in detail.notes] == [
        (note_id, "<script>alert(1)</script>", "bob")
    ]
    populated.remove_tag("S-done", "good", turn_no=1)
    assert populated.get_session("S-done").tags == []
    with pytest.raises(RecordsError):
        populated.add_note("S-done", "   ", "bob")
    with pytest.raises(UnknownSession):
        populated.add_tag("S-404", "x", "bob")


def test_staff_access_is_logged_with_who_what_and_why(populated: SessionStore) -> None:
    populated.log_access(
        "carol", "S-done", "unmask", turn_no=1, field="user", reason="customer complaint #42"
    )
    populated.log_access("bob", "S-deny", "view")
    entries = populated.access_log(session_id="S-done")
    assert [(e.username, e.action, e.turn_no, e.field, e.reason) for e in entries] == [
        ("carol", "unmask", 1, "user", "customer complaint #42")
    ]
    assert len(populated.access_log()) == 2


def _old_session_with_audio(store: SessionStore, audio_dir: Path) -> Path:
    audio_dir.mkdir(parents=True, exist_ok=True)
    audio = audio_dir / "S-old-1.wav"
    audio.write_bytes(b"RIFF....WAVE")
    old = T0 - timedelta(days=400)
    store.open_session("S-old", "VTM-0001", "zh", old)
    store.record_turn(
        "S-old",
        _turn(
            1,
            user=f"卡号{CARD}",
            slots={"payee_name": "张伟"},
            replies=[Reply("k", "好的", True)],
            intent="report_card_lost",
        ),
        names=["张伟"],
        audio_path=str(audio),
        ts=old,
    )
    store.record_turn(
        "S-old",
        _turn(2, device="insert_card 6230 **** **** 9930"),
        names=[],
        device_raw=f"insert_card {CARD}",
        ts=old,
    )
    store.close_session("S-old", "completed", ["card_loss"], None, old + timedelta(minutes=2))
    return audio


def test_purge_deletes_audio_and_personal_text_but_keeps_what_happened(
    store: SessionStore, tmp_path: Path
) -> None:
    audio = _old_session_with_audio(store, tmp_path / "audio")
    _session(store, "S-new", started=T0)
    store.record_turn("S-new", _turn(1, user="我的卡丢了"), names=[])
    audit = AuditLog(store.engine, AuditKeyring.ephemeral())
    report = purge_before(audit, T0 - timedelta(days=180), audio_root=tmp_path / "audio")
    assert (report.sessions, report.turns, report.audio_files) == (1, 2, 1)
    assert not audio.exists()
    old = store.get_session("S-old")
    assert old.summary.purged
    assert old.summary.outcome == "completed"
    first, second = old.turns
    assert first.user_text == PURGED
    assert not first.has_audio
    assert first.intent == "report_card_lost"
    assert first.slots == {"payee_name": PURGED}
    assert second.device == "insert_card"
    assert store.reveal("S-old", 1) == (None, None)
    assert store.reveal("S-old", 2) == (None, None)
    assert store.get_session("S-new").turns[0].user_text == "我的卡丢了"
    assert purge_before(audit, T0 - timedelta(days=180)).sessions == 0


def test_purge_keeps_the_audit_chain_verifiable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path))
    settings = load_settings()
    store = SessionStore.from_settings(settings)
    audit = AuditLog.from_settings(settings, engine=store.engine)
    audio = _old_session_with_audio(store, settings.audio_dir)
    audit.append(
        "verdict", {"outcome": "allow", "card": CARD}, session_id="S-old", ts=T0 - timedelta(days=400)
    )
    audit.append("verdict", {"outcome": "allow"}, session_id="S-new", ts=T0)
    runner = CliRunner()
    purged = runner.invoke(app, ["records", "purge", "--older-than", "200"])
    assert purged.exit_code == 0, purged.output
    assert "purged 1 sessions" in purged.output
    assert not audio.exists()
    entries = list(audit.entries())
    assert [e.payload for e in entries[:2]] == [None, {"outcome": "allow"}]
    assert entries[2].kind == "purge"
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "intact: 3 entries" in verified.output


def test_the_records_key_file_is_created_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VTM_RECORDS_KEY", raising=False)
    settings = load_settings(data_dir=tmp_path)
    first = RecordsCipher.from_settings(settings)
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = first.encrypt("6230887983054949930")
    assert RecordsCipher.from_settings(settings).decrypt(token) == "6230887983054949930"


def test_records_list_prints_recent_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path))
    store = SessionStore.from_settings(load_settings())
    _session(store, "S-listed")
    store.close_session("S-listed", "cancelled", [], None, T0 + timedelta(minutes=1))
    result = CliRunner().invoke(app, ["records", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert '"session_id": "S-listed"' in result.output
    assert '"outcome": "cancelled"' in result.output
