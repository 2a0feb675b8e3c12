"""Credentials and bad input on the core bank's HTTP API, probed over real HTTP (uvicorn + httpx).

Every route the app declares is probed: without a credential, with a wrong signature, from an
unknown kiosk, with a stale timestamp, with a replayed nonce, from a kiosk outside the route's
scope, and with a valid signature. A new route that skipped authentication fails here.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp
from typer.testing import CliRunner

from vtm.banking.cli import app as bank_cli
from vtm.banking.credentials import ROUTE_SCOPES
from vtm.banking.errors import CredentialRejected
from vtm.banking.http_auth import AuthDenied
from vtm.banking.http_client import HttpCoreBanking
from vtm.banking.http_server import create_app
from vtm.banking.models import MEMO_MAX_CHARS
from vtm.banking.signing import KioskKey, KioskKeyTable, signed_headers

if TYPE_CHECKING:
    from conftest import BankWorld

OPEN_PATHS = {"/health"}
READ_ONLY = KioskKey("VTM-RECORDS-ONLY", secrets.token_bytes(32), scopes=frozenset({"records"}))


@dataclass
class Api:
    app: FastAPI
    url: str
    client: httpx.Client
    denied: list[AuthDenied]


@pytest.fixture
def api(sqlite_world: BankWorld, kiosk: KioskKey, start_server: Callable[[ASGIApp], str]) -> Iterator[Api]:
    denied: list[AuthDenied] = []
    app = create_app(sqlite_world.sandbox, kiosks=KioskKeyTable([kiosk, READ_ONLY]), audit=denied.append)
    url = start_server(app)
    with httpx.Client(base_url=url, timeout=10.0) as client:
        yield Api(app, url, client, denied)


def send(api: Api, method: str, path: str, body: bytes = b"", *, credential: KioskKey | None,
         now: float | None = None, params: dict[str, str] | None = None) -> httpx.Response:
    request = api.client.build_request(method, path, content=body, params=params,
                                       headers={"content-type": "application/json"})
    if credential is not None:
        request.headers.update(signed_headers(credential, method, request.url.raw_path, body, now=now))
    return api.client.send(request)


def _routes(app: FastAPI) -> list[tuple[str, str, str | None]]:
    """Every (method, concrete path, scope) the app serves, path parameters filled with sample values."""
    found: list[tuple[str, str, str | None]] = []
    for route in _flatten(app.routes):
        assert isinstance(route, Route), f"unexpected route type {type(route).__name__}"
        tags = route.tags if isinstance(route, APIRoute) else []
        path = re.sub(r"\{[^}]+\}", "sample-0001", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path, str(tags[0]) if tags else None))
    return found


def _flatten(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Routes, with included routers (FastAPI wraps them, their routes under ``original_router``) opened."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _flatten(included.routes)
        else:
            yield route


def _reason(response: httpx.Response) -> str:
    return str(response.json()["context"]["reason"])


# Every route ---------------------------------------------------------------------------------------
def test_the_route_table_is_probed_whole(api: Api) -> None:
    routes = _routes(api.app)
    paths = {path for _, path, _ in routes}
    assert "/v1/transfers" in paths
    assert "/openapi.json" in paths
    assert len(routes) >= 20
    assert {path for path in paths if not path.startswith("/v1/")} == {"/health", "/openapi.json"}
    assert {scope for _, path, scope in routes if path.startswith("/v1/")} == ROUTE_SCOPES


@pytest.mark.parametrize("probe", ["missing", "wrong_key", "unknown_kiosk", "stale", "future"])
def test_every_route_refuses_a_request_without_a_valid_signature(api: Api, kiosk: KioskKey, probe: str) -> None:
    impostor = KioskKey(kiosk.kiosk_id, secrets.token_bytes(32))
    stranger = KioskKey("VTM-UNKNOWN-9", secrets.token_bytes(32))
    credential, now, reason = {
        "missing": (None, None, "missing_credential"),
        "wrong_key": (impostor, None, "bad_signature"),
        "unknown_kiosk": (stranger, None, "bad_signature"),
        "stale": (kiosk, time.time() - 600, "stale_timestamp"),
        "future": (kiosk, time.time() + 600, "stale_timestamp"),
    }[probe]
    for method, path, _ in _routes(api.app):
        if path in OPEN_PATHS:
            continue
        response = send(api, method, path, b"{}" if method == "POST" else b"", credential=credential, now=now)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "credential_rejected"
        assert _reason(response) == reason
        assert response.headers["www-authenticate"] == "VTM1-HMAC-SHA256"


def test_every_route_refuses_a_replayed_request(api: Api, kiosk: KioskKey) -> None:
    for method, path, _ in _routes(api.app):
        if path in OPEN_PATHS:
            continue
        body = b"{}" if method == "POST" else b""
        request = api.client.build_request(method, path, content=body, headers={"content-type": "application/json"})
        request.headers.update(signed_headers(kiosk, method, request.url.raw_path, body))
        first = api.client.send(request)
        assert first.status_code not in (401, 403), (method, path, first.text)
        again = api.client.send(request)
        assert again.status_code == 401, (method, path)
        assert _reason(again) == "replayed_nonce"


def test_every_route_answers_a_valid_signature(api: Api, kiosk: KioskKey) -> None:
    for method, path, _ in _routes(api.app):
        response = send(api, method, path, b"{}" if method == "POST" else b"", credential=kiosk)
        assert response.status_code not in (401, 403), (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)


def test_a_kiosk_outside_a_routes_scope_is_forbidden(api: Api) -> None:
    for method, path, scope in _routes(api.app):
        if scope is None or path in OPEN_PATHS:
            continue
        response = send(api, method, path, b"{}" if method == "POST" else b"", credential=READ_ONLY)
        if scope == "records":
            assert response.status_code not in (401, 403), (method, path)
        else:
            assert response.status_code == 403, (method, path)
            assert response.json()["code"] == "forbidden"


def test_the_health_probe_alone_is_open(api: Api) -> None:
    assert send(api, "GET", "/health", credential=None).json() == {"status": "ok"}
    assert send(api, "GET", "/docs", credential=None).status_code == 401  # no docs page, and not open


# What the signature binds --------------------------------------------------------------------------
def test_a_signature_does_not_carry_over_to_another_body_or_path(
    api: Api, kiosk: KioskKey, sqlite_world: BankWorld
) -> None:
    account = sqlite_world.cards[0].account_number
    body = json.dumps({"idempotency_key": "tamper-0001", "from_account": account, "to_account": "x",
                       "payee_name": "x", "payee_bank": "x", "amount": "1.00"}).encode()
    request = api.client.build_request("POST", "/v1/transfers", content=body,
                                       headers={"content-type": "application/json"})
    request.headers.update(signed_headers(kiosk, "POST", request.url.raw_path, body))
    signed = {name: value for name, value in request.headers.items() if name.startswith("x-vtm-")}
    tampered = api.client.build_request("POST", "/v1/transfers", content=body.replace(b"1.00", b"300000.00"),
                                        headers={**signed, "content-type": "application/json"})
    response = api.client.send(tampered)
    assert response.status_code == 401
    assert _reason(response) == "bad_signature"
    moved = api.client.build_request("GET", f"/v1/accounts/{account}/balance", headers=signed)
    assert api.client.send(moved).status_code == 401
    query = api.client.build_request("GET", f"/v1/accounts/{account}/history",
                                     params={"start": "2025-06-01", "end": "2025-06-02"})
    query.headers.update(signed_headers(kiosk, "GET", query.url.raw_path, b""))
    other = api.client.build_request("GET", f"/v1/accounts/{account}/history",
                                     params={"start": "2024-06-01", "end": "2025-06-02"}, headers=dict(query.headers))
    assert api.client.send(other).status_code == 401


def test_refusals_are_audited_with_the_route_template_only(
    api: Api, kiosk: KioskKey, sqlite_world: BankWorld, caplog: pytest.LogCaptureFixture
) -> None:
    account = sqlite_world.cards[0].account_number
    caplog.set_level(logging.WARNING, logger="vtm.banking.http_auth")
    send(api, "GET", f"/v1/accounts/{account}/balance", credential=None)
    send(api, "GET", f"/v1/accounts/{account}/balance", credential=KioskKey(kiosk.kiosk_id, b"k" * 32))
    assert [(d.status, d.reason, d.route) for d in api.denied] == [
        (401, "missing_credential", "/v1/accounts/{account_number}/balance"),
        (401, "bad_signature", "/v1/accounts/{account_number}/balance"),
    ]
    assert api.denied[1].kiosk_id == kiosk.kiosk_id
    lines = [r.getMessage() for r in caplog.records if "event=bank_api_auth_denied" in r.getMessage()]
    assert len(lines) == 2
    assert all(account not in line for line in lines)


def test_the_adapter_reports_a_refused_credential_at_once(api: Api, kiosk: KioskKey,
                                                         sqlite_world: BankWorld) -> None:
    wrong = KioskKey(kiosk.kiosk_id, secrets.token_bytes(32))
    with HttpCoreBanking(api.url, credential=wrong, retries=2, backoff_s=0.0) as client, \
            pytest.raises(CredentialRejected):
        client.balance(sqlite_world.cards[0].account_number)
    assert len(api.denied) == 1  # refused once, not retried


# Bad input answers 4xx -----------------------------------------------------------------------------
def _transfer(world: BankWorld, **changes: Any) -> bytes:
    body: dict[str, Any] = {"idempotency_key": "bad-input-0001", "from_account": world.cards[0].account_number,
                            "to_account": world.cards[1].account_number, "payee_name": world.cards[1].customer_name,
                            "payee_bank": "示例银行", "amount": "10.00", **changes}
    return json.dumps(body, ensure_ascii=False).encode()


@pytest.mark.parametrize("amount", ["١٠٠", "१००", "１００", "1_000", "1E2", "1e2", " 100", "100.001", "-5", "+5",
                                    "0x10", "NaN", "Infinity", "1" * 40, 100.5, 100, 1e2, True, None])
def test_money_is_taken_only_as_canonical_ascii_decimal_text(
    api: Api, kiosk: KioskKey, sqlite_world: BankWorld, amount: object
) -> None:
    response = send(api, "POST", "/v1/transfers", _transfer(sqlite_world, amount=amount), credential=kiosk)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


def test_a_canonical_amount_is_taken(api: Api, kiosk: KioskKey, sqlite_world: BankWorld) -> None:
    response = send(api, "POST", "/v1/transfers", _transfer(sqlite_world, amount="10.5"), credential=kiosk)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ["history", "statement", "statement.pdf"])
@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "9999-12-31"), ("2025-01-01", "9999-12-31"),
                                            ("1969-12-31", "2025-01-01"), ("2025-06-01", "2025-05-01"),
                                            ("2021-01-01", "2025-06-01"), ("20250101", "2025-06-01"),
                                            ("２０２５-01-01", "2025-06-01"), ("2025-02-30", "2025-06-01")])
def test_out_of_range_or_malformed_periods_are_refused(
    api: Api, kiosk: KioskKey, sqlite_world: BankWorld, route: str, start: str, end: str
) -> None:
    path = f"/v1/accounts/{sqlite_world.cards[0].account_number}/{route}"
    response = send(api, "GET", path, credential=kiosk, params={"start": start, "end": end})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2101-01-01", "99999-01-01", "1e10", ""])
def test_daily_usage_refuses_days_off_the_calendar(api: Api, kiosk: KioskKey, day: str) -> None:
    response = send(api, "GET", "/v1/customers/C0001/daily-usage", credential=kiosk,
                    params={"channel": "kiosk", "day": day})
    assert response.status_code == 422, response.text


def test_long_memos_segments_and_bodies_are_refused(api: Api, kiosk: KioskKey, sqlite_world: BankWorld) -> None:
    memo = send(api, "POST", "/v1/transfers", _transfer(sqlite_world, memo="备" * (MEMO_MAX_CHARS + 1)),
                credential=kiosk)
    assert memo.status_code == 422
    huge = send(api, "POST", "/v1/transfers", _transfer(sqlite_world, memo="x" * 2_000_000), credential=kiosk)
    assert huge.status_code == 413
    assert huge.json()["code"] == "invalid_request"
    segment = send(api, "GET", f"/v1/accounts/{'9' * 500}/balance", credential=kiosk)
    assert segment.status_code == 422
    not_json = send(api, "POST", "/v1/transfers", b"\xff\xfe{", credential=kiosk)
    assert not_json.status_code == 400
    assert not_json.json()["code"] == "invalid_request"
    infinite = send(api, "POST", "/v1/identity/verify", b'{"id_number": "110101199003074258", "face_score": 1e999}',
                    credential=kiosk)
    assert infinite.status_code == 422


# `vtm bank serve` refuses to expose itself ---------------------------------------------------------
def test_bank_serve_refuses_a_public_address_without_tls(tmp_path: Path) -> None:
    result = CliRunner().invoke(bank_cli, ["serve", "--host", "0.0.0.0", "--settle-every", "0"],
                                env={"VTM_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "without TLS" in result.output


def test_bank_serve_refuses_a_public_address_without_provisioned_keys(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("placeholder")
    key.write_text("placeholder")
    result = CliRunner().invoke(
        bank_cli, ["serve", "--host", "192.0.2.10", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        env={"VTM_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.exit_code == 2
    assert "key file missing" in result.output
    assert not (tmp_path / "data" / "keys" / "bank_api.key").exists()



def test_a_short_fuzz_of_every_operation_gets_no_server_error() -> None:
    """bench/bank_api_fuzz.py at a few hundred requests (the full run is documented in docs/security.md)."""
    bench = Path(__file__).resolve().parents[2] / "bench" / "bank_api_fuzz.py"
    result = subprocess.run([sys.executable, str(bench), "--cases", "300", "--json"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["requests"] >= 300
    assert report["5xx"] == 0
    assert report["4xx"] > report["2xx"]
