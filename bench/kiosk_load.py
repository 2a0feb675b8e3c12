"""The kiosk service under load: N kiosks drive ``vtm serve`` over its WebSocket, as the page does.

Each virtual kiosk is one WebSocket client sending what the page sends (``start``, device-panel
events, typed text, the confirm button, ``reset``) and reading each screen to its ``read_back``.
Every customer makes a real-time transfer of 10-99 yuan to a saved payee with the real NLU model,
gate, sandbox bank (production PIN hashing) and session store, then leaves:

    start, insert_card, "send N yuan to <payee>", pin, "right away please", confirm (the notice),
    confirm (the read-back), "no" (receipt), "no, that's all", take_card, reset

Turn latency is the time from sending a message to the end of its screen, on the client. After
the run the databases are counted: every session's turns in the session store (none twice, none
missing), the sandbox bank's transfers per session (none twice), every reference a client was
shown on the ledger (none lost), the operation journal, and the ledger's invariants.

    VTM_MODELS_DIR=~/.local/share/vtm/models .venv/bin/python bench/kiosk_load.py sqlite --kiosks 10 50 100
    source scripts/postgres.sh
    ... bench/kiosk_load.py postgres --kiosks 10 50 100          # two `vtm serve`, one database, round-robin
    ... bench/kiosk_load.py postgres --kiosks 50 --kill-after 20 # SIGKILL one replica mid-load
    ... bench/kiosk_load.py sqlite --kiosks 10 --memory-sessions  # the same without saving sessions

``--think S`` is the customer's pause between messages (default 1 s, ±50 %); ``--sessions K``
customers per kiosk. Server logs are kept in the run's data directory (printed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from vtm.audit.db import scratch_schema
from vtm.audit.journal_model import journal_table
from vtm.banking.sandbox import SandboxBank, create_bank_engine
from vtm.banking.sandbox.ledger import check_ledger
from vtm.banking.sandbox.schema import TransferRow
from vtm.banking.sandbox.seed import seed_demo_bank
from vtm.records.schema import turns as record_turns

TURN_STEPS = 10  # messages of a customer session that are dialog turns (all but the final reset)
TURN_TIMEOUT_S = 180.0
REFERENCE = re.compile(r"(TR[0-9]{8}[0-9A-F]{10})")
Message = dict[str, Any]


@dataclass(frozen=True)
class Customer:
    card: str
    pin: str
    payee: str


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)  # the same, per step of the script
    errors: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    unanswered: int = 0  # sent, but the connection went before the screen came back
    resent: int = 0  # a message the dead replica had not saved, sent again to the live one
    not_resent: int = 0  # a message the dead replica had saved: the redraw showed its turn, nothing sent again
    sessions: set[str] = field(default_factory=set)
    completed: int = 0
    shown: dict[str, str] = field(default_factory=dict)  # session -> transfer reference shown to the customer


# Servers ---------------------------------------------------------------------------------------------
@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], kiosks: list[str], log: Path, extra: tuple[str, ...] = ()) -> Server:
    port = _free_port()
    command = [str(Path(sys.executable).with_name("vtm")), "serve", "--simulate-devices", "--port", str(port),
               *extra, *[arg for kiosk in kiosks for arg in ("--kiosk", kiosk)]]
    process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    server = Server(port, process, log)
    deadline = time.monotonic() + 300  # the NLU model loads and warms before /healthz says ok
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vtm serve exited ({process.returncode}); see {log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        time.sleep(0.5)
    raise RuntimeError(f"vtm serve did not become ready; see {log}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            server.process.kill()


# One kiosk ---------------------------------------------------------------------------------------------
def _script(customer: Customer, amount: int) -> list[tuple[Message, str]]:
    """The messages of one customer and the state each must leave the screen in."""
    return [
        ({"type": "start", "lang": "en"}, "idle"),
        ({"type": "device", "command": f"insert_card {customer.card}"}, "idle"),
        ({"type": "say", "text": f"send {amount} yuan to {customer.payee}"}, "transfer."),
        ({"type": "device", "command": f"pin {customer.pin}"}, "transfer.arrival"),
        ({"type": "say", "text": "right away please"}, "transfer.confirm"),
        ({"type": "button", "button": "confirm"}, "transfer.confirm"),
        ({"type": "button", "button": "confirm"}, "transfer.offer_receipt"),
        ({"type": "say", "text": "no"}, "idle"),
        ({"type": "say", "text": "no, that's all"}, "ended"),
        ({"type": "device", "command": "take_card"}, "ended"),
        ({"type": "reset"}, ""),
    ]


class KioskClient:
    def __init__(self, kiosk_id: str, servers: list[Server], first: int, customer: Customer, stats: Stats,
                 think_s: float, rng: random.Random) -> None:
        self.kiosk_id, self.servers, self.next, self.customer = kiosk_id, servers, first, customer
        self.stats, self.think_s, self.rng = stats, think_s, rng
        self.ws: ClientConnection | None = None

    async def run(self, sessions: int, arrive_s: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, arrive_s))  # customers do not all walk up in the same second
        await self._connect()
        for _ in range(sessions):
            await self._session()
        if self.ws is not None:
            await self.ws.close()

    async def _session(self) -> None:
        turn, session_id = 0, None
        for message, wanted in _script(self.customer, self.rng.randint(10, 99)):
            await asyncio.sleep(self.think_s * self.rng.uniform(0.5, 1.5))
            screen = await self._step(message, turn + 1)
            if message["type"] == "reset":
                self.stats.completed += 1
                return
            state = _last(screen, "state")
            hello = _last(screen, "hello")
            if hello is not None and hello["session_id"]:
                session_id = hello["session_id"]
                self.stats.sessions.add(session_id)
            if state is None or not state["state"].startswith(wanted) or state["turn"] != turn + 1:
                got = "no screen" if state is None else f"{state['state']}@{state['turn']}"
                self.stats.errors[f"unexpected screen after {message['type']}: {got}"] += 1
                await self._step({"type": "reset"}, 0)  # the customer gives up; the next one starts clean
                return
            turn = state["turn"]
            for reply in screen:
                if reply["type"] == "reply" and reply["key"].startswith("transfer.done") and session_id:
                    found = REFERENCE.search(reply["text"])
                    if found:
                        self.stats.shown[session_id] = found.group(1)

    async def _step(self, message: Message, turn: int) -> list[Message]:
        """Send one message; after a lost connection, reconnect and send it again only if the redraw
        shows that no replica saved its turn."""
        for _ in range(10):
            started, sent = time.perf_counter(), False
            try:
                assert self.ws is not None
                await self.ws.send(json.dumps(message))
                sent = True
                screen = await self._screen()
            except (ConnectionClosed, OSError, TimeoutError):
                self.stats.unanswered += sent
                redraw = await self._connect()
                if _saved(redraw, message, turn):
                    self.stats.not_resent += 1
                    return redraw
                self.stats.resent += 1
                continue
            if message["type"] != "reset":
                elapsed_ms = (time.perf_counter() - started) * 1000
                self.stats.latencies_ms.append(elapsed_ms)
                self.stats.by_step.setdefault(_step_name(message), []).append(elapsed_ms)
            errors = [m for m in screen if m["type"] == "error"]
            if errors:
                self.stats.errors[f"error {errors[0]['code']}"] += 1
            return screen
        raise RuntimeError(f"{self.kiosk_id}: gave up on {message['type']}")

    async def _screen(self) -> list[Message]:
        assert self.ws is not None
        received: list[Message] = []
        async with asyncio.timeout(TURN_TIMEOUT_S):
            while True:
                received.append(json.loads(await self.ws.recv()))
                last = received[-1]
                ending = (_last(received, "state") or {}).get("state") == "ended"  # session_ended comes last
                if (last["type"] == "read_back" and not ending) or last["type"] in ("session_ended", "error") \
                        or (last["type"] == "hello" and last["session_id"] is None):
                    return received

    async def _connect(self) -> list[Message]:
        """Connect (to the next replica after a failure) and read the redraw of the kiosk's screen."""
        for attempt in range(60):
            server = self.servers[self.next % len(self.servers)]
            try:
                self.ws = await connect(f"{server.ws}/{self.kiosk_id}", open_timeout=10, max_size=2**20)
                return await self._screen()
            except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake):
                self.stats.reconnects += 1
                self.next += 1
                await asyncio.sleep(min(0.5 * 2 ** attempt, 8.0))
        raise RuntimeError(f"{self.kiosk_id}: no replica answers")


