"""Knowledge answers in the review app: which entry answered, marking a wrong one, exporting test cases.

Over HTTP through the FastAPI app, a real SQLite records database with its audit chain, and the
repository's real ``knowledge/`` content (entry ids are checked against it). The session below
is recorded with knowledge operations exactly as :mod:`vtm.dialog.knowledge` writes them; the
browser test (``tests/e2e/test_review_browser.py``) does the same over a session played through
the real dialog.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from review_world import CARD, T0, login, review_app
from typer.testing import CliRunner

from vtm.audit import AuditLog
from vtm.config import Settings, load_settings
from vtm.dialog.turn import Reply, TurnRecord
from vtm.knowledge.evaluate import read_questions
from vtm.knowledge.loader import load_knowledge
from vtm.records.answer_marks import ANSWER_MARK_KIND, AnswerMarkStore
from vtm.records.store import SessionStore
from vtm.review.cli import app as review_cli
from vtm.review.kb_cases import ANSWER_EXPORT
from vtm.review.routes_knowledge import ANSWER_MARK

KSID = "S-knowledge-0000000000001"
BLIND = Path(__file__).resolve().parents[1] / "data" / "kb" / "blind.csv"


def _asked(question: str, entry: str | None, score: float, result: str) -> dict[str, Any]:
    """A knowledge operation as the dialog records it."""
    return {"operation": "knowledge", "key": entry, "result": result, "score": score, "question": question,
            "screen": "..."}


def _record_knowledge_session(store: SessionStore) -> None:
    store.open_session(KSID, "VTM-0002", "zh", T0)
    store.record_turn(KSID, TurnRecord(turn=1, replies=[Reply("greeting", "您好")]), [], ts=T0)
    swallowed = f"卡号{CARD}的卡在ATM里被吞了怎么办"
    store.record_turn(
        KSID,
        TurnRecord(turn=2, user=swallowed, operations=[_asked(swallowed, "cards.frozen", 0.712, "answered")]),
        [],
        ts=T0,
    )
    instalments = "信用卡账单能分期吗"
    store.record_turn(
        KSID,
        TurnRecord(turn=3, user=instalments, operations=[_asked(instalments, None, 0.41, "declined")]),
        [],
        ts=T0,
    )
    weather = "明天会下雨吗"
    store.record_turn(
        KSID,
        TurnRecord(
            turn=4,
            user=weather,
            operations=[
                {"operation": "handoff", "key": None, "result": "requested"},
                _asked(weather, "balance.how", 0.655, "answered"),
            ],
        ),
        [],
        ts=T0,
    )
    store.close_session(KSID, "completed", [], None, T0 + timedelta(minutes=3))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("VTM_RECORDS_KEY", raising=False)
    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path / "data"))  # for `vtm review export-kb-cases`
    s = load_settings(data_dir=tmp_path / "data")
    s.ensure_dirs()
    return s


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = review_app(settings)
    _record_knowledge_session(app.state.review.store)
    with TestClient(app) as c:
        yield c


def _as(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


def _mark(client: TestClient, csrf: str, turn: int, position: int, expected: str = "", note: str = "") -> int:
    response = client.post(
        f"/sessions/{KSID}/turns/{turn}/answers/{position}/mark",
        data={"csrf_token": csrf, "expected_entry": expected, "note": note},
        follow_redirects=False,
    )
    return response.status_code


def _export(client: TestClient, csrf: str) -> list[dict[str, str]]:
    response = client.post("/answers/export", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="kb-cases-')
    return list(csv.DictReader(io.StringIO(response.text)))


def _store(client: TestClient) -> SessionStore:
    store = client.app.state.review.store  # type: ignore[attr-defined]
    assert isinstance(store, SessionStore)
    return store


def _audit(client: TestClient) -> AuditLog:
    audit = client.app.state.review.audit  # type: ignore[attr-defined]
    assert isinstance(audit, AuditLog)
    return audit


def _marks(client: TestClient) -> AnswerMarkStore:
    marks = client.app.state.review.marks  # type: ignore[attr-defined]
    assert isinstance(marks, AnswerMarkStore)
    return marks


def test_a_reviewer_sees_which_entry_answered_but_cannot_mark_or_export(client: TestClient) -> None:
    csrf = _as(client, "rita")
    client.get("/lang/en")
    page = client.get(f"/sessions/{KSID}").text
    assert page.count('data-testid="kb-answer"') == 3
    assert '<code data-testid="kb-entry">cards.frozen</code> Card or account frozen' in page
    assert '<code data-testid="kb-topic">cards</code>' in page
    assert '<span data-testid="kb-score">0.712</span>' in page
    assert "declined (offered a colleague)" in page
    assert 'data-testid="kb-mark-form"' not in page
    assert CARD not in page  # the question is masked as the transcript masks it
    assert _mark(client, csrf, 2, 0, "cards.swallowed") == 403
    assert client.get("/answers", follow_redirects=False).status_code == 403
    assert client.post("/answers/export", data={"csrf_token": csrf}, follow_redirects=False).status_code == 403
    assert _marks(client).current() == []
    assert not list(_audit(client).entries(kind=ANSWER_MARK_KIND))
    assert not list(_audit(client).entries(kind=f"staff_{ANSWER_EXPORT}"))


def test_a_supervisor_marks_wrong_answers_and_exports_them_as_kb_test_cases(
    client: TestClient, tmp_path: Path
) -> None:
    csrf = _as(client, "sam")
    assert 'data-testid="kb-mark-form"' in client.get(f"/sessions/{KSID}").text
    assert _mark(client, csrf, 2, 0, "cards.swallowed", "ATM 吞卡, not a frozen card") == 303
    assert _mark(client, csrf, 3, 0, "cards.credit_card_instalments_nonexistent") == 422
    assert _mark(client, csrf, 4, 1, "", "weather: should decline") == 303

    page = client.get(f"/sessions/{KSID}").text
    assert page.count('data-testid="kb-mark"') == 2
    listed = client.get("/answers").text
    assert listed.count('data-testid="marked-answer"') == 2

    rows = _export(client, csrf)
    assert rows == [
        {"text": "明天会下雨吗", "lang": "zh", "entry": "", "kind": "unanswerable"},
        {"text": "卡号6230 **** **** 9930的卡在ATM里被吞了怎么办", "lang": "zh", "entry": "cards.swallowed",
         "kind": "answerable"},
    ]
    # The evaluator reads the file, with every expected entry checked against the real content.
    exported = tmp_path / "field.csv"
    exported.write_text(client.post("/answers/export", data={"csrf_token": csrf}).text, encoding="utf-8")
    content = load_knowledge(client.app.state.review.settings.content_root)  # type: ignore[attr-defined]
    questions = read_questions(exported, content)
    assert [(q.text, q.lang, q.entry) for q in questions] == [(r["text"], r["lang"], r["entry"] or None) for r in rows]


def test_the_export_has_the_header_quoting_and_line_ends_of_the_blind_set(client: TestClient) -> None:
    csrf = _as(client, "sam")
    assert _mark(client, csrf, 4, 1) == 303
    body = client.post("/answers/export", data={"csrf_token": csrf}).content
    blind_header = BLIND.read_bytes().split(b"\r\n", 1)[0]
    assert body.split(b"\r\n")[0] == blind_header == b'"text","lang","entry","kind"'
    assert body == '"text","lang","entry","kind"\r\n"明天会下雨吗","zh","","unanswerable"\r\n'.encode()


def test_every_mark_and_export_is_in_the_access_log_and_sealed_in_the_audit_chain(client: TestClient) -> None:
    csrf = _as(client, "sam")
    assert _mark(client, csrf, 2, 0, "cards.swallowed", f"customer read out {CARD}") == 303
    _export(client, csrf)

    [mark] = _marks(client).current()
    assert (mark.marked_by, mark.answered_entry, mark.expected_entry, mark.score) == (
        "sam", "cards.frozen", "cards.swallowed", 0.712)
    [sealed] = _audit(client).entries(session_id=KSID, kind=ANSWER_MARK_KIND)
    assert sealed.payload is not None
    assert {k: sealed.payload[k] for k in ("mark", "user", "role", "turn", "position", "answered_entry",
                                           "expected_entry", "outcome")} == {
        "mark": mark.mark_id, "user": "sam", "role": "supervisor", "turn": 2, "position": 0,
        "answered_entry": "cards.frozen", "expected_entry": "cards.swallowed", "outcome": "answered"}
    assert CARD not in json.dumps(sealed.payload, ensure_ascii=False)  # the note is masked in the chain
    [exported] = _audit(client).entries(kind=f"staff_{ANSWER_EXPORT}")
    assert exported.payload == {"user": "sam", "role": "supervisor", "cases": 1, "marks": 1}
    assert _audit(client).verify().ok

    log = {e.action: e for e in _store(client).access_log()}
    assert (log[ANSWER_MARK].username, log[ANSWER_MARK].session_id, log[ANSWER_MARK].turn_no) == ("sam", KSID, 2)
    assert json.loads(log[ANSWER_MARK].reason or "") == {
        "mark": mark.mark_id, "answered": "cards.frozen", "expected": "cards.swallowed", "role": "supervisor"}
    assert (log[ANSWER_EXPORT].username, log[ANSWER_EXPORT].session_id) == ("sam", None)


@pytest.mark.parametrize(
    ("turn", "position", "expected", "message"),
    [
        (2, 0, "cards.no_such_entry", "expected_entry: no answerable knowledge entry has this id."),
        (2, 0, "'; drop table record_answer_marks; --", "expected_entry: no answerable knowledge entry has this id."),
        (2, 0, "cards.frozen", "That is the entry that answered"),
        (3, 0, "", "give the id of the entry that should have answered"),
    ],
)
def test_a_correction_the_knowledge_base_cannot_take_is_a_clear_422_and_nothing_is_recorded(
    client: TestClient, turn: int, position: int, expected: str, message: str
) -> None:
    csrf = _as(client, "sam")
    client.get("/lang/en")
    response = client.post(
        f"/sessions/{KSID}/turns/{turn}/answers/{position}/mark",
        data={"csrf_token": csrf, "expected_entry": expected},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text
    assert _marks(client).current() == []
    assert not list(_audit(client).entries(kind=ANSWER_MARK_KIND))
    assert not [e for e in _store(client).access_log() if e.action == ANSWER_MARK]


def test_an_over_long_entry_id_or_note_is_refused_naming_the_field(client: TestClient) -> None:
    csrf = _as(client, "sam")
    client.get("/lang/en")
    too_long = _mark(client, csrf, 2, 0, "cards." + "x" * 200)
    assert too_long == 422
    response = client.post(
        f"/sessions/{KSID}/turns/2/answers/0/mark",
        data={"csrf_token": csrf, "expected_entry": "", "note": "n" * 1001},
    )
    assert response.status_code == 422
    assert "Invalid or out-of-range value: note" in response.text
    assert _marks(client).current() == []


def test_only_a_knowledge_operation_can_be_marked(client: TestClient) -> None:
    csrf = _as(client, "sam")
    assert _mark(client, csrf, 4, 0, "cards.swallowed") == 404  # the hand-off operation
    assert _mark(client, csrf, 1, 0, "cards.swallowed") == 404  # no operation at all
    assert _mark(client, csrf, 2, 7, "cards.swallowed") == 404
    response = client.post(
        "/sessions/S-nobody/turns/2/answers/0/mark", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 404


def test_a_later_mark_of_the_same_answer_replaces_the_earlier_one_in_the_export(client: TestClient) -> None:
    csrf = _as(client, "sam")
    assert _mark(client, csrf, 2, 0, "cards.frozen_no", "typo") == 422
    assert _mark(client, csrf, 2, 0, "cards.damaged", "first thought") == 303
    assert _mark(client, csrf, 2, 0, "cards.swallowed", "on second look") == 303
    assert [r["entry"] for r in _export(client, csrf)] == ["cards.swallowed"]
    assert [m.expected_entry for m in _marks(client).for_session(KSID)] == ["cards.damaged", "cards.swallowed"]
    assert len(list(_audit(client).entries(kind=ANSWER_MARK_KIND))) == 2  # the history stays sealed


def test_a_mark_without_the_csrf_token_is_refused(client: TestClient) -> None:
    _as(client, "sam")
    response = client.post(
        f"/sessions/{KSID}/turns/2/answers/0/mark", data={"expected_entry": "cards.swallowed"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert _marks(client).current() == []


def test_vtm_review_export_kb_cases_writes_the_file_and_is_audited(client: TestClient, tmp_path: Path) -> None:
    csrf = _as(client, "sam")
    assert _mark(client, csrf, 2, 0, "cards.swallowed") == 303
    target = tmp_path / "field-cases.csv"
    runner = CliRunner()
    result = runner.invoke(review_cli, ["export-kb-cases", str(target)])
    assert result.exit_code == 0, result.output
    assert "wrote 1 test cases (1 marked answers)" in result.output
    web = client.post("/answers/export", data={"csrf_token": csrf}).content
    assert target.read_bytes() == web
    refused = runner.invoke(review_cli, ["export-kb-cases", str(target)])
    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert runner.invoke(review_cli, ["export-kb-cases", str(target), "--force"]).exit_code == 0
    cli_exports = [e for e in _audit(client).entries(kind=f"staff_{ANSWER_EXPORT}") if e.payload
                   and e.payload["role"] == "cli"]
    assert len(cli_exports) == 2
    assert all(str(e.payload and e.payload["user"]).startswith("cli:") for e in cli_exports)
    assert sum(1 for e in _store(client).access_log() if e.action == ANSWER_EXPORT) == 3


def test_without_a_loadable_knowledge_base_an_entry_cannot_be_named_and_the_page_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VTM_RECORDS_KEY", raising=False)
    settings = load_settings(data_dir=tmp_path / "data", content_dir=tmp_path / "no-content")
    settings.ensure_dirs()
    app = review_app(settings)
    _record_knowledge_session(app.state.review.store)
    with TestClient(app) as client:
        csrf = _as(client, "sam")
        client.get("/lang/en")
        page = client.get(f"/sessions/{KSID}").text
        assert 'data-testid="kb-problem"' in page
        assert "no knowledge folder at" in page
        assert '<code data-testid="kb-entry">cards.frozen</code>' in page  # the record itself still shows
        assert _mark(client, csrf, 2, 0, "cards.swallowed") == 503
        assert _marks(client).current() == []
        assert _mark(client, csrf, 4, 1, "") == 303  # "should have declined" names no entry to check
