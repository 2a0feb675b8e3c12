"""The statement PDF: parsed back with pypdf, its figures must agree with the ledger."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sandbox_world import FakeClock, World

from vtm.banking.errors import InvalidRequest, NotFound
from vtm.banking.models import Arrival, TransferRequest
from vtm.banking.sandbox import SandboxBank
from vtm.banking.sandbox.statement_pdf import StatementLine, StatementSpec, verification_code

DAY = date(2025, 3, 10)


def pdf_text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def yuan(text: str, label: str) -> Decimal:
    match = re.search(label + r":\s*CNY\s*([\d,]+\.\d\d)", text)
    assert match, f"{label} not found"
    return Decimal(match.group(1).replace(",", ""))


def make_postings(bank: SandboxBank, world: World, clock: FakeClock, n: int, batch: str = "a") -> None:
    for i in range(n):
        bank.transfer(
            TransferRequest(
                idempotency_key=f"stmt-{batch}-{i:04d}",
                from_account=world.zhang_account,
                to_account=world.li_account,
                payee_name="李娜",
                payee_bank="示例银行",
                amount=Decimal("12.34"),
                arrival=Arrival.REALTIME,
            )
        )
        clock.advance(minutes=7)


def test_statement_figures_survive_a_round_trip_through_the_pdf(
    bank: SandboxBank, world: World, clock: FakeClock
) -> None:
    make_postings(bank, world, clock, 3)
    doc = bank.statement(world.zhang_account, date(2024, 1, 1), DAY)
    text, pages = pdf_text(doc.pdf)
    assert doc.posting_count == 4  # opening deposit + three transfers
    assert doc.opening_balance == Decimal("0.00")
    assert doc.closing_balance == bank.balance(world.zhang_account).balance == Decimal("9962.98")
    assert yuan(text, "Opening balance") == doc.opening_balance
    assert yuan(text, "Closing balance") == doc.closing_balance
    assert re.search(r"Postings:\s*4\b", text)
    assert f"Verification code: {doc.verification_code}" in text
    assert re.fullmatch(r"[0-9A-F]{12}", doc.verification_code)
    assert pages == doc.pages == 1
    assert "Page 1 / 1" in text
    # Chinese prints (CJK font), and names and numbers are masked.
    assert "示例银行" in text
    assert "张*" in text
    assert "张伟" not in text
    assert "3100 **** **** 0001" in text
    assert world.li_account not in text
    assert "李*" in text
    assert "9,962.98" in text  # the running balance after the last posting


def test_opening_balance_is_everything_booked_before_the_period(
    bank: SandboxBank, world: World, clock: FakeClock
) -> None:
    make_postings(bank, world, clock, 2)
    clock.advance(days=2)
    make_postings(bank, world, clock, 1, batch="b")
    doc = bank.statement(world.zhang_account, DAY + timedelta(days=1), DAY + timedelta(days=2))
    assert doc.opening_balance == Decimal("9975.32")
    assert doc.closing_balance == Decimal("9962.98")
    assert doc.posting_count == 1
    assert doc.total_debit == Decimal("12.34")
    assert doc.total_credit == Decimal("0.00")


def test_long_statement_spans_pages_with_numbers(bank: SandboxBank, world: World, clock: FakeClock) -> None:
    make_postings(bank, world, clock, 90)
    doc = bank.statement(world.zhang_account, DAY, DAY)
    text, pages = pdf_text(doc.pdf)
    assert pages == doc.pages >= 2
    for page in range(1, pages + 1):
        assert f"Page {page} / {pages}" in text
    assert doc.posting_count == 90
    assert yuan(text, "Closing balance") == bank.balance(world.zhang_account).balance


def test_verification_code_changes_with_any_figure() -> None:
    line = StatementLine(1, DAY, "x", None, -100)
    spec = StatementSpec("B", "VTMB", "张*", "3100100000010001", DAY, DAY, 1000, [line], generated_at=None)
    same = StatementSpec("B", "VTMB", "张*", "3100100000010001", DAY, DAY, 1000, [line], generated_at=None)
    changed = StatementSpec(
        "B",
        "VTMB",
        "张*",
        "3100100000010001",
        DAY,
        DAY,
        1000,
        [StatementLine(1, DAY, "x", None, -101)],
        generated_at=None,
    )
    assert verification_code(spec) == verification_code(same)
    assert verification_code(spec) != verification_code(changed)


def test_statement_period_is_checked(bank: SandboxBank, world: World) -> None:
    with pytest.raises(InvalidRequest):
        bank.statement(world.zhang_account, DAY, DAY - timedelta(days=1))
    with pytest.raises(InvalidRequest):
        bank.statement(world.zhang_account, DAY, DAY + timedelta(days=1))
    with pytest.raises(NotFound):
        bank.statement("3100100000099999", DAY, DAY)