def _step_name(message: Message) -> str:
    detail = message.get("button") or message.get("command", "").split(" ")[0] or message.get("text", "")
    return f"{message['type']} {re.sub(r'[0-9]+', 'N', re.sub(r' to .*', ' to <payee>', detail))}".strip()


def _last(screen: list[Message], kind: str) -> Message | None:
    return next((m for m in reversed(screen) if m["type"] == kind), None)


def _saved(redraw: list[Message], message: Message, turn: int) -> bool:
    """Did a replica save the turn of ``message`` before the connection went? (the redraw says)"""
    hello = _last(redraw, "hello")
    if message["type"] == "reset":
        return hello is not None and hello["session_id"] is None
    state = _last(redraw, "state")
    return state is not None and state["turn"] >= turn


# Databases -----------------------------------------------------------------------------------------------
def seed(bank_url: str) -> list[Customer]:
    """Seed the demo bank; its customers with an active card, not elderly, and a saved payee at the same bank."""
    engine = create_bank_engine(bank_url)
    bank = SandboxBank(engine)
    found = []
    for card in seed_demo_bank(engine, date.today(), reset=True):
        payees = [p for p in bank.saved_payees(card.customer_id) if p.same_bank]
        if card.status.value == "active" and not card.elderly and card.failed_pin_attempts == 0 and payees:
            found.append(Customer(card.card_number, card.pin, payees[0].name))
    engine.dispose()
    return found


