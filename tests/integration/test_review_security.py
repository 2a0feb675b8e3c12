"""Security of the staff review app, over HTTP (httpx through the ASGI app, real SQLite, real files).

Login walls, roles, CSRF, cookie properties, login rate limiting, injection in search and notes,
and the audit trail of an unmask.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from review_world import CARD, CHEAP, PASSWORD, SID, audio_path, csrf_of, login, review_app
from sqlalchemy import select

from vtm.audit import AuditLog
from vtm.config import Settings, load_settings
from vtm.kiosk.script import Script
from vtm.records.store import SessionStore
from vtm.review.app import ReviewOptions, create_app
from vtm.review.context import SESSION_COOKIE
from vtm.review.users import Role, review_web_sessions


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("VTM_RECORDS_KEY", raising=False)
    s = load_settings(data_dir=tmp_path / "data")
    s.ensure_dirs()
    return s


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(review_app(settings)) as client:
        yield client


@pytest.fixture
def audio_file(settings: Settings, app_client: TestClient) -> Path:
    return audio_path(settings)


PAGES = ["/sessions", f"/sessions/{SID}", "/dashboard", "/admin/users", f"/sessions/{SID}/turns/2/audio", "/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_and_audio_are_unreachable_without_login(app_client: TestClient, path: str) -> None:
    response = app_client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert SID not in response.text
    assert b"demo-audio-bytes" not in response.content


def test_a_forged_or_stale_session_cookie_opens_nothing(app_client: TestClient) -> None:
    app_client.cookies.set(SESSION_COOKIE, "A" * 43)
    assert app_client.get("/sessions", follow_redirects=False).status_code == 303


def test_audio_is_served_only_through_the_authenticated_route(app_client: TestClient, audio_file: Path) -> None:
    login(app_client, "rita")
    response = app_client.get(f"/sessions/{SID}/turns/2/audio")
    assert response.status_code == 200
    assert response.content == audio_file.read_bytes()
    assert response.headers["content-type"].startswith("audio/")
    assert app_client.get(f"/sessions/{SID}/turns/1/audio").status_code == 404
    assert app_client.get(f"/static/../{audio_file.name}").status_code == 404


def test_a_reviewer_sees_masked_text_and_cannot_unmask_export_or_administer(app_client: TestClient) -> None:
    csrf = login(app_client, "rita")
    page = app_client.get(f"/sessions/{SID}").text
    assert "我是张*,卡号6230 **** **** 9930丢了" in page
    assert CARD not in page
    assert "R-WATCH-1" in page
    assert "watch_list" in page
    assert 'data-testid="unmask-form"' not in page
    unmask = app_client.post(
        f"/sessions/{SID}/turns/2/unmask", data={"csrf_token": csrf, "field": "user", "reason": "I am curious today"}
    )
    assert unmask.status_code == 403
    assert CARD not in unmask.text
    export = app_client.post(f"/sessions/{SID}/export", data={"csrf_token": csrf, "reason": "regression test"})
    assert export.status_code == 403
    assert CARD not in export.text
    assert app_client.get("/admin/users").status_code == 403
    created = app_client.post(
        "/admin/users", data={"csrf_token": csrf, "username": "mallory", "password": PASSWORD, "role": "admin"}
    )
    assert created.status_code == 403
    assert "mallory" not in [u.username for u in app_client.app.state.review.users.users()]  # type: ignore[attr-defined]


def test_a_supervisor_unmasks_one_field_with_a_reason_and_it_is_logged_and_audited(
    app_client: TestClient, settings: Settings
) -> None:
    csrf = login(app_client, "sam")
    no_reason = app_client.post(
        f"/sessions/{SID}/turns/2/unmask", data={"csrf_token": csrf, "field": "user", "reason": " "}
    )
    assert no_reason.status_code == 400
    assert CARD not in no_reason.text
    shown = app_client.post(
        f"/sessions/{SID}/turns/2/unmask",
        data={"csrf_token": csrf, "field": "user", "reason": "complaint 42: wrong card"},
    )
    assert shown.status_code == 200
    assert f"我是张伟,卡号{CARD}丢了" in shown.text
    store: SessionStore = app_client.app.state.review.store  # type: ignore[attr-defined]
    unmasks = [e for e in store.access_log(session_id=SID) if e.action == "unmask"]
    assert [(e.username, e.turn_no, e.field, e.reason) for e in unmasks] == [
        ("sam", 2, "user", "complaint 42: wrong card")
    ]
    audit = AuditLog.from_settings(settings)
    entries = list(audit.entries(session_id=SID, kind="staff_unmask"))
    assert len(entries) == 1
    assert entries[0].payload is not None
    assert entries[0].payload["user"] == "sam"
    assert entries[0].payload["field"] == "user"
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (f"/sessions/{SID}/tags", {"tag": "x-no-csrf"}),
        (f"/sessions/{SID}/tags/delete", {"tag": "x-no-csrf"}),
        (f"/sessions/{SID}/notes", {"text": "x-no-csrf"}),
        (f"/sessions/{SID}/turns/2/unmask", {"field": "user", "reason": "a good reason"}),
        (f"/sessions/{SID}/export", {"reason": "a good reason"}),
        ("/admin/users", {"username": "x-no-csrf", "password": PASSWORD, "role": "reviewer"}),
        ("/logout", {}),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_post_without_the_csrf_token_is_rejected(
    app_client: TestClient, path: str, data: dict[str, str], token: str | None
) -> None:
    login(app_client, "ada")
    form = dict(data) if token is None else {**data, "csrf_token": token}
    response = app_client.post(path, data=form, follow_redirects=False)
    assert response.status_code == 403
    assert CARD not in response.text
    detail = app_client.get(f"/sessions/{SID}")
    assert detail.status_code == 200  # still logged in: the logout did not happen either
    assert "x-no-csrf" not in detail.text


def test_login_itself_needs_the_form_token(app_client: TestClient) -> None:
    response = app_client.post("/login", data={"username": "rita", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


def test_session_cookies_are_random_httponly_strict_and_stored_only_hashed(
    app_client: TestClient, settings: Settings
) -> None:
    tokens = []
    for _ in range(2):
        app_client.cookies.clear()
        page = app_client.get("/login")
        response = app_client.post(
            "/login",
            data={"username": "rita", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        header = response.headers["set-cookie"]
        assert "HttpOnly" in header
        assert "SameSite=strict" in header
        assert "Secure" not in header.split(",")[0]  # configurable; off for localhost tests
        tokens.append(response.cookies[SESSION_COOKIE])
    assert tokens[0] != tokens[1]
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)  # >= 32 random bytes = 256 bits
    store: SessionStore = app_client.app.state.review.store  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        stored = [r[0] for r in conn.execute(select(review_web_sessions.c.token_hash))]
    assert stored
    assert not set(tokens) & set(stored)


def test_cookies_are_marked_secure_when_configured(settings: Settings) -> None:
    app = create_app(settings, ReviewOptions(secure_cookies=True, password_hasher=CHEAP))
    app.state.review.users.create("rita", PASSWORD, Role.REVIEWER)
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/login")
        assert "Secure" in page.headers["set-cookie"]
        response = client.post(
            "/login",
            data={"username": "rita", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert "Secure" in response.headers["set-cookie"]


def test_logins_are_rate_limited_per_user_and_client(app_client: TestClient) -> None:
    token = csrf_of(app_client.get("/login").text)
    for _ in range(5):
        failed = app_client.post(
            "/login", data={"username": "rita", "password": "wrong password!", "csrf_token": token}
        )
        assert failed.status_code == 401
    blocked = app_client.post(
        "/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert blocked.status_code == 429
    assert SESSION_COOKIE not in blocked.cookies
    other = app_client.post(
        "/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert other.status_code == 303


def test_sql_injection_in_search_returns_nothing_extra(app_client: TestClient) -> None:
    login(app_client, "rita")
    assert f'data-session="{SID}"' in app_client.get("/sessions").text
    # "%" and "_" are LIKE wildcards: escaped, they match only themselves ("_" would match the intent name).
    for attack in ["' OR 1=1 --", "%' OR '1'='1", '" OR ""="', "%", "%%", "1' UNION SELECT session_id FROM x --"]:
        page = app_client.get("/sessions", params={"q": attack})
        assert page.status_code == 200
        assert "data-session=" not in page.text, attack
    assert f'data-session="{SID}"' in app_client.get("/sessions", params={"q": "卡号"}).text


def test_html_in_notes_tags_and_search_is_shown_escaped_never_run(app_client: TestClient) -> None:
    csrf = login(app_client, "rita")
    payload = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    assert app_client.post(f"/sessions/{SID}/notes", data={"csrf_token": csrf, "text": payload}).status_code == 200
    assert app_client.post(f"/sessions/{SID}/tags", data={"csrf_token": csrf, "tag": "<b>bold</b>"}).status_code == 200
    page = app_client.get(f"/sessions/{SID}").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    reflected = app_client.get("/sessions", params={"q": '"><script>alert(2)</script>'}).text
    assert "<script>alert(2)" not in reflected
    assert "script-src 'self'" in app_client.get("/sessions").headers["content-security-policy"]


def test_language_switch_never_redirects_off_site(app_client: TestClient) -> None:
    for target in ["//evil.example/x", "https://evil.example/", "/\\evil.example"]:
        response = app_client.get("/lang/en", params={"next": target}, follow_redirects=False)
        assert response.headers["location"] == "/sessions"
    local = app_client.get("/lang/en", params={"next": "/dashboard"}, follow_redirects=False)
    assert local.headers["location"] == "/dashboard"


def test_the_ui_speaks_chinese_and_english(app_client: TestClient) -> None:
    assert "员工登录" in app_client.get("/login").text
    app_client.get("/lang/en", params={"next": "/login"})
    assert "Staff login" in app_client.get("/login").text


def test_an_admin_manages_users(app_client: TestClient) -> None:
    csrf = login(app_client, "ada")
    created = app_client.post(
        "/admin/users", data={"csrf_token": csrf, "username": "newbie", "password": PASSWORD, "role": "reviewer"}
    )
    assert created.status_code == 200
    assert "newbie" in created.text
    too_short = app_client.post(
        "/admin/users", data={"csrf_token": csrf, "username": "shorty", "password": "short", "role": "reviewer"}
    )
    assert too_short.status_code == 400
    demoted = app_client.post("/admin/users/newbie", data={"csrf_token": csrf, "role": "reviewer"})
    assert demoted.status_code == 200  # saved without "active": the account is disabled
    app_client.cookies.clear()
    token = csrf_of(app_client.get("/login").text)
    refused = app_client.post("/login", data={"username": "newbie", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 401


def test_a_supervisor_exports_a_replayable_test_with_the_unmasked_words(app_client: TestClient) -> None:
    csrf = login(app_client, "sam")
    without_pin = app_client.post(f"/sessions/{SID}/export", data={"csrf_token": csrf, "reason": "regression"})
    assert without_pin.status_code == 400
    response = app_client.post(
        f"/sessions/{SID}/export", data={"csrf_token": csrf, "reason": "regression", "test_pin": "955756"}
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    script = Script.model_validate(yaml.safe_load(response.text))
    assert [t.device or t.say for t in script.turns] == [
        f"insert_card {CARD}",
        f"我是张伟,卡号{CARD}丢了",
        "pin 955756",
    ]
    assert script.expect_end is not None
    assert script.expect_end.outcome == "handed_off"
    store: SessionStore = app_client.app.state.review.store  # type: ignore[attr-defined]
    assert next(e.action for e in store.access_log(session_id=SID)) == "export"


def test_the_first_admin_is_created_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vtm.cli import app as vtm_app
    from vtm.review.users import UserStore

    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    weak = runner.invoke(vtm_app, ["review", "create-admin", "boss", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1
    made = runner.invoke(vtm_app, ["review", "create-admin", "boss", "--password-stdin"], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    users = UserStore.from_url(load_settings().records_db_url)
    assert [(u.username, u.role) for u in users.users()] == [("boss", Role.ADMIN)]
    assert users.authenticate("boss", PASSWORD) is not None
    assert users.authenticate("boss", "wrong password") is None
