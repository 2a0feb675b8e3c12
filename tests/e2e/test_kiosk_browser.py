"""The kiosk screen in a real browser: Playwright driving Debian's headless chromium.

One ``vtm serve`` app (real NLU, dialog, gate, sandbox bank on SQLite, simulated devices) runs
under uvicorn on a free localhost port and serves several kiosks; each test is its own kiosk,
so sessions never mix. The customer uses the page only: the device panel (developer mode), the
on-screen keypad, choice buttons and the confirm / cancel buttons. Results are checked at the
bank. Screenshots for docs/kiosk.md are written to ``docs/kiosk/``.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import platformdirs
import pytest
import uvicorn
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from vtm.banking.models import CardStatus
from vtm.banking.port import CoreBanking
from vtm.banking.sandbox import SandboxPolicy, create_bank_engine
from vtm.banking.sandbox.seed import DemoCard, seed_demo_bank
from vtm.config import load_settings
from vtm.kiosk.bootstrap import bootstrap
from vtm.kiosk.server import KioskService, ServiceOptions, create_app
from vtm.kiosk.server.protocol import DemoCardHint

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "kiosk"
KIOSKS = ("E2E-TRANSFER", "E2E-LOSS", "E2E-RECONNECT", "E2E-SHOTS")
CHEAP_PINS = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64, pin_hash_parallelism=1)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TURN_MS = 60_000  # a turn on a loaded 2-core machine (NLU, gate, core) takes seconds, not minutes
PLAYWRIGHT_DEFAULT_MS = 5_000


@pytest.fixture(scope="module", autouse=True)
def _turn_timeout() -> Iterator[None]:
    expect.set_options(timeout=TURN_MS)
    yield
    expect.set_options(timeout=PLAYWRIGHT_DEFAULT_MS)  # other browser tests keep Playwright's default


def _models_dir() -> Path:
    return Path(os.environ.get("VTM_MODELS_DIR") or Path(platformdirs.user_data_dir("vtm", appauthor=False)) / "models")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class World:
    base_url: str
    core: CoreBanking
    cards: dict[str, DemoCard]  # by holder name


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("kiosk-e2e"), models_dir=_models_dir())
    settings.ensure_dirs()
    engine = create_bank_engine(settings.bank_db_url)
    cards = seed_demo_bank(engine, date.today(), reset=True, policy=CHEAP_PINS)
    engine.dispose()
    services = bootstrap(settings)
    hints = tuple(DemoCardHint(card_number=c.card_number, holder=c.customer_name, id_number=c.id_number)
                  for c in cards)
    service = KioskService(services, ServiceOptions(kiosk_ids=KIOSKS, simulate_devices=True, reset_after_s=3.0,
                                                    demo_cards=hints))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180  # the lifespan warms the NLU model before the first customer
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    yield World(f"http://127.0.0.1:{port}", services.core, {c.customer_name: c for c in cards})
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1920, "height": 1080}, device_scale_factor=0.5, locale="zh-CN")
        yield context
        context.close()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _open(browser: BrowserContext, world: World, kiosk: str) -> Page:
    page = browser.new_page()
    page.set_default_timeout(TURN_MS)
    page.goto(f"{world.base_url}/kiosk?kiosk={kiosk}")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "online")
    expect(page.get_by_test_id("idle")).to_be_visible()
    page.evaluate(_WATCH_PIN_PAD)
    return page


# Watches the whole session, not only the moments the test looks: whenever the screen changes,
# it notes if the on-screen keypad is visible while a PIN is being asked for.
_WATCH_PIN_PAD = """() => {
  window.pinPadViolations = [];
  const keypad = document.getElementById("keypad"), prompt = document.getElementById("device-prompt");
  const check = () => {
    if (!keypad.hidden && !prompt.hidden && (prompt.dataset.device || "").startsWith("pin"))
      window.pinPadViolations.push(document.getElementById("app").dataset.state);
  };
  new MutationObserver(check).observe(document.getElementById("app"), {subtree: true, attributes: true});
}"""


def _kiosk_said(page: Page, text: str | re.Pattern[str]) -> None:
    expect(page.get_by_test_id("kiosk-caption").filter(has_text=text).last).to_be_visible()


def _device(page: Page, test_id: str, value: str | None = None, field: str | None = None) -> None:
    if value is not None and field is not None:
        page.get_by_test_id(field).fill(value)
    page.get_by_test_id(test_id).click()


def _key_in(page: Page, digits: str) -> None:
    keypad = page.get_by_test_id("keypad")
    expect(keypad).to_be_visible()
    for digit in digits:
        keypad.locator(f'button.key[data-key="{digit}"]').click()
    page.get_by_test_id("keypad-ok").click()


def _pin_pad_only(page: Page) -> None:
    """A PIN is asked for: the PIN-pad picture is shown and the on-screen keypad is not."""
    prompt = page.get_by_test_id("device-prompt")
    expect(prompt).to_be_visible()
    expect(prompt).to_have_attribute("data-device", re.compile(r"^pin"))
    expect(page.get_by_test_id("keypad")).to_be_hidden()


def _available(core: CoreBanking, account: str) -> Decimal:
    return Decimal(core.balance(account).available)


def test_an_english_transfer_is_finished_by_touch_alone_and_moves_exactly_the_amount(
    browser: BrowserContext, world: World
) -> None:
    john, margaret = world.cards["John Smith"], world.cards["Margaret Thompson"]
    before = _available(world.core, john.account_number), _available(world.core, margaret.account_number)
    page = _open(browser, world, "E2E-TRANSFER")
    page.get_by_test_id("start-en").click()
    _kiosk_said(page, "digital teller")
    _device(page, "dev-insert", john.card_number, "dev-card")
    _kiosk_said(page, "read your card")
    page.get_by_test_id("choice-transfer").click()
    _pin_pad_only(page)
    _device(page, "dev-pin-enter", john.pin, "dev-pin")
    payee = page.get_by_test_id("choices").get_by_role("button", name=re.compile("Margaret Thompson"))
    expect(payee).to_be_visible()
    payee.click()
    _key_in(page, "800")
    page.get_by_test_id("choice-standard").click()
    read_back = page.get_by_test_id("read-back")
    expect(read_back).to_be_visible()
    if read_back.get_attribute("data-kind") == "acknowledge":  # a notice the gate wants heard first
        page.get_by_test_id("confirm").click()
        expect(read_back).to_have_attribute("data-kind", "confirm")
    expect(read_back).to_contain_text("eight hundred yuan to Margaret Thompson")  # the spoken read-back
    expect(page.get_by_test_id("confirm")).to_be_visible()
    expect(page.get_by_test_id("cancel")).to_be_visible()
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("choices")).to_have_attribute("data-topic", "offer")
    page.get_by_test_id("choice-no").click()
    page.get_by_test_id("choice-done").click()
    expect(page.get_by_test_id("ended")).to_be_visible()
    after = _available(world.core, john.account_number), _available(world.core, margaret.account_number)
    assert before[0] - after[0] == Decimal("800.00")
    # Standard arrival: the money is debited now and reaches the payee after 24 hours.
    assert after[1] - before[1] in (Decimal("0"), Decimal("800.00"))
    assert john.pin not in page.locator("body").inner_text()
    assert page.evaluate("window.pinPadViolations") == []  # the keypad never showed while a PIN was asked
    expect(page.get_by_test_id("idle")).to_be_visible()  # the idle screen invites the next customer
    page.close()


def test_a_mandarin_card_loss_is_finished_by_typing_and_touch_and_blocks_the_card_at_the_core(
    browser: BrowserContext, world: World
) -> None:
    zhang = world.cards["张伟"]
    page = _open(browser, world, "E2E-LOSS")
    page.get_by_test_id("start-zh").click()
    _kiosk_said(page, "小微")
    page.get_by_test_id("type-input").fill("我的银行卡丢了")
    page.get_by_test_id("send").click()
    _key_in(page, zhang.card_number)
    expect(page.get_by_test_id("customer-caption").last).not_to_contain_text(zhang.card_number)  # masked
    page.get_by_test_id("choice-temporary").click()
    expect(page.get_by_test_id("read-back")).to_have_attribute("data-kind", "confirm")
    page.get_by_test_id("confirm").click()
    prompt = page.get_by_test_id("device-prompt")
    expect(prompt).to_have_attribute("data-device", re.compile(r"^(id_card|pin)$"))
    if prompt.get_attribute("data-device") == "id_card":
        _device(page, "dev-scan-id", zhang.id_number, "dev-id")
    else:
        _pin_pad_only(page)
        _device(page, "dev-pin-enter", zhang.pin, "dev-pin")
    expect(page.get_by_test_id("choices")).to_have_attribute("data-topic", re.compile("menu|offer"))
    if page.get_by_test_id("choices").get_attribute("data-topic") == "offer":
        page.get_by_test_id("choice-no").click()
    page.get_by_test_id("choice-done").click()
    expect(page.get_by_test_id("ended")).to_be_visible()
    assert world.core.card_status(zhang.card_number).status is CardStatus.TEMPORARILY_LOST
    page.close()


def test_a_reconnect_mid_session_resumes_the_same_session(browser: BrowserContext, world: World) -> None:
    anna, john = world.cards["Anna Schmidt"], world.cards["John Smith"]
    page = _open(browser, world, "E2E-RECONNECT")
    page.get_by_test_id("start-en").click()
    _device(page, "dev-insert", anna.card_number, "dev-card")
    page.get_by_test_id("choice-balance").click()
    _pin_pad_only(page)
    session_id = page.get_by_test_id("session-id").inner_text()
    assert session_id.startswith("S-")

    page.reload()  # the screen reloads: a new WebSocket, the same kiosk session
    expect(page.get_by_test_id("session-id")).to_have_text(session_id)
    expect(page.get_by_test_id("idle")).to_be_hidden()
    _pin_pad_only(page)
    expect(page.get_by_test_id("captions")).to_contain_text("read your card")

    page.evaluate("window.kioskScreen.socket.ws.close()")  # a dropped connection reconnects by itself
    expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "online")
    _device(page, "dev-pin-enter", anna.pin, "dev-pin")
    _kiosk_said(page, re.compile("balance", re.I))
    expect(page.get_by_test_id("session-id")).to_have_text(session_id)
    assert john.pin not in page.content()
    assert anna.pin not in page.content()
    page.close()


def test_screenshots_of_idle_device_prompt_keypad_read_back_and_elderly_mode(
    browser: BrowserContext, world: World
) -> None:
    li = world.cards["李娜"]  # not 张伟: the card-loss test has blocked his card in this bank
    page = _open(browser, world, "E2E-SHOTS")
    _shot(page, "idle")
    page.get_by_test_id("start-zh").click()
    _device(page, "dev-insert", li.card_number, "dev-card")
    page.get_by_test_id("choice-transfer").click()
    _pin_pad_only(page)
    _shot(page, "device-prompt-pin")
    _device(page, "dev-pin-enter", li.pin, "dev-pin")
    expect(page.get_by_test_id("choices")).to_have_attribute("data-topic", "payee_name")
    page.get_by_test_id("choices").get_by_role("button").first.click()  # a saved payee
    expect(page.get_by_test_id("keypad")).to_be_visible()
    for digit in "500":
        page.get_by_test_id("keypad").locator(f'button.key[data-key="{digit}"]').click()
    _shot(page, "keypad")
    page.get_by_test_id("keypad-ok").click()
    page.get_by_test_id("choice-standard").click()
    read_back = page.get_by_test_id("read-back")
    expect(read_back).to_be_visible()
    if read_back.get_attribute("data-kind") == "acknowledge":
        _shot(page, "notice-acknowledge")
        page.get_by_test_id("confirm").click()
        expect(read_back).to_have_attribute("data-kind", "confirm")
    _shot(page, "read-back")
    page.get_by_test_id("elderly").click()
    expect(page.locator("#app")).to_have_class(re.compile("elderly"))
    expect(read_back).to_have_attribute("data-kind", "confirm")
    _shot(page, "elderly-read-back")
    page.set_viewport_size({"width": 1080, "height": 1920})
    _shot(page, "portrait-elderly-read-back")
    page.get_by_test_id("cancel").click()  # nothing is sent: the transfer is cancelled
    _kiosk_said(page, "转账")
    page.close()
