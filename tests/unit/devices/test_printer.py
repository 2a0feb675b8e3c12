"""Printer simulator: receipts as PDF + text in the output folder, statements as given, paper counted."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from vtm.devices import InvalidDocument, NothingToTake, PaperOut, Printer, SimulatedPrinter

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ZH_RECEIPT = ["挂失回执", "卡号 6222 **** **** 1234", "参考号 LS20261123A1B2C3D4E5", "临时挂失有效期 5 天"]
EN_RECEIPT = ["Transfer receipt", "To 6217 **** **** 2222", "Amount 500.00 yuan"]


def _statement(pages: int) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    for page in range(pages):
        canvas.drawString(72, 720, f"Statement page {page + 1}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture
def printer(tmp_path: Path) -> SimulatedPrinter:
    return SimulatedPrinter(tmp_path / "printer", clock=lambda: NOW)


def test_simulator_honours_the_driver_protocol(printer: SimulatedPrinter) -> None:
    assert isinstance(printer, Printer)


def test_a_chinese_receipt_is_a_readable_pdf_with_a_text_twin(printer: SimulatedPrinter) -> None:
    path = printer.print_receipt(ZH_RECEIPT, "zh")
    assert path.parent == printer.output_dir
    assert path.suffix == ".pdf"
    text = PdfReader(path).pages[0].extract_text()
    for line in ZH_RECEIPT:
        assert line in text
    assert path.with_suffix(".txt").read_text(encoding="utf-8") == "\n".join(ZH_RECEIPT) + "\n"


def test_an_english_receipt_wraps_long_lines_on_roll_paper(printer: SimulatedPrinter) -> None:
    long_line = "Please keep this receipt until the transfer has arrived " * 3
    path = printer.print_receipt([*EN_RECEIPT, long_line], "en")
    page = PdfReader(path).pages[0]
    assert float(page.mediabox.width) == pytest.approx(80 / 25.4 * 72, abs=0.5)
    text = page.extract_text()
    assert "Amount 500.00 yuan" in text
    assert len(text.splitlines()) > len(EN_RECEIPT) + 1  # the long line took several lines


def test_a_statement_pdf_is_written_as_given(printer: SimulatedPrinter) -> None:
    pdf = _statement(3)
    path = printer.print_pdf("statement 6222 2026-08..10", pdf)
    assert path.read_bytes() == pdf
    assert path.name.startswith("20261123T093000-0001-statement")
    assert printer.printed[-1].pages == 3
    assert printer.printed[-1].txt is None


def test_a_name_given_with_its_extension_gets_it_once(printer: SimulatedPrinter) -> None:
    path = printer.print_pdf("statement-1234-2026-08-01-2026-10-31.pdf", _statement(1))
    assert path.name == "20261123T093000-0001-statement-1234-2026-08-01-2026-10-31.pdf"


def test_every_job_gets_its_own_file(printer: SimulatedPrinter) -> None:
    paths = {printer.print_receipt(EN_RECEIPT, "en") for _ in range(3)}
    assert len(paths) == 3


def test_paper_out_raises_and_prints_nothing(tmp_path: Path) -> None:
    printer = SimulatedPrinter(tmp_path, paper=2, clock=lambda: NOW)
    with pytest.raises(PaperOut) as caught:
        printer.print_pdf("statement", _statement(3))
    assert caught.value.context == {"needed": 3, "left": 2}
    assert list(tmp_path.iterdir()) == []
    printer.print_receipt(EN_RECEIPT, "en")
    printer.print_receipt(EN_RECEIPT, "en")
    with pytest.raises(PaperOut):
        printer.print_receipt(EN_RECEIPT, "en")
    printer.load_paper(100)
    printer.print_receipt(EN_RECEIPT, "en")
    assert printer.paper == 99


@pytest.mark.parametrize("garbage", [b"", b"hello", b"%PDF-1.4 but truncated"])
def test_something_that_is_not_a_pdf_is_refused(printer: SimulatedPrinter, garbage: bytes) -> None:
    with pytest.raises(InvalidDocument):
        printer.print_pdf("statement", garbage)


def test_printouts_wait_in_the_tray_until_taken(printer: SimulatedPrinter) -> None:
    with pytest.raises(NothingToTake):
        printer.take()
    first = printer.print_receipt(EN_RECEIPT, "en")
    second = printer.print_pdf("statement", _statement(1))
    assert [p.pdf for p in printer.take()] == [first, second]
    assert printer.tray == []
