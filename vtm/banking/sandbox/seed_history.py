"""The demo bank's 13 months of history: queued as entries, then written in bulk as balanced postings.

Each customer gets income (salary or pension), utility bills, card purchases, cash withdrawals,
transfers to friends and landlords, moves to their savings account and quarterly interest. Entries
are applied in time order; one that the customer could not afford that day is skipped, so no
balance ever goes below zero.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from vtm.banking.sandbox.banks import SANDBOX_BANK
from vtm.banking.sandbox.ledger import CASH, EQUITY, INTERBANK
from vtm.banking.sandbox.schema import AccountRow, ExternalAccountRow, PostingRow, TransferRow
from vtm.banking.sandbox.seed_data import BILLERS, MERCHANTS, Profile

__all__ = ["HistoryPlan", "queue_history", "write_history"]

_OWN = "本人账户互转 Own-account transfer"


@dataclass
class _Entry:
    when: datetime  # UTC
    legs: list[tuple[str, int, str, str | None]]  # account, signed fen, description, counterparty
    transfer: dict[str, object] | None = None
    amount_of: Callable[[dict[str, int]], int] | None = None  # amount decided at posting time


@dataclass
class HistoryPlan:
    zone: ZoneInfo
    entries: list[_Entry] = field(default_factory=list)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(UTC)


def _months(start: date, end: date) -> list[date]:
    first, months = date(start.year, start.month, 1), []
    while first <= end:
        months.append(first)
        first = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return months


def _fen(rng: random.Random, low_yuan: int, high_yuan: int) -> int:
    return rng.randint(low_yuan * 100, high_yuan * 100)


def queue_history(
    world: HistoryPlan,
    rng: random.Random,
    p: Profile,
    cid: str,
    primary: dict[str, str],
    savings: dict[str, str],
    names: dict[str, str],
    landlord: ExternalAccountRow,
    start: date,
    today: date,
) -> None:
    """Queue 13 months of one customer's life: income, bills, shopping, cash, transfers, interest."""
    own = primary[cid]
    last = today - timedelta(days=1)
    income = p.income_yuan * 100
    opening = income * rng.randint(1, 4)
    world.entries.append(
        _Entry(
            world.at(start, 9),
            [
                (EQUITY, -opening, "开户存入 Opening deposit", None),
                (own, opening, "开户存入 Opening deposit", None),
            ],
        )
    )
    if cid in savings:
        amount = income * rng.randint(2, 6)
        world.entries.append(
            _Entry(
                world.at(start, 9, 5),
                [
                    (EQUITY, -amount, "开户存入 Opening deposit", None),
                    (savings[cid], amount, "开户存入 Opening deposit", None),
                ],
            )
        )
    friends = [c for c in primary if c != cid]
    for month in _months(start, last):

        def day(d: int, month: date = month) -> date | None:
            candidate = month.replace(day=min(d, 28))
            return candidate if start < candidate <= last else None

        if (pay_day := day(10 if p.employer else 15)) is not None:
            text = f"代发工资 Salary {p.employer}" if p.employer else "养老金 Pension 社会保险基金"
            amount = income + rng.randint(-5, 5) * 1000 if p.employer else income
            world.entries.append(
                _Entry(world.at(pay_day, 9), [(INTERBANK, -amount, text, None), (own, amount, text, None)])
            )
        for text, low, high in BILLERS:
            if (bill_day := day(rng.randint(3, 26))) is not None:
                amount = _fen(rng, low, high)
                world.entries.append(
                    _Entry(
                        world.at(bill_day, rng.randint(7, 22), rng.randint(0, 59)),
                        [(own, -amount, text, None), (INTERBANK, amount, text, None)],
                    )
                )
        for _ in range(rng.randint(2, 5) if p.birth.year < 1960 else rng.randint(5, 12)):
            merchant, low, high = rng.choice(MERCHANTS)
            if (shop_day := day(rng.randint(1, 28))) is not None:
                amount = _fen(rng, low, high)
                text = f"银联消费 Card purchase {merchant}"
                world.entries.append(
                    _Entry(
                        world.at(shop_day, rng.randint(10, 21), rng.randint(0, 59)),
                        [(own, -amount, text, None), (INTERBANK, amount, text, None)],
                    )
                )
        if rng.random() < 0.5 and (cash_day := day(rng.randint(1, 28))) is not None:
            amount = rng.randint(2, 20) * 10_000
            text = "ATM取款 Cash withdrawal"
            world.entries.append(
                _Entry(
                    world.at(cash_day, rng.randint(8, 20)),
                    [(own, -amount, text, None), (CASH, amount, text, None)],
                )
            )
        if cid in savings and (save_day := day(11)) is not None:
            amount = income // 5
            world.entries.append(
                _Entry(
                    world.at(save_day, 20),
                    [(own, -amount, _OWN, savings[cid]), (savings[cid], amount, _OWN, own)],
                    transfer={"to": savings[cid], "name": p.name, "own": True},
                )
            )
        if rng.random() < 0.45 and (gift_day := day(rng.randint(1, 28))) is not None:
            friend = rng.choice(friends)
            amount = rng.randint(1, 30) * 10_000
            world.entries.append(
                _Entry(
                    world.at(gift_day, rng.randint(9, 21), rng.randint(0, 59)),
                    [
                        (own, -amount, "转账汇出 Transfer out", f"{names[friend]} {primary[friend]}"),
                        (primary[friend], amount, "转账汇入 Transfer in", f"{p.name} {own}"),
                    ],
                    transfer={"to": primary[friend], "name": names[friend], "own": False},
                )
            )
        if p.employer and cid[-1] in "159" and (rent_day := day(1)) is not None:
            holder, number, bank = landlord.holder_name, landlord.account_number, landlord.bank
            amount = (p.income_yuan // 5 // 100) * 10_000
            world.entries.append(
                _Entry(
                    world.at(rent_day, 8),
                    [
                        (own, -amount, "转账汇出 Transfer out 房租 rent", f"{holder} {number}"),
                        (INTERBANK, amount, "转账汇出 Transfer out 房租 rent", f"{holder} {number}"),
                    ],
                    transfer={"to": number, "name": holder, "own": False, "bank": bank},
                )
            )
        if month.month in (3, 6, 9, 12) and (interest_day := day(21)) is not None:
            for account in (own, savings.get(cid)):
                if account is not None:
                    world.entries.append(
                        _Entry(
                            world.at(interest_day, 2),
                            [(EQUITY, 0, "利息 Interest", None), (account, 0, "利息 Interest", None)],
                            amount_of=partial(_quarter_interest, account),
                        )
                    )


def _quarter_interest(account: str, balances: dict[str, int]) -> int:
    """A quarter of 0.35 % a year (demand-deposit rate) on the balance of the day."""
    return balances.get(account, 0) * 35 // 40_000


def write_history(session: Session, world: HistoryPlan) -> None:
    """Apply the queued entries in time order, skipping any that would overdraw, in bulk."""
    balances: dict[str, int] = {}
    postings: list[dict[str, object]] = []
    transfers: list[dict[str, object]] = []
    world.entries.sort(key=lambda e: e.when)
    for n, entry in enumerate(world.entries, start=1):
        legs = entry.legs
        if entry.amount_of is not None:
            amount = entry.amount_of(balances)
            if amount <= 0:
                continue
            legs = [(legs[0][0], -amount, legs[0][2], None), (legs[1][0], amount, legs[1][2], None)]
        customer_legs = [(a, f) for a, f, _, _ in legs if not a.startswith("VTMB-")]
        if any(balances.get(a, 0) + f < 0 for a, f in customer_legs):
            continue  # the customer could not afford it that day: it simply did not happen
        reference = f"SD{entry.when:%Y%m%d}{n:06d}"
        for account, fen, text, counterparty in legs:
            after = None
            if not account.startswith("VTMB-"):
                balances[account] = after = balances.get(account, 0) + fen
            postings.append(
                {
                    "reference": reference,
                    "account_number": account,
                    "amount_fen": fen,
                    "balance_after_fen": after,
                    "booked_at": entry.when,
                    "description": text,
                    "counterparty": counterparty,
                }
            )
        if entry.transfer is not None:
            payer_account = next(a for a, f in customer_legs if f < 0)
            payer_customer = session.scalar(
                select(AccountRow.customer_id).where(AccountRow.account_number == payer_account)
            )
            transfers.append(
                {
                    "reference": reference,
                    "idempotency_key": f"seed-{reference}",
                    "request_hash": "seed",
                    "customer_id": payer_customer,
                    "from_account": payer_account,
                    "to_account": entry.transfer["to"],
                    "to_bank": entry.transfer.get("bank", SANDBOX_BANK.name_zh),
                    "credit_account": None if "bank" in entry.transfer else entry.transfer["to"],
                    "payee_name": entry.transfer["name"],
                    "amount_fen": -min(f for _, f in customer_legs),
                    "arrival": "realtime",
                    "channel": "counter" if n % 5 == 0 else "mobile",
                    "own_transfer": entry.transfer["own"],
                    "status": "posted",
                    "memo": "",
                    "accepted_at": entry.when,
                    "execute_at": None,
                    "finished_at": entry.when,
                    "reason": None,
                }
            )
    session.execute(insert(PostingRow), postings)
    if transfers:
        session.execute(insert(TransferRow), transfers)
    for account, fen in balances.items():
        session.execute(
            update(AccountRow).where(AccountRow.account_number == account).values(balance_fen=fen)
        )
