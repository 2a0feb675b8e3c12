"""Login rate limits of the review app against a rotating ``X-Forwarded-For``, over HTTP.

An outside probe rotated ``X-Forwarded-For`` to try many usernames from one address unthrottled
(uvicorn believes the header from 127.0.0.1 by default). These tests drive the real app (real
SQLite, real argon2 with cheap parameters) through the ASGI test client with a chosen TCP peer,
and once through a real uvicorn started as ``vtm review`` starts it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from review_world import CHEAP, PASSWORD, attempt_login, csrf_of, review_app
from typer.testing import CliRunner

from vtm.cli import app as vtm_cli
from vtm.config import Settings, load_settings
from vtm.review.app import ReviewOptions
from vtm.review.proxies import server_config

PROXY = "10.0.0.5"
OUTSIDER = "203.0.113.7"  # a TCP peer that is not a configured proxy
PER_ADDRESS = 20
PER_USERNAME = 5


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("VTM_RECORDS_KEY", raising=False)
    s = load_settings(data_dir=tmp_path / "data")
    s.ensure_dirs()
    return s


def _client(settings: Settings, peer: str, trusted: tuple[str, ...] = ()) -> TestClient:
    app = review_app(settings, ReviewOptions(password_hasher=CHEAP, trusted_proxies=trusted))
    return TestClient(app, client=(peer, 40000))


def _xff(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_rotating_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_address_limit(
    settings: Settings,
) -> None:
    with _client(settings, OUTSIDER) as client:
        for i in range(PER_ADDRESS):
            status = attempt_login(client, f"guess{i}", "wrong password!", _xff(f"198.51.100.{i + 1}"))
            assert status == 401, i
        # The header is ignored: every attempt came from the outsider, now throttled whatever it says.
        assert attempt_login(client, "rita", PASSWORD, _xff("198.51.100.200")) == 429
        assert attempt_login(client, "rita", PASSWORD) == 429


def test_a_trusted_proxy_s_forwarded_address_is_the_client(settings: Settings) -> None:
    with _client(settings, PROXY, trusted=(PROXY,)) as client:
        for i in range(PER_ADDRESS):
            assert attempt_login(client, f"guess{i}", "wrong password!", _xff("198.51.100.1")) == 401
        assert attempt_login(client, "rita", PASSWORD, _xff("198.51.100.1")) == 429
        # A client-written first entry is not believed: the proxy appended the real address last.
        assert attempt_login(client, "rita", PASSWORD, _xff("192.0.2.99, 198.51.100.1")) == 429
        # Another client behind the same proxy is not throttled for the first one's failures.
        assert attempt_login(client, "rita", PASSWORD, _xff("198.51.100.2")) == 303


def test_one_username_is_limited_across_addresses(settings: Settings) -> None:
    with _client(settings, PROXY, trusted=(PROXY,)) as client:
        for i in range(PER_USERNAME):
            assert attempt_login(client, "rita", "wrong password!", _xff(f"198.51.100.{i + 1}")) == 401
        assert attempt_login(client, "rita", PASSWORD, _xff("198.51.100.77")) == 429
        assert attempt_login(client, "sam", PASSWORD, _xff("198.51.100.77")) == 303


def test_a_successful_login_does_not_reset_the_count_another_address_built_up(settings: Settings) -> None:
    attacker, owner = _xff("198.51.100.66"), _xff("198.51.100.10")
    with _client(settings, PROXY, trusted=(PROXY,)) as client:
        for _ in range(PER_USERNAME - 1):
            assert attempt_login(client, "rita", "wrong password!", attacker) == 401
        client.cookies.clear()
        assert attempt_login(client, "rita", PASSWORD, owner) == 303
        client.cookies.clear()
        assert attempt_login(client, "rita", "wrong password!", attacker) == 401  # the 5th, still counted
        assert attempt_login(client, "rita", PASSWORD, attacker) == 429


def test_a_successful_login_forgets_that_address_s_own_typos(settings: Settings) -> None:
    with _client(settings, PROXY, trusted=(PROXY,)) as client:
        for _ in range(PER_USERNAME - 1):
            assert attempt_login(client, "rita", "wrong password!", _xff("198.51.100.10")) == 401
        assert attempt_login(client, "rita", PASSWORD, _xff("198.51.100.10")) == 303
        client.cookies.clear()
        for _ in range(PER_USERNAME - 1):
            assert attempt_login(client, "rita", "wrong password!", _xff("198.51.100.10")) == 401
        assert attempt_login(client, "rita", PASSWORD, _xff("198.51.100.10")) == 303


def test_a_throttled_login_is_a_429_with_retry_after_and_a_logged_event(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with _client(settings, OUTSIDER) as client:
        for _ in range(PER_USERNAME):
            attempt_login(client, "rita", "wrong password!")
        token = csrf_of(client.get("/login").text)
        with caplog.at_level(logging.INFO, logger="vtm.review.login"):
            response = client.post(
                "/login", data={"username": "Rita ", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
            )
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "登录失败次数过多" in response.text  # the default UI language is Chinese
    events = [r.getMessage() for r in caplog.records if "event=review_login_throttled" in r.getMessage()]
    assert events == [
        f"event=review_login_throttled limited_by=username username='rita' address='{OUTSIDER}' "
        f"retry_after_s={response.headers['Retry-After']}"
    ]


@pytest.mark.parametrize("entry", ["*", "proxy.example", "10.0.0.300", ""])
def test_only_addresses_and_networks_can_be_trusted_proxies(entry: str) -> None:
    with pytest.raises(ValueError, match="not an IP address or network"):
        ReviewOptions(trusted_proxies=(entry,))


def test_vtm_review_refuses_a_wildcard_trusted_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VTM_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(vtm_cli, ["review", "--trusted-proxy", "*"])
    assert result.exit_code == 2
    assert "not an IP address or network" in result.output


@contextmanager
def _served(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn configured exactly as ``vtm review`` configures it, on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_behind_vtm_review_s_uvicorn_a_local_peer_cannot_rotate_x_forwarded_for(settings: Settings) -> None:
    """The probe's own setup: requests from 127.0.0.1, which uvicorn trusts by default."""
    with _served(review_app(settings)) as base, httpx.Client(base_url=base) as client:
        statuses = []
        for i in range(PER_ADDRESS + 1):
            token = csrf_of(client.get("/login").text)
            response = client.post(
                "/login",
                data={"username": f"guess{i}", "password": "wrong password!", "csrf_token": token},
                headers=_xff(f"198.51.100.{i + 1}"),
            )
            statuses.append(response.status_code)
    assert statuses == [401] * PER_ADDRESS + [429]
