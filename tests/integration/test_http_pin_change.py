"""The PIN-change route over real HTTP: PINs only in the body, never in a URL, a log line or a reply.

The behaviour itself is the contract (``test_core_contract_pin_change.py``); this file checks what
only the HTTP surface can get wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp

from vtm.banking.errors import WeakPin
from vtm.banking.http_client import HttpCoreBanking
from vtm.banking.port import CoreBanking
from vtm.banking.signing import KioskKey

if TYPE_CHECKING:
    from conftest import BankWorld

ROUTE = "/v1/cards/pin-changes"
NEW_PIN = "135790"


class RecordingTransport(httpx.HTTPTransport):
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


def test_pins_never_appear_in_urls_logs_or_replies(
    sqlite_world: BankWorld, server_url: str, kiosk: KioskKey, caplog: pytest.LogCaptureFixture
) -> None:
    card = sqlite_world.cards[0]
    transport = RecordingTransport()
    caplog.set_level(logging.DEBUG)
    with HttpCoreBanking(server_url, transport=transport, credential=kiosk) as client:
        with pytest.raises(WeakPin) as weak:
            client.change_pin(card.card_number, card.pin, "111111", "http-pin-0001")
        change = client.change_pin(card.card_number, card.pin, NEW_PIN, "http-pin-0002")
    assert "111111" not in str(weak.value.to_dict())
    assert card.pin not in change.model_dump_json()
    assert NEW_PIN not in change.model_dump_json()
    assert [request.url.path for request in transport.requests] == [ROUTE, ROUTE]
    for request in transport.requests:
        assert request.method == "POST"
        assert card.pin not in str(request.url)
        assert NEW_PIN not in str(request.url)
    assert any(f"route={ROUTE}" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        message = record.getMessage()
        assert card.pin not in message
        assert NEW_PIN not in message
        assert "111111" not in message


def test_weak_pin_is_a_422_envelope_naming_weaknesses_only(
    sqlite_world: BankWorld, server_url: str, signed_http: Callable[[str], httpx.Client]
) -> None:
    card = sqlite_world.cards[0]
    response = signed_http(server_url).post(ROUTE, json={
        "card_number": card.card_number, "current_pin": card.pin, "new_pin": "654321",
        "idempotency_key": "http-pin-0003"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "weak_pin"
    assert body["context"] == {"weaknesses": "sequential"}
    assert "654321" not in response.text
    assert card.pin not in response.text


def test_an_invalid_body_is_refused_without_echoing_a_pin(
    sqlite_world: BankWorld, server_url: str, signed_http: Callable[[str], httpx.Client]
) -> None:
    card = sqlite_world.cards[0]
    response = signed_http(server_url).post(ROUTE, json={
        "card_number": card.card_number, "current_pin": "987", "new_pin": "1234567890123",
        "idempotency_key": "http-pin-0004"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert "987" not in response.json()["message"]
    assert "1234567890123" not in response.text
