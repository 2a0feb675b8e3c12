"""The HTTP surface itself: OpenAPI, health, error envelopes, privacy of PINs and card numbers.

Credentials and bad input have their own file, ``test_bank_api_auth.py``."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp

from vtm.banking.credentials import kiosk_credential
from vtm.banking.errors import Unavailable
from vtm.banking.http_client import HttpCoreBanking, RequestSigner
from vtm.banking.port import CoreBanking
from vtm.banking.signing import KioskKey
from vtm.config import Settings

if TYPE_CHECKING:
    from conftest import BankWorld


class RecordingTransport(httpx.HTTPTransport):
    """A real transport that remembers every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture
def server_url(sqlite_world: BankWorld, start_server: Callable[[ASGIApp], str],
               bank_api: Callable[[CoreBanking], FastAPI]) -> str:
    return start_server(bank_api(sqlite_world.sandbox))


@pytest.fixture
def http(server_url: str, signed_http: Callable[[str], httpx.Client]) -> httpx.Client:
    """Raw HTTP to the API, signed as the test kiosk."""
    return signed_http(server_url)


def test_openapi_lists_one_endpoint_per_operation(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    operations = {op["operationId"].split("_v1")[0]
                  for path in spec["paths"].values() for op in path.values()}
    port_methods = {name for name in dir(CoreBanking) if not name.startswith("_")}
    assert port_methods <= operations
    assert http.get("/health").json() == {"status": "ok"}


def test_client_is_a_core_banking(server_url: str, kiosk: KioskKey) -> None:
    with HttpCoreBanking(server_url, credential=kiosk) as client:
        assert isinstance(client, CoreBanking)


def test_pin_and_card_number_never_appear_in_urls_or_logs(
    sqlite_world: BankWorld, server_url: str, kiosk: KioskKey, caplog: pytest.LogCaptureFixture
) -> None:
    card = sqlite_world.cards[0]
    transport = RecordingTransport()
    caplog.set_level(logging.DEBUG)
    with HttpCoreBanking(server_url, transport=transport, credential=kiosk) as client:
        auth = client.authenticate_card(card.card_number, card.pin)
        client.card_status(card.card_number)
        client.cards_of_customer(auth.customer_id)
    assert transport.requests
    for request in transport.requests:
        assert card.pin not in str(request.url)
        assert card.card_number not in str(request.url)
    assert any("route=/v1/auth/card" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert card.pin not in record.getMessage()
        assert card.card_number not in record.getMessage()


def test_invalid_request_is_an_envelope_that_does_not_echo_the_pin(http: httpx.Client) -> None:
    response = http.post("/v1/auth/card", json={"card_number": "6222020000000000017", "pin": "987654", "extra": 1})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert set(body) == {"code", "message", "retry_safe", "context"}
    assert "987654" not in response.text


def test_business_errors_carry_their_code_and_status(sqlite_world: BankWorld, http: httpx.Client) -> None:
    card = sqlite_world.cards[0]
    wrong = "000000" if card.pin != "000000" else "111111"
    response = http.post("/v1/auth/card", json={"card_number": card.card_number, "pin": wrong})
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["context"]["attempts_left"] == 2
    missing = http.get("/v1/accounts/NOSUCHACCOUNT/balance")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_statement_is_also_served_as_a_pdf(sqlite_world: BankWorld, server_url: str, kiosk: KioskKey,
                                           http: httpx.Client) -> None:
    today = sqlite_world.clock().date()
    with HttpCoreBanking(server_url, credential=kiosk) as client:
        auth = client.authenticate_card(sqlite_world.cards[0].card_number, sqlite_world.cards[0].pin)
        account = client.list_accounts(auth.customer_id)[0].account_number
        document = client.statement(account, today - timedelta(days=30), today)
    response = http.get(f"/v1/accounts/{account}/statement.pdf",
                        params={"start": str(today - timedelta(days=30)), "end": str(today)})
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response.headers["x-verification-code"] == document.verification_code


def test_a_wrong_base_url_is_never_read_as_transfer_never_seen(server_url: str, kiosk: KioskKey) -> None:
    """A 404 page that is not the API's own answer must not become "the core never saw this key"."""
    with HttpCoreBanking(server_url + "/not-the-api", retries=1, backoff_s=0.0, credential=kiosk) as client, \
            pytest.raises(Unavailable):
        client.transfer_status("some-key-0001")


def test_vtm_bank_serve_answers_openapi_to_the_kiosk_sharing_its_data_dir(tmp_path: Path) -> None:
    """`vtm bank serve` on loopback uses the dev key file the kiosk uses; unsigned requests get 401."""
    credential = kiosk_credential(Settings(data_dir=tmp_path))  # creates <data_dir>/keys/bank_api.key
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "VTM_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-c", "from vtm.cli import main; main()", "bank", "serve", "--port", str(port),
               "--settle-every", "0"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "vtm bank serve did not come up"
                time.sleep(0.2)
        assert health.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5.0).status_code == 401
        with httpx.Client(auth=RequestSigner(credential), timeout=5.0) as signed:
            response = signed.get(f"http://127.0.0.1:{port}/openapi.json")
        assert response.status_code == 200
        assert "/v1/transfers" in response.json()["paths"]
    finally:
        server.terminate()
        server.wait(timeout=10)