def count(bank_url: str, records_url: str, stats: Stats) -> dict[str, int]:
    """What the databases say about the run's sessions."""
    bank, records = create_bank_engine(bank_url, create_tables=False), create_engine(records_url)
    ours = stats.sessions
    with bank.connect() as conn:
        transfers = [(k.rsplit("-transfer-", 1)[0], ref) for k, ref in
                     conn.execute(select(TransferRow.idempotency_key, TransferRow.reference))]
    per_session = Counter(s for s, _ in transfers if s in ours)
    on_ledger = {ref for s, ref in transfers if s in ours}
    with records.connect() as conn:
        rows = conn.execute(select(record_turns.c.session_id, record_turns.c.turn_no)
                            .order_by(record_turns.c.session_id, record_turns.c.turn_no)).all()
        journal = Counter(r.status for r in conn.execute(select(journal_table.c.session_id, journal_table.c.status))
                          if r.session_id in ours)
    numbers: dict[str, list[int]] = {}
    for row in rows:
        if row.session_id in ours:
            numbers.setdefault(row.session_id, []).append(row.turn_no)
    with Session(bank) as session:
        ledger_ok = check_ledger(session).ok
    bank.dispose()
    records.dispose()
    return {
        "sessions": len(ours),
        "turns_stored": sum(len(n) for n in numbers.values()),
        "sessions_with_turns_twice_or_extra": sum(len(n) > TURN_STEPS or len(set(n)) < len(n)
                                                  for n in numbers.values()),
        "sessions_with_turns_missing": sum(n != list(range(1, len(n) + 1)) for n in numbers.values()),
        "transfers_on_ledger": sum(per_session.values()),
        "double_postings": sum(c - 1 for c in per_session.values() if c > 1),
        "lost_postings": sum(ref not in on_ledger for ref in stats.shown.values()),
        "postings_never_shown": len(on_ledger - set(stats.shown.values())),
        "journal_done": journal["done"],
        "journal_unfinished": journal["pending"] + journal["unknown"],
        "ledger_invariants_ok": int(ledger_ok),
    }


