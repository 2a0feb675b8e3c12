"""The review app in a real browser: Playwright driving Debian's headless chromium.

Demo sessions are recorded through the real dialog (real NLU, sandbox bank, gate), the app runs
under uvicorn on a free localhost port, and a supervisor logs in, filters, opens a session,
sees the audio player and the verdicts, tags it, unmasks a turn with a reason, and exports the
session as a conversation test that ``vtm test`` then runs and passes. On the hand-off demo,
whose question the real dialog answers from the knowledge base, the supervisor marks the answer
wrong and downloads it as a ``vtm kb evaluate`` test case; a reviewer sees the entry, not the
form. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, expect, sync_playwright

from vtm.audit import AuditLog
from vtm.config import Settings, load_settings
from vtm.records.store import SessionStore
from vtm.review.app import ReviewOptions, create_app
from vtm.review.demo import seed_demo_sessions
from vtm.review.proxies import server_config
from vtm.review.users import Role

pytestmark = pytest.mark.slow


REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "artifacts" / "screenshots"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _models_dir() -> Path:
    return Path(os.environ.get("VTM_MODELS_DIR") or Path(platformdirs.user_data_dir("vtm", appauthor=False)) / "models")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("review-e2e")
    s = load_settings(data_dir=data, models_dir=_models_dir())
    s.ensure_dirs()
    return s


@pytest.fixture(scope="module")
def base_url(settings: Settings) -> Iterator[str]:
    seed_demo_sessions(settings)
    app = create_app(settings, ReviewOptions(password_hasher=PasswordHasher(time_cost=1, memory_cost=1024)))
    users = app.state.review.users
    users.create("sam", PASSWORD, Role.SUPERVISOR)
    users.create("rita", PASSWORD, Role.REVIEWER)
    port = _free_port()
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(browser: Browser, base_url: str, username: str, lang: str = "en") -> Page:
    context = browser.new_context(accept_downloads=True, locale="en-US")
    page = context.new_page()
    page.goto(f"{base_url}/lang/{lang}?next=/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/sessions")
    return page


def test_a_supervisor_reviews_unmasks_tags_and_exports_a_session_that_replays(
    browser: Browser, base_url: str, settings: Settings, tmp_path: Path
) -> None:
    page = _login(browser, base_url, "sam")
    rows = page.locator("tr[data-session]")
    expect(rows).to_have_count(4)
    _shot(page, "01-session-list")

    page.select_option("select[name=transaction]", "transfer")
    page.click("form[data-testid=filters] button[type=submit]")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("count")).to_contain_text("1")
    _shot(page, "02-filtered-transfer")

    rows.first.locator("a").click()
    expect(page.get_by_test_id("timeline")).to_be_visible()
    session_id = page.get_by_test_id("session-id").inner_text()
    audio = page.locator("audio[data-testid=audio]").first
    expect(audio).to_be_attached()
    src = audio.get_attribute("src")
    assert src is not None
    assert src.startswith(f"/sessions/{session_id}/turns/")
    fetched = page.request.get(base_url + src)
    assert fetched.status == 200
    assert fetched.body()[:4] == b"RIFF"
    verdicts = page.get_by_test_id("verdict")
    expect(verdicts.first).to_be_visible()
    expect(verdicts.first).to_contain_text("AUTH-CARD-PIN")
    expect(page.get_by_test_id("chain-status")).to_contain_text("intact")
    expect(page.get_by_test_id("user-text").first).to_contain_text("李*")
    _shot(page, "03-session-detail")

    page.fill("form[data-testid=tag-form] input[name=tag]", "needs-review")
    page.click("form[data-testid=tag-form] button[type=submit]")
    expect(page.get_by_test_id("tags")).to_contain_text("needs-review")

    # Unmask the first spoken turn: the browser will not submit without a reason.
    form = page.locator("li.turn:has([data-testid=user-text]) form[data-testid=unmask-form]").first
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("revealed")).to_have_count(0)
    form.locator("input[name=reason]").fill("quality check of payee naming")
    form.locator("button[type=submit]").click()
    revealed = page.get_by_test_id("revealed")
    expect(revealed).to_have_count(1)
    expect(revealed).to_contain_text("给李娜转两千")
    _shot(page, "04-unmasked")
    store = SessionStore.from_settings(settings)
    assert [(e.username, e.reason) for e in store.access_log(session_id=session_id) if e.action == "unmask"] == [
        ("sam", "quality check of payee naming")
    ]
    assert list(AuditLog.from_settings(settings).entries(session_id=session_id, kind="staff_unmask"))

    page.fill("form[data-testid=export-form] input[name=reason]", "turn into a regression test")
    page.fill("form[data-testid=export-form] input[name=test_pin]", "955756")
    with page.expect_download() as info:
        page.click("form[data-testid=export-form] button[type=submit]")
    exported = tmp_path / "exported.yaml"
    info.value.save_as(str(exported))
    text = exported.read_text(encoding="utf-8")
    assert "say: 给李娜转两千" in text
    assert "device: pin 955756" in text

    env = {**os.environ, "VTM_DATA_DIR": str(tmp_path / "vtm-test-data"), "VTM_MODELS_DIR": str(settings.models_path)}
    vtm = Path(sys.executable).with_name("vtm")
    result = subprocess.run(
        [str(vtm), "test", str(exported)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed" in result.stdout


def test_a_reviewer_sees_masked_sessions_the_dashboard_and_no_unmask(browser: Browser, base_url: str) -> None:
    page = _login(browser, base_url, "rita", lang="zh")
    expect(page.locator("h1")).to_contain_text("自助机会话")
    page.locator("tr[data-session] a").first.click()
    expect(page.get_by_test_id("timeline")).to_be_visible()
    expect(page.locator("form[data-testid=unmask-form]")).to_have_count(0)
    expect(page.locator("form[data-testid=export-form]")).to_have_count(0)
    page.goto(f"{base_url}/dashboard")
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.get_by_test_id("kpis")).to_contain_text("4")
    _shot(page, "05-dashboard-zh")
    response = page.goto(f"{base_url}/admin/users")
    assert response is not None
    assert response.status == 403


def test_a_supervisor_marks_a_knowledge_answer_wrong_and_exports_it_as_a_kb_test_case(
    browser: Browser, base_url: str, settings: Settings, tmp_path: Path
) -> None:
    # The hand-off demo asks "我的卡被冻结了怎么办": the real dialog answers it from the knowledge base.
    page = _login(browser, base_url, "sam")
    page.fill("form[data-testid=filters] input[name=q]", "冻结")
    page.click("form[data-testid=filters] button[type=submit]")
    page.locator("tr[data-session] a").first.click()
    answer = page.get_by_test_id("kb-answer").first
    expect(answer.get_by_test_id("kb-entry")).to_have_text("cards.frozen")
    expect(answer.get_by_test_id("kb-topic")).to_have_text("cards")
    expect(answer.get_by_test_id("kb-outcome")).to_have_text("answered")
    session_id = page.get_by_test_id("session-id").inner_text()

    form = answer.locator("form[data-testid=kb-mark-form]")
    form.locator("input[name=expected_entry]").fill("cards.restricted_by_fraud_control")
    form.locator("input[name=note]").fill("customer meant the anti-fraud restriction")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("kb-mark").first).to_contain_text("cards.restricted_by_fraud_control")
    _shot(page, "06-knowledge-answer-marked")

    page.goto(f"{base_url}/answers")
    expect(page.get_by_test_id("marked-answer")).to_have_count(1)
    with page.expect_download() as info:
        page.click("form[data-testid=answers-export-form] button[type=submit]")
    exported = tmp_path / "field-cases.csv"
    info.value.save_as(str(exported))
    assert exported.read_bytes() == (
        '"text","lang","entry","kind"\r\n'
        '"我的卡被冻结了怎么办","zh","cards.restricted_by_fraud_control","answerable"\r\n'
    ).encode()
    audit = AuditLog.from_settings(settings)
    assert list(audit.entries(session_id=session_id, kind="staff_answer_mark"))
    assert list(audit.entries(kind="staff_answer_export"))

    reviewer = _login(browser, base_url, "rita")
    reviewer.goto(f"{base_url}/sessions/{session_id}")
    expect(reviewer.get_by_test_id("kb-entry").first).to_have_text("cards.frozen")
    expect(reviewer.get_by_test_id("kb-mark").first).to_be_visible()
    expect(reviewer.locator("form[data-testid=kb-mark-form]")).to_have_count(0)
    assert reviewer.request.get(f"{base_url}/answers").status == 403
