"""The account statement as a PDF (reportlab), with a CJK font so Chinese names print.

Content: bank name, masked customer and account, period, opening and closing balance, every
posting (date, description, masked counterparty, debit, credit, running balance), totals, page
numbers "第 x / y 页 Page x / y", and a verification code: the first 12 hex digits (upper case) of
SHA-256 over the canonical content (:func:`verification_code`), so a printed statement can be
checked against the ledger and any change of a figure changes the code.

Font: WenQuanYi Zen Hei from Debian's ``fonts-wqy-zenhei`` when present, else reportlab's
built-in CID font ``STSong-Light`` (which every PDF reader can render without embedding).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from vtm.banking.models import StatementDocument, from_fen
from vtm.banking.sandbox.masking import mask_account, mask_counterparty

__all__ = [
    "CJK_FONT_FILE",
    "StatementLine",
    "StatementSpec",
    "render_statement",
    "verification_code",
]

CJK_FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
_FONT_NAME = "VTM-CJK"
_FALLBACK_FONT = "STSong-Light"


@dataclass(frozen=True)
class StatementLine:
    posting_id: int
    booked_on: date
    description: str
    counterparty: str | None
    amount_fen: int  # signed: negative is a debit


@dataclass(frozen=True)
class StatementSpec:
    bank_name: str
    bank_code: str
    customer_masked: str
    account_number: str
    start: date
    end: date
    opening_fen: int
    lines: list[StatementLine]
    generated_at: datetime = field(compare=False)

    @property
    def closing_fen(self) -> int:
        return self.opening_fen + sum(line.amount_fen for line in self.lines)


def verification_code(spec: StatementSpec) -> str:
    """First 12 hex digits of SHA-256 over the statement's canonical content."""
    head = [
        spec.bank_code,
        spec.account_number,
        spec.start.isoformat(),
        spec.end.isoformat(),
        str(spec.opening_fen),
        str(spec.closing_fen),
        str(len(spec.lines)),
    ]
    body = [f"{ln.posting_id},{ln.booked_on.isoformat()},{ln.amount_fen}" for ln in spec.lines]
    return hashlib.sha256("|".join(head + body).encode("utf-8")).hexdigest()[:12].upper()


def _font() -> str:
    """Register the CJK font once per process and return its name."""
    registered = pdfmetrics.getRegisteredFontNames()
    if _FONT_NAME in registered:
        return _FONT_NAME
    if CJK_FONT_FILE.is_file():
        pdfmetrics.registerFont(TTFont(_FONT_NAME, str(CJK_FONT_FILE), subfontIndex=0))
        return _FONT_NAME
    if _FALLBACK_FONT not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(_FALLBACK_FONT))
    return _FALLBACK_FONT


def _yuan(fen: int) -> str:
    return f"{from_fen(fen):,.2f}"


def _numbered_canvas(font: str, code: str, pages: list[int]) -> type[Canvas]:
    """A canvas that knows the page count when it draws "page x / y" (two-pass via saved states)."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type information
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            pages.append(total)
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont(font, 8)
                self.setFillColor(colors.grey)
                self.drawString(15 * mm, 10 * mm, f"验证码 Verification code: {code}")
                self.drawRightString(
                    A4[0] - 15 * mm,
                    10 * mm,
                    f"第 {self._pageNumber} / {total} 页 Page {self._pageNumber} / {total}",
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def render_statement(spec: StatementSpec) -> StatementDocument:
    """Lay out the statement and return it with its figures and PDF bytes."""
    font = _font()
    code = verification_code(spec)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5, wordWrap="CJK")
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, spaceAfter=4)

    debit = sum(-ln.amount_fen for ln in spec.lines if ln.amount_fen < 0)
    credit = sum(ln.amount_fen for ln in spec.lines if ln.amount_fen > 0)
    summary = [
        f"银行 Bank: {spec.bank_name}",
        f"客户 Customer: {spec.customer_masked}",
        f"账号 Account: {mask_account(spec.account_number)}",
        f"期间 Period: {spec.start.isoformat()} to {spec.end.isoformat()}",
        f"期初余额 Opening balance: CNY {_yuan(spec.opening_fen)}",
        f"期末余额 Closing balance: CNY {_yuan(spec.closing_fen)}",
        f"笔数 Postings: {len(spec.lines)}  支出合计 Total debit: {_yuan(debit)}  "
        f"收入合计 Total credit: {_yuan(credit)}",
        f"验证码 Verification code: {code}",
        f"生成时间 Generated: {spec.generated_at:%Y-%m-%d %H:%M}",
    ]
    story: list[Any] = [Paragraph(escape(f"{spec.bank_name} 账户对账单 Account statement"), title)]
    story += [Paragraph(escape(line), body) for line in summary]
    story.append(Spacer(1, 4 * mm))

    header = [
        "日期 Date",
        "摘要 Description",
        "对方 Counterparty",
        "支出 Debit",
        "收入 Credit",
        "余额 Balance",
    ]
    rows: list[list[Any]] = [[Paragraph(escape(h), cell) for h in header]]
    running = spec.opening_fen
    for ln in spec.lines:
        running += ln.amount_fen
        rows.append(
            [
                ln.booked_on.isoformat(),
                Paragraph(escape(ln.description), cell),
                Paragraph(escape(mask_counterparty(ln.counterparty)), cell),
                _yuan(-ln.amount_fen) if ln.amount_fen < 0 else "",
                _yuan(ln.amount_fen) if ln.amount_fen > 0 else "",
                _yuan(running),
            ]
        )
    table = Table(rows, colWidths=[19 * mm, 46 * mm, 47 * mm, 22 * mm, 22 * mm, 24 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 7.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f7f7")]),
            ]
        )
    )
    story.append(table)

    buffer = io.BytesIO()
    pages: list[int] = []
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title="Account statement",
        author=spec.bank_name,
        subject=f"Statement {code}",
    )
    doc.build(story, canvasmaker=_numbered_canvas(font, code, pages))
    return StatementDocument(
        account_number=spec.account_number,
        start=spec.start,
        end=spec.end,
        opening_balance=from_fen(spec.opening_fen),
        closing_balance=from_fen(spec.closing_fen),
        posting_count=len(spec.lines),
        total_debit=from_fen(debit),
        total_credit=from_fen(credit),
        verification_code=code,
        pages=pages[-1] if pages else 1,
        pdf=buffer.getvalue(),
    )