# A run ------------------------------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def drive(servers: list[Server], kiosks: list[str], people: list[Customer], sessions: int, think_s: float,
                arrive_s: float, kill_after: float | None) -> tuple[Stats, float]:
    stats, rng = Stats(), random.Random(7)
    clients = [KioskClient(kiosk, servers, i, people[i % len(people)], stats, think_s, random.Random(rng.random()))
               for i, kiosk in enumerate(kiosks)]
    started = time.perf_counter()
    tasks = [asyncio.create_task(c.run(sessions, arrive_s)) for c in clients]
    if kill_after is not None:
        await asyncio.sleep(kill_after)
        servers[0].process.send_signal(signal.SIGKILL)  # no shutdown, no flush: as a power cut of that replica
        print(f"  killed replica :{servers[0].port} (pid {servers[0].process.pid}) at {kill_after:.0f} s",
              file=sys.stderr, flush=True)
    for done in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(done, BaseException):
            stats.errors[f"client gave up: {done}"] += 1
    return stats, time.perf_counter() - started


def run(backend: str, n: int, args: argparse.Namespace, base_url: str | None) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"vtm-kiosk-load-{backend}-{n}-"))
    kiosks = [f"LOAD-{i:03d}" for i in range(n)]
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            assert base_url is not None
            url = stack.enter_context(scratch_schema(base_url, "bench_kiosk"))
            bank_url = records_url = url
        else:
            bank_url = f"sqlite:///{data_dir / 'bank.sqlite3'}"
            records_url = f"sqlite:///{data_dir / 'records.sqlite3'}"
        env = {**os.environ, "VTM_DATA_DIR": str(data_dir), "VTM_BANK_DATABASE_URL": bank_url,
               "VTM_RECORDS_DATABASE_URL": records_url}
        people = seed(bank_url)
        servers: list[Server] = []
        try:
            for replica in range(args.replicas if backend == "postgres" else 1):
                # One after the other: the first creates the records tables, the second finds them.
                extra = ("--parallel-turns", str(args.parallel_turns),
                         *(("--memory-sessions",) if args.memory_sessions else ()))
                servers.append(start_server(env, kiosks, data_dir / f"serve-{replica}.log", extra))
            stats, elapsed = asyncio.run(drive(servers, kiosks, people, args.sessions, args.think,
                                         args.think * (TURN_STEPS + 1) if args.arrive is None else args.arrive,
                                         args.kill_after))
            load = os.getloadavg()[0]  # the machine's 1-minute load at the end: other work skews the figures
        finally:
            for server in servers:
                stop_server(server)
        counted = count(bank_url, records_url, stats)
        audit = subprocess.run([str(Path(sys.executable).with_name("vtm")), "audit", "verify"], env=env,
                               capture_output=True, text=True, check=False)
        counted["audit_chain_ok"] = int(audit.returncode == 0)  # every seal, journal row and anchor checked
    lat = stats.latencies_ms
    return {
        "backend": backend + (" (sessions in memory)" if args.memory_sessions else ""), "replicas": len(servers),
        "kiosks": n, "think_s": args.think, "arrive_s": args.arrive,
        "parallel_turns": args.parallel_turns, "killed": args.kill_after is not None,
        "turns": len(lat), "seconds": round(elapsed, 1), "turns_per_s": round(len(lat) / elapsed, 1),
        "p50_ms": round(_pct(lat, 0.5)), "p95_ms": round(_pct(lat, 0.95)), "max_ms": round(max(lat, default=0)),
        "mean_ms": round(statistics.fmean(lat)) if lat else None,
        "p95_ms_by_step": {step: round(_pct(values, 0.95)) for step, values in stats.by_step.items()},
        "load_1min": round(load, 1),
        "errors": sum(stats.errors.values()), "error_kinds": dict(stats.errors), "completed": stats.completed,
        "reconnects": stats.reconnects, "unanswered": stats.unanswered, "resent": stats.resent,
        "not_resent": stats.not_resent,
        "shown_transfers": len(stats.shown), **counted, "data_dir": str(data_dir),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", choices=["sqlite", "postgres"])
    parser.add_argument("--kiosks", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--sessions", type=int, default=2, help="customers per kiosk")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a customer's messages (±50 %%)")
    parser.add_argument("--arrive", type=float, default=None,
                        help="kiosks start at random moments within this many seconds (default: one session's "
                             "length, think x steps; 0: all at once, a thundering herd)")
    parser.add_argument("--replicas", type=int, default=2, help="PostgreSQL: vtm serve processes")
    parser.add_argument("--kill-after", type=float, default=None, help="PostgreSQL: SIGKILL the first replica then")
    parser.add_argument("--memory-sessions", action="store_true",
                        help="sessions in memory only (one process): what saving them costs, by difference")
    parser.add_argument("--parallel-turns", type=int, default=1, help="`vtm serve --parallel-turns`: turns at once")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    base_url = os.environ.get("VTM_TEST_POSTGRES_URL")
    if args.backend == "postgres" and not base_url:
        print("set VTM_TEST_POSTGRES_URL (source scripts/postgres.sh)", file=sys.stderr)
        return 2
    if args.kill_after is not None and (args.backend != "postgres" or args.replicas < 2):
        print("--kill-after needs postgres and two replicas", file=sys.stderr)
        return 2
    if args.memory_sessions and args.backend == "postgres":
        print("--memory-sessions runs one process: use it with sqlite", file=sys.stderr)
        return 2
    failed = False
    for n in args.kiosks:
        result = run(args.backend, n, args, base_url)
        print(json.dumps(result, ensure_ascii=False) if args.json else _line(result), flush=True)
        failed |= bool(result["double_postings"] or result["lost_postings"] or result["postings_never_shown"]
                       or result["sessions_with_turns_twice_or_extra"] or result["sessions_with_turns_missing"]
                       or not result["ledger_invariants_ok"] or not result["audit_chain_ok"])
    return 1 if failed else 0


def _line(r: dict[str, Any]) -> str:
    return (f"{r['backend']} x{r['replicas']}{' (one killed)' if r['killed'] else ''} kiosks={r['kiosks']}: "
            f"{r['turns']} turns in {r['seconds']} s ({r['turns_per_s']}/s), p50 {r['p50_ms']} ms, "
            f"p95 {r['p95_ms']} ms, max {r['max_ms']} ms, load {r['load_1min']}; "
            f"errors {r['errors']} {r['error_kinds'] or ''}; "
            f"sessions {r['completed']}/{r['sessions']}, reconnects {r['reconnects']}, "
            f"unanswered {r['unanswered']}, resent {r['resent']}, "
            f"saved before the kill {r['not_resent']}; ledger: {r['transfers_on_ledger']} transfers, "
            f"double {r['double_postings']}, lost {r['lost_postings']}, never shown {r['postings_never_shown']}, "
            f"invariants {'ok' if r['ledger_invariants_ok'] else 'BROKEN'}; "
            f"audit chain {'ok' if r['audit_chain_ok'] else 'BROKEN'}; turns stored {r['turns_stored']}, "
            f"twice {r['sessions_with_turns_twice_or_extra']}, missing {r['sessions_with_turns_missing']}; "
            f"journal done {r['journal_done']}, unfinished {r['journal_unfinished']}; logs {r['data_dir']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
