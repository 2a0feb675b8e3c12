"""Voice from the browser: Chromium's fake microphone plays a recorded customer into the kiosk page.

The page streams its microphone over the WebSocket (16 kHz PCM); the service runs the same end
of turn, Whisper and dialog as ``vtm kiosk``, and the reply comes back as text and as a WAV the
page plays. The customer's recording is synthesised with espeak-ng (as the voice conversation
tests do) and handed to Chromium with ``--use-file-for-fake-audio-capture``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import platformdirs
import pytest
import uvicorn
from playwright.sync_api import WebSocket, expect, sync_playwright

from vtm.banking.sandbox import SandboxPolicy, create_bank_engine
from vtm.banking.sandbox.seed import DemoCard, seed_demo_bank
from vtm.config import load_settings
from vtm.kiosk.bootstrap import bootstrap
from vtm.kiosk.server import KioskService, ServiceOptions, create_app
from vtm.kiosk.server.voice import VoiceKit
from vtm.speech.asr import Recognizer
from vtm.speech.audio import SAMPLE_RATE, load_audio, write_wav
from vtm.speech.tts import Synthesizer
from vtm.speech.whisper_files import whisper_dir

pytestmark = pytest.mark.slow

CHEAP_PINS = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64, pin_hash_parallelism=1)
TURN_MS = 120_000  # end of turn + Whisper + dialog + espeak-ng on a loaded 2-core machine


def _models_dir() -> Path:
    return Path(os.environ.get("VTM_MODELS_DIR") or Path(platformdirs.user_data_dir("vtm", appauthor=False)) / "models")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, DemoCard], Synthesizer]]:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("kiosk-voice"), models_dir=_models_dir())
    settings.ensure_dirs()
    engine = create_bank_engine(settings.bank_db_url)
    cards = seed_demo_bank(engine, date.today(), reset=True, policy=CHEAP_PINS)
    engine.dispose()
    kit = VoiceKit(Recognizer(whisper_dir(settings.models_path)), Synthesizer())
    service = KioskService(bootstrap(settings), ServiceOptions(kiosk_ids=("E2E-VOICE",), simulate_devices=True),
                           voice=kit)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300  # the lifespan loads the NLU and Whisper first
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", {c.customer_name: c for c in cards}, kit.synthesizer
    server.should_exit = True
    thread.join(timeout=20)


def _customer_recording(synth: Synthesizer, text: str, path: Path) -> Path:
    """The customer's words with room silence around them (the fake microphone loops the file)."""
    synth.synthesize(text, "en", path)
    speech = load_audio(path).samples
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    return write_wav(path, np.concatenate([silence, speech, silence, silence, silence]))


def test_a_customer_speaks_to_the_page_and_hears_the_reply(
    served: tuple[str, dict[str, DemoCard], Synthesizer], tmp_path: Path
) -> None:
    base_url, cards, synth = served
    wav = _customer_recording(synth, "I want to check my balance", tmp_path / "customer.wav")
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"]
    audio_urls: list[str] = []

    def watch(ws: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"audio_url"' in payload:
                url = json.loads(payload).get("audio_url")
                if url:
                    audio_urls.append(url)
        ws.on("framereceived", received)

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path="/usr/bin/chromium", args=args, headless=True,
            viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        page.set_default_timeout(TURN_MS)
        page.on("websocket", watch)
        page.goto(f"{base_url}/kiosk?kiosk=E2E-VOICE")
        expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "online", timeout=TURN_MS)
        page.get_by_test_id("start-en").click()
        page.get_by_test_id("dev-card").fill(cards["John Smith"].card_number)
        page.get_by_test_id("dev-insert").click()
        expect(page.get_by_test_id("kiosk-caption").filter(has_text="read your card").last).to_be_visible(
            timeout=TURN_MS)
        microphone = page.get_by_test_id("microphone")
        expect(microphone).to_be_visible()
        microphone.click()
        expect(microphone).to_have_attribute("aria-pressed", "true")
        heard = page.get_by_test_id("customer-caption").filter(has_text=re.compile("balance", re.I)).first
        expect(heard).to_be_visible(timeout=TURN_MS)
        expect(page.get_by_test_id("device-prompt")).to_have_attribute("data-device", "pin", timeout=TURN_MS)
        microphone.click()
        assert audio_urls, "no reply came with a recording"
        recording = page.request.get(base_url + audio_urls[-1])
        assert recording.status == 200
        assert recording.body()[:4] == b"RIFF"
        assert page.request.get(base_url + audio_urls[-1].replace("/S-", "/S-0")).status == 404  # other sessions
        context.close()
