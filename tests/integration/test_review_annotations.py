"""Tags and notes in the review app: who may remove a tag, and that every removal is on record.

A probe found a reviewer could remove a supervisor's tag without a trace. The rule now
(:mod:`vtm.review.permissions`): a tag's author may remove it, a supervisor or admin anyone's;
every removal and every refused attempt is in the staff access log with actor, role, tag and
owner, and a removal is also sealed in the audit chain. Notes cannot be deleted at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from review_world import PASSWORD, SID, login, review_app

from vtm.audit import AuditLog
from vtm.config import Settings, load_settings
from vtm.records.store import SessionStore
from vtm.records.views import AccessEntry
from vtm.review.routes_annotations import TAG_DELETE, TAG_DELETE_REFUSED
from vtm.review.users import Role


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("VTM_RECORDS_KEY", raising=False)
    s = load_settings(data_dir=tmp_path / "data")
    s.ensure_dirs()
    return s


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(review_app(settings)) as c:
        yield c


def _store(client: TestClient) -> SessionStore:
    store = client.app.state.review.store  # type: ignore[attr-defined]
    assert isinstance(store, SessionStore)
    return store


def _tag(client: TestClient, username: str, tag: str, turn_no: str = "") -> None:
    client.cookies.clear()
    csrf = login(client, username)
    response = client.post(f"/sessions/{SID}/tags", data={"csrf_token": csrf, "tag": tag, "turn_no": turn_no})
    assert response.status_code == 200


def _tags(client: TestClient) -> list[tuple[str, int | None, str]]:
    return [(t.tag, t.turn_no, t.created_by) for t in _store(client).get_session(SID).tags]


def _removals(client: TestClient) -> list[AccessEntry]:
    return [e for e in _store(client).access_log(session_id=SID) if e.action in (TAG_DELETE, TAG_DELETE_REFUSED)]


def _remove(client: TestClient, csrf: str, tag: str, turn_no: str = "") -> int:
    response = client.post(
        f"/sessions/{SID}/tags/delete",
        data={"csrf_token": csrf, "tag": tag, "turn_no": turn_no},
        follow_redirects=False,
    )
    return response.status_code


def test_a_reviewer_cannot_remove_a_supervisor_s_tag_and_the_attempt_is_logged(client: TestClient) -> None:
    _tag(client, "sam", "complaint", "2")
    client.cookies.clear()
    csrf = login(client, "rita")
    page = client.get(f"/sessions/{SID}").text
    assert "/tags/delete" not in page  # no remove button for a tag she may not remove
    assert _remove(client, csrf, "complaint", "2") == 403
    assert _tags(client) == [("complaint", 2, "sam")]
    [refused] = _removals(client)
    assert (refused.username, refused.action, refused.turn_no, refused.field) == ("rita", TAG_DELETE_REFUSED, 2, "tag")
    assert refused.reason is not None
    assert json.loads(refused.reason) == {"tag": "complaint", "owner": "sam", "role": "reviewer"}


def test_a_reviewer_cannot_remove_a_fellow_reviewer_s_tag(client: TestClient) -> None:
    client.app.state.review.users.create("rex", PASSWORD, Role.REVIEWER)  # type: ignore[attr-defined]
    _tag(client, "rex", "odd-silence")
    client.cookies.clear()
    assert _remove(client, login(client, "rita"), "odd-silence") == 403
    assert _tags(client) == [("odd-silence", None, "rex")]


def test_removing_one_s_own_tag_is_logged_with_actor_role_tag_and_owner_and_audited(
    client: TestClient, settings: Settings
) -> None:
    _tag(client, "rita", "asr-misheard", "2")
    csrf = login(client, "rita")
    assert "/tags/delete" in client.get(f"/sessions/{SID}").text
    assert _remove(client, csrf, "asr-misheard", "2") == 303
    assert _tags(client) == []
    [removed] = _removals(client)
    assert (removed.username, removed.action, removed.turn_no) == ("rita", TAG_DELETE, 2)
    assert removed.reason is not None
    assert json.loads(removed.reason) == {"tag": "asr-misheard", "owner": "rita", "role": "reviewer"}
    audit = AuditLog.from_settings(settings)
    [entry] = audit.entries(session_id=SID, kind=f"staff_{TAG_DELETE}")
    assert entry.payload == {"user": "rita", "role": "reviewer", "tag": "asr-misheard", "turn": 2, "owner": "rita"}
    assert audit.verify().ok


def test_a_supervisor_removes_a_reviewer_s_tag_and_the_owner_is_on_record(client: TestClient) -> None:
    _tag(client, "rita", "fine")
    client.cookies.clear()
    assert _remove(client, login(client, "sam"), "fine") == 303
    assert _tags(client) == []
    [removed] = _removals(client)
    assert removed.username == "sam"
    assert removed.reason is not None
    assert json.loads(removed.reason) == {"tag": "fine", "owner": "rita", "role": "supervisor"}


def test_removing_a_tag_that_is_not_there_is_a_404_and_logs_no_removal(client: TestClient) -> None:
    _tag(client, "sam", "complaint", "2")
    csrf = login(client, "sam")
    assert _remove(client, csrf, "complaint") == 404  # same text, on the session rather than on turn 2
    assert _remove(client, csrf, "never-added", "2") == 404
    assert _tags(client) == [("complaint", 2, "sam")]
    assert _removals(client) == []


def test_a_card_number_typed_into_a_tag_is_masked_in_the_removal_record(client: TestClient) -> None:
    _tag(client, "rita", "6230887983054949930")
    assert _remove(client, login(client, "rita"), "6230887983054949930") == 303
    [removed] = _removals(client)
    assert removed.reason is not None
    assert "6230887983054949930" not in removed.reason


def test_notes_cannot_be_deleted(client: TestClient) -> None:
    csrf = login(client, "ada")
    assert client.post(f"/sessions/{SID}/notes", data={"csrf_token": csrf, "text": "keep me"}).status_code == 200
    for path in (f"/sessions/{SID}/notes/delete", f"/sessions/{SID}/notes/1/delete", f"/sessions/{SID}/notes/1"):
        assert client.post(path, data={"csrf_token": csrf}, follow_redirects=False).status_code in (404, 405)
    assert [n.text for n in _store(client).get_session(SID).notes] == ["keep me"]
