"""The kiosk service's voice path (``vtm serve --voice``) over its WebSocket, with the real models.

The page's microphone is played as PCM16 frames (0.25 s each, as the page sends them) of a
customer recording synthesised with espeak-ng, into the service's real end-of-turn detector
(Silero + Smart Turn), Whisper and dialog. What is asserted is behaviour that holds on any
machine: a barge-in is announced before the interrupting turn, a reply that must be heard is
never interrupted and the speech over it is not a turn, and the browser microphone listens
with the same parts as ``vtm kiosk``. Exact words are not asserted (that is ``bench/asr.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from vtm.banking.sandbox import SandboxPolicy, create_bank_engine
from vtm.banking.sandbox.seed import seed_demo_bank
from vtm.config import load_settings
from vtm.kiosk.bootstrap import bootstrap
from vtm.kiosk.server import KioskService, ServiceOptions, create_app
from vtm.kiosk.server.voice import VoiceKit
from vtm.speech.audio import SAMPLE_RATE, load_audio
from vtm.speech.smart_turn import SmartTurn

pytestmark = pytest.mark.slow

CHEAP_PINS = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64, pin_hash_parallelism=1)
CHUNK = 4096  # samples per binary frame, as js/voice.js sends them
Message = dict[str, Any]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, KioskService, bytes]]:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("kiosk-voice-service"),
                             models_dir=Path(os.environ["VTM_MODELS_DIR"]))
    settings.ensure_dirs()
    bank = create_bank_engine(settings.bank_db_url)
    seed_demo_bank(bank, date.today(), reset=True, policy=CHEAP_PINS)
    bank.dispose()
    kit = VoiceKit.for_settings(settings)
    wav = kit.synthesizer.synthesize("What can you do for me?", "en", settings.data_dir / "customer.wav").path
    speech = load_audio(wav).samples
    quiet = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    tail = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)  # the room after the customer stops: the turn ends in it
    pcm = (np.clip(np.concatenate([quiet, speech, tail]), -1, 1) * 32767).astype("<i2").tobytes()
    service = KioskService(bootstrap(settings), ServiceOptions(kiosk_ids=("V1",), simulate_devices=True), voice=kit)
    with TestClient(create_app(service)) as client:
        yield client, service, pcm


def _send(ws: Any, message: Message) -> None:
    ws.send_text(json.dumps(message))


def _until_screen(ws: Any) -> list[Message]:
    """Messages up to the end of a turn's screen (``read_back`` closes every turn)."""
    received: list[Message] = []
    while not received or received[-1]["type"] not in ("read_back", "error"):
        received.append(json.loads(ws.receive_text()))
    return received


@contextmanager
def _english_session(client: TestClient, kiosk: str = "V1") -> Iterator[tuple[Any, int]]:
    """A screen of ``kiosk`` with a fresh English session (its welcome drawn), reset afterwards."""
    with client.websocket_connect(f"/ws/{kiosk}") as ws:
        ws.receive_text()  # hello
        _send(ws, {"type": "start", "lang": "en"})
        welcome = _until_screen(ws)
        yield ws, next(m for m in welcome if m["type"] == "state")["turn"]
        _send(ws, {"type": "reset"})
        ws.receive_text()


def _speak(ws: Any, pcm: bytes) -> None:
    for start in range(0, len(pcm), CHUNK * 2):
        ws.send_bytes(pcm[start:start + CHUNK * 2])


def test_the_browser_microphone_listens_with_the_same_parts_as_vtm_kiosk(
    served: tuple[TestClient, KioskService, bytes],
) -> None:
    client, service, _pcm = served
    with _english_session(client):
        session = service.sessions.peek("V1")
        assert session is not None
        assert session.microphone is not None
        assert session.front is not None
        assert isinstance(session.front.completion, SmartTurn)  # end of turn beyond silence, as vtm kiosk
        assert session.microphone.partials is not None  # ASR at the first pause, while the wait runs


def test_speech_over_an_interruptible_reply_barges_in_and_is_the_next_turn(
    served: tuple[TestClient, KioskService, bytes],
) -> None:
    client, _service, pcm = served
    with _english_session(client) as (ws, turn):
        _send(ws, {"type": "speaker", "playing": True, "interruptible": True})  # the welcome plays
        _speak(ws, pcm)
        barge = json.loads(ws.receive_text())
        assert barge == {"type": "barge_in", "turn": turn}
        answered = _until_screen(ws)
        caption = next(m for m in answered if m["type"] == "caption")
        assert caption["turn"] == turn + 1
        assert caption["text"].strip()
        assert any(m["type"] == "reply" and m["audio_url"] for m in answered)  # and answered aloud


def test_a_reply_that_must_be_heard_is_not_interrupted_and_speech_over_it_is_not_a_turn(
    served: tuple[TestClient, KioskService, bytes],
) -> None:
    client, _service, pcm = served
    with _english_session(client) as (ws, turn):
        _send(ws, {"type": "speaker", "playing": True, "interruptible": False})  # e.g. a fraud warning
        _speak(ws, pcm)
        _send(ws, {"type": "speaker", "playing": False})
        _send(ws, {"type": "say", "text": "check my balance"})
        answered = _until_screen(ws)  # the first thing back is the typed turn: nothing came of the speech
        assert answered[0] == {"type": "caption", "turn": turn + 1, "text": "check my balance"}
        assert not any(m["type"] == "barge_in" for m in answered)


def test_room_noise_from_the_microphone_is_silence_and_the_customer_who_left_is_reminded(
    served: tuple[TestClient, KioskService, bytes],
) -> None:
    """The page streams its microphone all the time: its room noise must not keep the dialog's
    silence repair from speaking up (only a heard turn or a barge-in is activity)."""
    _client, service, _pcm = served
    quick = dataclasses.replace(service.services, screen_silence_s=1.0)
    kiosk = KioskService(quick, ServiceOptions(kiosk_ids=("V2",), simulate_devices=True),
                         voice=VoiceKit.for_settings(quick.settings))
    room = np.random.default_rng(7).normal(0.0, 0.003, CHUNK)  # a quiet hall, about -50 dBFS
    chunk = (room * 32767).astype("<i2").tobytes()
    with TestClient(create_app(kiosk)) as client, client.websocket_connect("/ws/V2") as ws, \
            ThreadPoolExecutor(max_workers=1) as reader:
        ws.receive_text()
        _send(ws, {"type": "start", "lang": "en"})
        _until_screen(ws)
        keys: list[str] = []
        started = time.monotonic()
        pending = reader.submit(ws.receive_text)
        while not any(k.startswith("repair.silence") for k in keys):
            assert time.monotonic() - started < 30, f"no reminder while the room was quiet: {keys}"
            ws.send_bytes(chunk)  # 256 ms of room, in real time
            time.sleep(CHUNK / SAMPLE_RATE)
            while pending.done():
                message = json.loads(pending.result())
                keys += [message["key"]] if message["type"] == "reply" else []
                pending = reader.submit(ws.receive_text)
        assert "repair.silence.1" in keys
        _send(ws, {"type": "reset"})
        pending.result(timeout=20)
