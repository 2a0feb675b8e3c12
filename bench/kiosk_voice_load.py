"""How many *voice* kiosks one `vtm serve --voice` holds: voice to voice under load, over the page's protocol.

Each virtual kiosk connects to the WebSocket as the page does, opens a session (English, card in
the reader) and then, several times, speaks one recorded question into the microphone stream in
real time (16 kHz PCM16 frames of 0.25 s, as the page sends them), followed by room silence until
the kiosk answers. Voice to voice is the time from the last frame of speech to the reply message
that carries its recording (the page starts playing it then): end of turn, Whisper, dialog and
espeak-ng, and any waiting behind other kiosks' turns.

    VTM_MODELS_DIR=~/.local/share/vtm/models .venv/bin/python bench/kiosk_voice_load.py --kiosks 1 2 3

The question is "what can you do" (synthesised with espeak-ng; the kiosk explains what it does,
so it can be asked again and again). Customers pause 2 s ± 50 % after each answer and kiosks begin
at random moments within 4 s. Target of issue 16: the number of kiosks with p95 under 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from kiosk_load import seed, start_server, stop_server  # bench/ is on the path when run as a script
from websockets.asyncio.client import ClientConnection, connect

from vtm.speech.audio import SAMPLE_RATE, load_audio
from vtm.speech.tts import Synthesizer

CHUNK_S = 0.25
QUESTION = "what can you do"
ANSWER_TIMEOUT_S = 60.0


def _pcm(samples: np.ndarray[Any, Any]) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def recorded_question(folder: Path) -> bytes:
    path = folder / "question.wav"
    with Synthesizer() as synth:
        synth.synthesize(QUESTION, "en", path)
    return _pcm(load_audio(path).samples)


async def _screen(ws: ClientConnection) -> None:
    while True:
        message = json.loads(await ws.recv())
        if message["type"] in ("read_back", "error"):
            return


async def kiosk(url: str, card: str, speech: bytes, questions: int, rng: random.Random,
                latencies: list[float], errors: list[str]) -> None:
    await asyncio.sleep(rng.uniform(0, 4))
    rng_noise = np.random.default_rng(rng.randrange(1 << 30))
    step = int(SAMPLE_RATE * CHUNK_S) * 2  # bytes per chunk
    async with connect(url, max_size=2**22) as ws:
        await ws.recv()  # the idle screen's hello
        await ws.send(json.dumps({"type": "start", "lang": "en"}))
        await _screen(ws)
        await ws.send(json.dumps({"type": "device", "command": f"insert_card {card}"}))
        await _screen(ws)
        for _ in range(questions):
            started = time.perf_counter()
            for offset in range(0, len(speech), step):  # speak in real time
                await ws.send(speech[offset:offset + step])
                await asyncio.sleep(CHUNK_S - (time.perf_counter() - started) % CHUNK_S)
            spoken_at = time.perf_counter()
            answered = asyncio.Event()

            async def room(done: asyncio.Event = answered) -> None:  # the microphone keeps sending the room
                while not done.is_set():
                    await ws.send(_pcm(rng_noise.normal(0, 0.002, int(SAMPLE_RATE * CHUNK_S)).astype(np.float32)))
                    await asyncio.sleep(CHUNK_S)

            feeder = asyncio.create_task(room())
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    while True:
                        message = json.loads(await ws.recv())
                        if message["type"] == "reply" and message.get("audio_url"):
                            latencies.append((time.perf_counter() - spoken_at) * 1000)
                            break
            except TimeoutError:
                errors.append("no answer")
            finally:
                answered.set()
                await feeder
            await asyncio.sleep(2.0 * rng.uniform(0.5, 1.5))  # listens to the answer, thinks


def run(n: int, questions: int, speech: bytes) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"vtm-voice-load-{n}-"))
    kiosks = [f"VOICE-{i:02d}" for i in range(n)]
    env = {**os.environ, "VTM_DATA_DIR": str(data_dir),
           "VTM_BANK_DATABASE_URL": f"sqlite:///{data_dir / 'bank.sqlite3'}",
           "VTM_RECORDS_DATABASE_URL": f"sqlite:///{data_dir / 'records.sqlite3'}"}
    people = seed(env["VTM_BANK_DATABASE_URL"])
    server = start_server(env, kiosks, data_dir / "serve.log", ("--voice",))
    latencies: list[float] = []
    errors: list[str] = []
    try:
        async def drive() -> None:
            rng = random.Random(11)
            await asyncio.gather(*(kiosk(f"{server.ws}/{k}", people[i % len(people)].card, speech, questions,
                                         random.Random(rng.random()), latencies, errors)
                                   for i, k in enumerate(kiosks)))
        asyncio.run(drive())
    finally:
        stop_server(server)
    ordered = sorted(latencies)

    def pct(q: float) -> int | None:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else None

    return {"kiosks": n, "answers": len(latencies), "errors": len(errors), "p50_ms": pct(0.5),
            "p95_ms": pct(0.95), "max_ms": round(max(latencies)) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies)) if latencies else None,
            "load_1min": round(os.getloadavg()[0], 1), "logs": str(data_dir)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--questions", type=int, default=6, help="questions per kiosk")
    args = parser.parse_args(argv)
    speech = recorded_question(Path(tempfile.mkdtemp(prefix="vtm-voice-question-")))
    for n in args.kiosks:
        print(json.dumps(run(n, args.questions, speech)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
