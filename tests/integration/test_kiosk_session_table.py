"""The kiosk_sessions table: sealed rows, optimistic versions, one holder per kiosk across processes
(PostgreSQL advisory lock; SQLite: one process per file), and the outbox of records that makes every
turn stored exactly once when a holder dies between saving a session and writing its records.

Runs on SQLite files; the PostgreSQL tests use ``VTM_TEST_POSTGRES_URL`` (``source scripts/postgres.sh``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from vtm.audit.db import records_engine
from vtm.dialog.session import Session, SessionOutcome
from vtm.dialog.turn import Reply, TurnRecord
from vtm.records.crypto import RecordsCipher
from vtm.records.kiosk_sessions import (
    HeldKiosk,
    KioskSessionTable,
    SessionBusy,
    SessionConflict,
    SessionsInUse,
)
from vtm.records.outbox import HeldRecords
from vtm.records.store import SessionStore

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CARD = "6230887983054949930"


def _clock() -> datetime:
    return T0


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'records.sqlite3'}"


@pytest.fixture
def cipher() -> RecordsCipher:
    return RecordsCipher(RecordsCipher.generate_key())


def test_a_saved_session_comes_back_and_is_sealed_at_rest(url: str, cipher: RecordsCipher) -> None:
    table = KioskSessionTable(records_engine(url), cipher=cipher)
    with table.hold("K1") as held:
        assert held.stored is None
        first = held.save("S-1", {"card": CARD, "turn": 1})
        second = held.save("S-1", {"card": CARD, "turn": 2})
    assert (first.version, second.version) == (1, 2)
    with table.hold("K1") as held:
        assert held.stored is not None
        assert held.stored.payload == {"card": CARD, "turn": 2}
        assert held.stored.session_id == "S-1"
    with table.engine.connect() as conn:
        raw = " ".join(str(v) for v in conn.execute(text("SELECT * FROM kiosk_sessions")).one())
    assert CARD not in raw  # a database dump shows no card number
    assert table.session_ids() == {"K1": "S-1"}
    table.close()


def test_a_save_over_a_version_someone_else_changed_writes_nothing(url: str) -> None:
    table = KioskSessionTable(records_engine(url))
    with table.hold("K1") as held:
        held.save("S-1", {"turn": 1})
        stale = held.stored
        held.save("S-1", {"turn": 2})
    with pytest.raises(SessionConflict, match="no longer version 1"):
        HeldKiosk(table, "K1", stale).save("S-1", {"turn": 99})
    with pytest.raises(SessionConflict):
        HeldKiosk(table, "K1", None).save("S-2", {"turn": 1})  # as if no session had been there
    with table.hold("K1") as held:
        assert held.stored is not None
        assert held.stored.payload == {"turn": 2}
        held.delete()
    assert table.session_ids() == {}
    table.close()


def test_the_sessions_nobody_touched_since_a_time_are_listed(url: str) -> None:
    now = [T0]
    table = KioskSessionTable(records_engine(url), clock=lambda: now[0])
    with table.hold("K-left") as held:
        held.save("S-1", {"turn": 3})
    now[0] = T0 + timedelta(hours=23)
    with table.hold("K-busy") as held:
        held.save("S-2", {"turn": 1})
    assert table.untouched_since(T0 + timedelta(hours=1)) == ["K-left"]
    assert sorted(table.untouched_since(T0 + timedelta(hours=24))) == ["K-busy", "K-left"]
    assert table.untouched_since(T0) == []
    table.close()


def test_only_one_process_may_serve_kiosks_from_an_sqlite_file(url: str) -> None:
    first = KioskSessionTable(records_engine(url))
    with pytest.raises(SessionsInUse, match="SQLite allows one"):
        KioskSessionTable(records_engine(url))
    first.close()
    KioskSessionTable(records_engine(url)).close()  # free again once the first one stopped


# The outbox -------------------------------------------------------------------------------------
def _session() -> Session:
    return Session(session_id="S-9", kiosk_id="K1", lang="en", started_at=T0, last_activity_at=T0)


def _record(n: int, user: str) -> TurnRecord:
    return TurnRecord(turn=n, user=user, state="idle", replies=[Reply("k", f"reply {n}")],
                      verdicts=[{"checkpoint": "session.start", "outcome": "allow", "rules": []}],
                      latency_ms={"turn": 1.5})


def _held_session(store: SessionStore) -> tuple[HeldRecords, Session]:
    records, session = HeldRecords(store, _clock), _session()
    records.opened(session)
    records.turn(session, _record(1, f"my card is {CARD}"), [])
    records.turn(session, _record(2, "yes"), [])
    session.outcome = SessionOutcome.COMPLETED
    records.closed(session)
    return records, session


def test_held_records_are_written_only_on_flush_and_in_order(url: str, cipher: RecordsCipher) -> None:
    store = SessionStore.from_url(url, cipher=cipher)
    records, _ = _held_session(store)
    assert store.session_ids() == []  # nothing written while the session is not saved
    records.flush()
    detail = store.get_session("S-9")
    assert [t.turn_no for t in detail.turns] == [1, 2]
    assert detail.turns[0].user_text == "my card is 6230 **** **** 9930"
    assert detail.summary.outcome == "completed"
    assert records.pending() == []


def test_a_replica_writes_what_a_dead_holder_saved_but_did_not_write_and_nothing_twice(
        url: str, cipher: RecordsCipher) -> None:
    store = SessionStore.from_url(url, cipher=cipher)
    records, session = _held_session(store)
    saved = json.loads(json.dumps(records.pending()))  # what the row holds; the holder dies here
    store.open_session("S-9", "K1", "en", T0)  # ...after writing the first item only
    taking_over = HeldRecords(store, _clock, opened=True)
    assert taking_over.replay(saved) == 3  # both turns and the end
    assert taking_over.replay(saved) == 0  # a second replica finds nothing left to write
    detail = store.get_session("S-9")
    assert [t.turn_no for t in detail.turns] == [1, 2]
    assert detail.turns[1].bot[0]["text"] == "reply 2"
    assert detail.turns[0].latency_ms == {"turn": 1.5}
    assert detail.summary.outcome == "completed"
    assert session.session_id == "S-9"


def test_a_restored_session_does_not_record_its_opening_or_its_end_again(url: str) -> None:
    store = SessionStore.from_url(url)
    session = _session()
    store.open_session("S-9", "K1", "en", T0)
    records = HeldRecords(store, _clock, opened=True, closed=True)
    records.opened(session)
    records.closed(session)
    assert records.pending() == []


# PostgreSQL: replicas ----------------------------------------------------------------------------
@pytest.fixture
def pg_url(postgres_schema: Callable[[str], AbstractContextManager[str]]) -> Iterator[str]:
    with postgres_schema("kiosk_sessions") as url:
        yield url


@pytest.mark.postgres
def test_two_replicas_never_hold_one_kiosk_at_once_and_a_dead_one_lets_go(pg_url: str) -> None:
    replica_a = KioskSessionTable(records_engine(pg_url))
    replica_b = KioskSessionTable(records_engine(pg_url), lock_timeout_s=0.3)
    holding, done = threading.Event(), threading.Event()
    told: list[Exception] = []

    def hold_until_done() -> None:
        try:
            with replica_a.hold("K1") as held:
                held.save("S-1", {"turn": 1})
                holding.set()
                done.wait(10)
        except OperationalError as exc:  # replica A learns that its lock went with its connection
            told.append(exc)

    thread = threading.Thread(target=hold_until_done)
    thread.start()
    assert holding.wait(10)
    with pytest.raises(SessionBusy), replica_b.hold("K1"):
        pass
    with replica_b.hold("K2") as other:  # another kiosk is not held
        assert other.stored is None
    with replica_b.engine.connect() as conn:  # replica A is killed: its connection, and so its lock, goes
        pid = conn.execute(text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")).scalar_one()
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with replica_b.hold("K1") as held:
        assert held.stored is not None
        assert held.stored.payload == {"turn": 1}
        held.save("S-1", {"turn": 2})
    done.set()
    thread.join(10)
    assert len(told) == 1
    replica_a.close()
    replica_b.close()
