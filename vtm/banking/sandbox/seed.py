"""A deterministic demo bank: 23 customers with 13 months of everyday banking behind them.

The same ``today`` always gives the same bank: identities (card numbers, PINs, ID numbers) come
from one fixed random seed, each customer's history from a seed of its own, and every date is
relative to ``today``. History ends yesterday (so today's kiosk usage starts at zero) and is
written as balanced ledger entries, like any other movement; no balance ever dips below zero.

Demo situations: one card temporarily reported lost two days ago, one formally lost (ready for a
replacement), one frozen, one with two wrong PINs already entered, elderly customers (one with an
English name), a few English-speaking customers, saved payees, accounts at other banks.

Usage::

    cards = seed_demo_bank(engine, today=date.today(), reset=True)
    print(demo_cards_markdown(cards))
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from vtm.banking.models import CardStatus
from vtm.banking.sandbox.banks import SANDBOX_BANK
from vtm.banking.sandbox.builder import BankBuilder
from vtm.banking.sandbox.cards import ELDERLY_AGE, age_on
from vtm.banking.sandbox.engine import WRITE
from vtm.banking.sandbox.ledger import ensure_internal_accounts
from vtm.banking.sandbox.pins import PinHasher
from vtm.banking.sandbox.policy import SandboxPolicy
from vtm.banking.sandbox.schema import (
    Base,
    CustomerRow,
)
from vtm.banking.sandbox.seed_data import CUSTOMERS, EXTERNAL_HOLDERS, Profile
from vtm.banking.sandbox.seed_history import HistoryPlan, queue_history, write_history
from vtm.common.checksums import gb11643_check_char, luhn_check_digit

__all__ = ["BankNotEmpty", "DemoCard", "bank_is_empty", "demo_cards_markdown", "seed_demo_bank"]

SEED = 20_250_101
HISTORY_DAYS = 396  # 13 months
BANK_BIN = "623088"
_OWN = "本人账户互转 Own-account transfer"


class BankNotEmpty(Exception):
    """Seeding needs an empty bank (or ``reset=True``)."""


class DemoCard(BaseModel):
    """One demo card and what a person trying the kiosk needs to know about it."""

    model_config = ConfigDict(frozen=True)

    card_number: str
    pin: str
    customer_id: str
    customer_name: str
    id_number: str
    account_number: str
    language: str
    elderly: bool
    status: CardStatus
    failed_pin_attempts: int
    note: str


_NOTES = {
    "active": "",
    "temporarily_lost": "临时挂失(2天前) temporarily reported lost 2 days ago",
    "lost": "正式挂失,可补卡 formally reported lost; ready for a replacement",
    "frozen": "已冻结 frozen",
    "pin_tries": "已输错2次密码 2 wrong PINs already entered",
}


def bank_is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return not session.scalar(select(func.count()).select_from(CustomerRow))


def _reset(engine: Engine) -> None:
    with Session(engine.execution_options(**{WRITE: True})) as session, session.begin():
        Base.metadata.drop_all(session.connection())
        Base.metadata.create_all(session.connection())
        ensure_internal_accounts(session, datetime.now(UTC))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _card_number(rng: random.Random, bin_: str, length: int) -> str:
    payload = bin_ + _digits(rng, length - len(bin_) - 1)
    return payload + luhn_check_digit(payload)


def _id_number(rng: random.Random, p: Profile) -> str:
    sequence = f"{rng.randint(0, 99):02d}" + rng.choice("13579" if p.male else "02468")  # odd: male
    body = f"{p.region}{p.birth:%Y%m%d}{sequence}"
    return body + gb11643_check_char(body)


def _account_number(index: int, n: int) -> str:
    payload = f"310010{index:07d}{n:02d}"
    return payload + luhn_check_digit(payload)


def seed_demo_bank(
    engine: Engine, today: date, reset: bool = False, *, policy: SandboxPolicy | None = None
) -> list[DemoCard]:
    """Fill an empty bank (or wipe it first with ``reset``) and return the demo cards with their PINs."""
    policy = policy or SandboxPolicy()
    if reset:
        _reset(engine)
    elif not bank_is_empty(engine):
        raise BankNotEmpty("the bank already has customers; seed with reset=True to start over")
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data on purpose; real PINs never come from here
    world = HistoryPlan(policy.zone)
    start = today - timedelta(days=HISTORY_DAYS)
    opened = world.at(start, 9)
    demo: list[DemoCard] = []
    with Session(engine.execution_options(**{WRITE: True})) as session, session.begin():
        ensure_internal_accounts(session, opened)
        builder = BankBuilder(session, PinHasher.from_policy(policy), opened)
        primary: dict[str, str] = {}
        savings: dict[str, str] = {}
        names: dict[str, str] = {}
        customers: dict[str, CustomerRow] = {}
        for index, p in enumerate(CUSTOMERS, start=1):
            cid = f"C{index:04d}"
            id_number = _id_number(rng, p)
            phone = "1" + rng.choice("3589") + _digits(rng, 9)
            email = (
                f"{p.email_local}@example.com" if p.language == "en" else f"customer{index:02d}@example.cn"
            )
            elderly = age_on(p.birth, today) >= ELDERLY_AGE
            customer = builder.customer(
                cid,
                p.name,
                id_number,
                phone=phone,
                email=None if elderly and index % 2 else email,
                birth_date=p.birth,
                language=p.language,
            )
            account = builder.account(customer, _account_number(index, 1), opened_at=opened)
            primary[cid], names[cid], customers[cid] = account.account_number, p.name, customer
            if p.accounts > 1:
                savings[cid] = builder.account(
                    customer, _account_number(index, 2), opened_at=opened
                ).account_number
            pin = f"{rng.randint(0, 999_999):06d}"
            number = _card_number(rng, BANK_BIN, 16 if p.short_card else 19)
            status = CardStatus.ACTIVE if p.state in ("active", "pin_tries") else CardStatus(p.state)
            card = builder.card(
                customer,
                account,
                number,
                pin=pin,
                status=status,
                failed_pin_attempts=2 if p.state == "pin_tries" else 0,
                issued_at=opened,
            )
            if status is CardStatus.TEMPORARILY_LOST:
                card.loss_reported_at = world.at(today - timedelta(days=2), 9, 30)
                card.loss_expires_at = card.loss_reported_at + policy.temporary_loss
            elif status is CardStatus.LOST:
                card.loss_reported_at = world.at(today - timedelta(days=1), 15, 10)
                card.replacement_available_at = card.loss_reported_at + policy.replacement_wait
            demo.append(
                DemoCard(
                    card_number=number,
                    pin=pin,
                    customer_id=cid,
                    customer_name=p.name,
                    id_number=id_number,
                    account_number=account.account_number,
                    language=p.language,
                    elderly=elderly,
                    status=status,
                    failed_pin_attempts=card.failed_pin_attempts,
                    note=_NOTES[p.state],
                )
            )
        externals = [
            builder.external_account(bank, _card_number(rng, bin_, 19), holder)
            for bank, bin_, holder in EXTERNAL_HOLDERS
        ]
        ids = list(primary)
        for i, cid in enumerate(ids):
            friends = [ids[(i + 1) % len(ids)], ids[(i + 5) % len(ids)]]
            for n, friend in enumerate(friends, start=1):
                builder.payee(
                    customers[cid],
                    f"P{i + 1:03d}{n}",
                    names[friend],
                    primary[friend],
                    SANDBOX_BANK.name_zh,
                    same_bank=True,
                )
            ext = externals[i % len(externals)]
            builder.payee(
                customers[cid],
                f"P{i + 1:03d}9",
                ext.holder_name,
                ext.account_number,
                ext.bank,
                same_bank=False,
            )
        for index, (cid, p) in enumerate(zip(ids, CUSTOMERS, strict=True)):
            queue_history(
                world,
                random.Random(f"{SEED}-{cid}"),  # noqa: S311 - reproducible demo history
                p,
                cid,
                primary,
                savings,
                names,
                externals[index % len(externals)],
                start,
                today,
            )
        write_history(session, world)
    # Ready-to-use active cards first, then the special situations.
    return sorted(demo, key=lambda c: (c.note != "", c.customer_id))


def demo_cards_markdown(cards: list[DemoCard], today: date) -> str:
    """The demo-card table as Markdown (for ``docs/demo-cards.md``)."""
    lines = [
        "# Demo cards of the sandbox bank",
        "",
        "Generated by `vtm bank seed --reset --docs docs/demo-cards.md` "
        f"(seeded for {today.isoformat()}; card numbers, PINs and ID numbers do not depend on the date).",
        "These are fictional customers of the sandbox bank (示例银行);",
        "the PINs exist only for trying the kiosk.",
        "",
        "| Card number | PIN | Holder | Lang | Elderly | Status | ID number | Note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cards:
        lines.append(
            f"| `{c.card_number}` | `{c.pin}` | {c.customer_name} | {c.language} | "
            f"{'yes' if c.elderly else ''} | {c.status.value} | `{c.id_number}` | {c.note} |"
        )
    return "\n".join(lines) + "\n"
