"""A small, fully known sandbox bank world for the banking unit tests (imported by conftest and tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vtm.banking.sandbox import SandboxPolicy
from vtm.banking.sandbox.builder import BankBuilder
from vtm.banking.sandbox.pins import PinHasher
from vtm.common.checksums import gb11643_check_char, luhn_check_digit

# Cheap argon2 parameters: the tests exercise the logic, not the hash's cost.
FAST = SandboxPolicy(pin_hash_time_cost=1, pin_hash_memory_kib=64)
START = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def card_no(seq: int, bin_: str = "623088") -> str:
    payload = f"{bin_}{seq:012d}"
    return payload + luhn_check_digit(payload)


def id_no(first17: str) -> str:
    return first17 + gb11643_check_char(first17)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass(frozen=True)
class World:
    zhang_id: str = "C001"
    zhang_card: str = card_no(1)
    zhang_pin: str = "123456"
    zhang_account: str = "3100100000010001"
    zhang_savings: str = "3100100000010002"
    zhang_id_number: str = id_no("11010119800101001")
    li_id: str = "C002"
    li_card: str = card_no(2)
    li_pin: str = "654321"
    li_account: str = "3100100000020001"
    wang_id: str = "C003"
    wang_card: str = card_no(3)
    wang_pin: str = "111222"
    wang_account: str = "3100100000030001"
    icbc_account: str = "6222020000000000018"
    icbc_holder: str = "赵敏"
    unknown_icbc_account: str = "6222020000000000026"
    opening_fen: dict[str, int] = field(
        default_factory=lambda: {
            "3100100000010001": 1_000_000,
            "3100100000010002": 50_000,
            "3100100000020001": 200_000,
            "3100100000030001": 5_000_000,
        }
    )


def build_world(engine: Engine, policy: SandboxPolicy = FAST) -> World:
    w = World()
    opened = START - timedelta(days=400)
    with Session(engine) as session, session.begin():
        b = BankBuilder(session, PinHasher.from_policy(policy), opened)
        zhang = b.customer(w.zhang_id, "张伟", w.zhang_id_number, phone="13800000001", email="zw@example.cn")
        li = b.customer(w.li_id, "李娜", id_no("11010519900307002"), phone="13800000002")
        wang = b.customer(w.wang_id, "王秀英", id_no("31010419500615004"), phone="13800000003")
        a1, a2 = b.account(zhang, w.zhang_account), b.account(zhang, w.zhang_savings)
        a3, a4 = b.account(li, w.li_account), b.account(wang, w.wang_account)
        b.card(zhang, a1, w.zhang_card, pin=w.zhang_pin)
        b.card(li, a3, w.li_card, pin=w.li_pin)
        b.card(wang, a4, w.wang_card, pin=w.wang_pin)
        b.external_account("中国工商银行", w.icbc_account, w.icbc_holder)
        b.payee(zhang, "P001", "李娜", w.li_account, "示例银行", same_bank=True)
        b.payee(zhang, "P002", w.icbc_holder, w.icbc_account, "中国工商银行", same_bank=False)
        for account in (a1, a2, a3, a4):
            b.deposit(account, w.opening_fen[account.account_number], booked_at=opened)
    return w
