"""Fuzz the core bank's HTTP API with malformed and hostile input, signed by a valid kiosk: count 2xx/4xx/5xx.

Goal: 0 answers of HTTP 500 (or any 5xx): bad input is the caller's mistake and gets a 4xx.

The operations come from the API's own OpenAPI document (fetched, signed, from the running server):
for each one, Hypothesis builds requests from a valid baseline (real account, card and customer of a
freshly seeded demo bank) and corrupts it: each parameter or body field may be replaced by hostile
text (other scripts' digits, control characters, 100 kB strings), numbers (floats, exponents,
10**40, negatives), days off the calendar, wrong JSON types, or be dropped; extra fields are added;
sometimes the whole body is raw bytes (not JSON, deeply nested JSON, a 2 MB memo). The server is a
real uvicorn on a free loopback port; every request is signed like the kiosk's.

    .venv/bin/python bench/bank_api_fuzz.py [--cases 2200] [--seed 20250616] [--json]

Exit status 1 if any request got a 5xx.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import secrets
import socket
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from vtm.banking.http_client import RequestSigner
from vtm.banking.http_server import create_app
from vtm.banking.sandbox import SandboxBank, SandboxPolicy, create_bank_engine
from vtm.banking.sandbox.seed import seed_demo_bank
from vtm.banking.signing import KioskKey, KioskKeyTable

POLICY = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64, pin_hash_parallelism=1)
OTHER_DIGITS = ("٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "０１２３４５６７８９", "〇一二三四五六七八九", "۰۱۲۳۴۵۶۷۸۹")


# Hostile values --------------------------------------------------------------------------------------
def _foreign_digits() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(OTHER_DIGITS), st.lists(st.integers(0, 9), min_size=1, max_size=8)).map(
        lambda pair: "".join(pair[0][d] for d in pair[1]))


def _hostile_text(longest: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=10),
        _foreign_digits(),
        st.sampled_from(["", " ", "1_000", "1E2", "1e400", "-1", "+1", "0x10", "NaN", "Infinity", "１００", "100.",
                         ".5", "100.001", "9" * 40, "../../etc/passwd", "%00", "'; DROP TABLE accounts; --",
                         "\u202e", "\ud7ff", "0001-01-01", "9999-12-31", "99999-12-31", "2025-02-30", "2025-13-01",
                         "1970-01-01T00:00:00", "20250101", "1700000000"]),
        st.integers(1_000, longest).map(lambda n: "x" * n),
    )


HOSTILE_TEXT = _hostile_text(100_000)
URL_TEXT = _hostile_text(8_000)  # a request line longer than that is refused by the HTTP layer itself
HOSTILE_NUMBER: st.SearchStrategy[Any] = st.one_of(
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**100, 1e308, 5e-324, 0.1, 1e2]),
)
HOSTILE_JSON: st.SearchStrategy[Any] = st.one_of(
    HOSTILE_TEXT, HOSTILE_NUMBER, st.none(), st.booleans(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
HOSTILE_DAY: st.SearchStrategy[str] = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat), URL_TEXT)
RAW_BODIES: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"null", b"[]", b"{", b"\xff\xfe{", b'{"a":1}' * 3, b"[" * 5000 + b"]" * 5000,
                     b'{"memo": "' + b"x" * 2_000_000 + b'"}', b"1e999", b'"\\ud800"']),
)


# The API's operations, from its OpenAPI document ------------------------------------------------------
@dataclass
class Operation:
    method: str
    template: str
    path_params: list[str]
    query: dict[str, dict[str, Any]]
    body: dict[str, dict[str, Any]] | None
    required: set[str] = field(default_factory=set)


def operations(spec: dict[str, Any]) -> list[Operation]:
    schemas = spec["components"]["schemas"]
    found: list[Operation] = []
    for template, methods in spec["paths"].items():
        for method, op in methods.items():
            params = op.get("parameters", [])
            body = None
            required: set[str] = set()
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                schema = schemas[content["schema"]["$ref"].rsplit("/", 1)[1]]
                body = schema["properties"]
                required = set(schema.get("required", []))
            found.append(Operation(
                method.upper(), template,
                [p["name"] for p in params if p["in"] == "path"],
                {p["name"]: p.get("schema", {}) for p in params if p["in"] == "query"},
                body, required,
            ))
    return found


def baseline(op: Operation, known: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[str, Any] | None]:
    """Valid-looking values for every parameter and field (which the fuzz then corrupts)."""
    path = {name: str(known.get(name, "x")) for name in op.path_params}
    query = {name: str(known.get(name, "x")) for name in op.query}
    body = None if op.body is None else {name: known.get(name, "x") for name in op.body}
    return path, query, body


@dataclass
class Tally:
    by_class: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: int = 0

    def record(self, op: Operation, response: httpx.Response | None, what: str) -> None:
        if response is None:
            self.transport_errors += 1
            self.by_class["no answer"] += 1
            return
        self.by_status[response.status_code] += 1
        self.by_class[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500 and len(self.server_errors) < 20:
            self.server_errors.append(f"{op.method} {op.template} {response.status_code} {what[:200]}")


def fuzz_operation(op: Operation, client: httpx.Client, known: dict[str, Any], tally: Tally,
                   cases: int, seed_value: int) -> None:
    path0, query0, body0 = baseline(op, known)
    fields = [("path", n) for n in path0] + [("query", n) for n in query0] + [("body", n) for n in (body0 or {})]

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str], bytes, str]:
        path, query, body = dict(path0), dict(query0), None if body0 is None else dict(body0)
        corrupt = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)) if fields else []
        notes = []
        for where, name in corrupt:
            if where == "path":
                path[name] = draw(URL_TEXT.filter(lambda s: s not in ("", ".", "..")))
            elif where == "query":
                if draw(st.booleans()) and name in query:
                    del query[name]
                else:
                    query[name] = draw(HOSTILE_DAY if name in ("start", "end", "day") else URL_TEXT)
            elif body is not None:
                if draw(st.integers(0, 5)) == 0:
                    body.pop(name, None)
                else:
                    body[name] = draw(HOSTILE_JSON)
            notes.append(f"{where}.{name}")
        if body is not None and draw(st.integers(0, 9)) == 0:
            body[draw(st.text(min_size=1, max_size=8))] = draw(HOSTILE_JSON)
            notes.append("extra field")
        if op.method == "POST" and draw(st.integers(0, 9)) == 0:
            raw = draw(RAW_BODIES)
            notes.append("raw body")
        else:
            raw = b"" if body is None else json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
        return path, query, raw, ",".join(notes)

    @settings(max_examples=cases, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seed(seed_value)
    @given(requests())
    def run(request: tuple[dict[str, str], dict[str, str], bytes, str]) -> None:
        path, query, raw, notes = request
        url = op.template
        for name, value in path.items():
            url = url.replace("{" + name + "}", quote(value, safe=""))
        try:
            response = client.request(op.method, url, params=query or None, content=raw,
                                      headers={"content-type": "application/json"})
        except httpx.HTTPError:
            response = None
        tally.record(op, response, notes)

    run()


# Server ---------------------------------------------------------------------------------------------
class Server:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2200, help="Requests in total (spread over the operations).")
    parser.add_argument("--seed", type=int, default=20250616)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args(argv)

    logging.getLogger("vtm.banking").setLevel(logging.ERROR)  # thousands of expected refusals, not news
    kiosk = KioskKey("VTM-FUZZ-01", secrets.token_bytes(32))
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_bank_engine(f"sqlite:///{Path(tmp) / 'bank.sqlite3'}")
        today = date.today()
        cards = seed_demo_bank(engine, today, reset=True, policy=POLICY)
        bank = SandboxBank(engine, policy=POLICY)
        card = cards[0]
        known: dict[str, Any] = {
            "card_number": card.card_number, "pin": card.pin, "current_pin": card.pin, "new_pin": "135790",
            "account_number": card.account_number,
            "customer_id": bank.authenticate_card(card.card_number, card.pin).customer_id,
            "id_number": card.id_number, "face_score": 0.9, "idempotency_key": "fuzz-key-0001",
            "reference": "T0000000001", "from_account": card.account_number,
            "to_account": cards[1].account_number, "payee_name": cards[1].customer_name, "payee_bank": "示例银行",
            "name": cards[1].customer_name, "bank": "示例银行", "amount": "10.00", "arrival": "delayed",
            "channel": "kiosk", "memo": "", "kind": "temporary", "start": str(today.replace(day=1)),
            "end": str(today), "day": str(today),
        }
        tally = Tally()
        started = time.perf_counter()
        with Server(create_app(bank, kiosks=KioskKeyTable([kiosk]))) as server, \
                httpx.Client(base_url=server.url, auth=RequestSigner(kiosk), timeout=30.0) as client:
            spec = client.get("/openapi.json").json()
            ops = [op for op in operations(spec) if op.template != "/health"]
            per_op = math.ceil(args.cases / len(ops))  # at least --cases in total, whatever the route count
            for index, op in enumerate(ops):
                fuzz_operation(op, client, known, tally, per_op, args.seed + index)
        elapsed = time.perf_counter() - started
        engine.dispose()

    total = sum(tally.by_status.values()) + tally.transport_errors
    report = {
        "requests": total, "operations": len(ops), "seconds": round(elapsed, 1),
        "2xx": tally.by_class["2xx"], "3xx": tally.by_class["3xx"], "4xx": tally.by_class["4xx"],
        "5xx": tally.by_class["5xx"],
        "no_answer": tally.transport_errors,
        "by_status": {str(k): v for k, v in sorted(tally.by_status.items())},
        "server_errors": tally.server_errors,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(f"{total} requests over {len(ops)} operations in {elapsed:.1f} s: "
              f"2xx {report['2xx']}, 3xx {report['3xx']}, 4xx {report['4xx']}, 5xx {report['5xx']}, "
              f"no answer {report['no_answer']}")
        print("by status:", report["by_status"])
        for line in tally.server_errors:
            print("  5xx:", line)
    return 1 if report["5xx"] or tally.transport_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
