"""A review app over one recorded session, for the review-app integration tests.

A real SQLite records database in a temporary folder, one handed-off card-loss session of three
turns (one with audio), and three staff users: ``rita`` (reviewer), ``sam`` (supervisor) and
``ada`` (admin), all with :data:`PASSWORD`. Passwords are hashed with cheap argon2 parameters.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from vtm.config import Settings
from vtm.dialog.turn import Reply, TurnRecord
from vtm.records.store import SessionStore
from vtm.review.app import ReviewOptions, create_app
from vtm.review.users import Role

CARD = "6230887983054949930"
SID = "S-0123456789abcdef0123"
PASSWORD = "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def audio_path(settings: Settings) -> Path:
    """Where turn 2's recording is."""
    return settings.audio_dir / f"{SID}-2.wav"


def write_audio(settings: Settings) -> Path:
    path = audio_path(settings)
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt demo-audio-bytes")
    return path


def recorded_store(settings: Settings, audio_file: Path) -> SessionStore:
    """The records database with the one session :data:`SID`."""
    store = SessionStore.from_settings(settings)
    store.open_session(SID, "VTM-0001", "zh", T0)
    store.record_turn(
        SID,
        TurnRecord(turn=1, device=f"insert_card {CARD[:4]} **** **** {CARD[-4:]}"),
        [],
        device_raw=f"insert_card {CARD}",
        ts=T0,
    )
    store.record_turn(
        SID,
        TurnRecord(
            turn=2,
            user=f"我是张伟,卡号{CARD}丢了",
            intent="report_card_lost",
            confidence=0.91,
            state="card_loss.choose_kind",
            replies=[Reply("k", "好的张伟", True)],
            verdicts=[
                {
                    "checkpoint": "card_loss.confirm",
                    "outcome": "refer",
                    "rules": ["R-WATCH-1"],
                    "reasons": ["watch_list"],
                    "policy_version": "abc",
                }
            ],
        ),
        ["张伟"],
        audio_path=str(audio_file),
        asr_confidence=0.52,
        ts=T0,
    )
    store.record_turn(SID, TurnRecord(turn=3, device="pin ******"), [], device_raw="pin 955756", ts=T0)
    store.close_session(SID, "handed_off", ["card_loss"], "C-1", T0)
    return store


def review_app(settings: Settings, options: ReviewOptions | None = None) -> FastAPI:
    """The app over :func:`recorded_store`, with rita, sam and ada."""
    opts = options or ReviewOptions(password_hasher=CHEAP)
    app = create_app(settings, opts, store=recorded_store(settings, write_audio(settings)))
    users = app.state.review.users
    users.create("rita", PASSWORD, Role.REVIEWER)
    users.create("sam", PASSWORD, Role.SUPERVISOR)
    users.create("ada", PASSWORD, Role.ADMIN)
    return app


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "page has no CSRF field"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in; returns the CSRF token of the new login session."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/sessions").text)


def attempt_login(client: TestClient, username: str, password: str, headers: dict[str, str] | None = None) -> int:
    """One login attempt (with a fresh form token); returns the status code."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )
    return response.status_code
