"""Receipt and statement printer: writes what it prints into an output folder.

:class:`Printer` is what a real driver implements. :class:`SimulatedPrinter` writes each job as
a PDF (statements as given; receipts typeset on 80 mm roll paper with a CJK font) plus a ``.txt``
twin of every receipt so tests and reviewers can read it. It counts paper: a job that needs more
sheets than are left raises :class:`~vtm.devices.errors.PaperOut` and prints nothing. Printouts
wait in the tray until taken (``take_receipt``).

The printer prints what it is given: masking is the caller's job (receipts are rendered from
templates that mask account numbers).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable
from xml.sax.saxutils import escape

from vtm.devices._clock import Clock, utc_now
from vtm.devices.errors import InvalidDocument, NothingToTake, PaperOut

__all__ = ["CJK_FONT_PATH", "Language", "Printer", "Printout", "SimulatedPrinter", "receipt_pdf"]

Language = Literal["zh", "en"]
CJK_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
_RECEIPT_WIDTH_MM = 80
_MARGIN_MM = 4


@dataclass(frozen=True, slots=True)
class Printout:
    pdf: Path
    txt: Path | None  # receipts only
    pages: int
    at: datetime


@runtime_checkable
class Printer(Protocol):
    def print_pdf(self, name: str, pdf_bytes: bytes) -> Path:
        """Print a ready-made PDF (a statement); returns where the printout is recorded."""
        ...

    def print_receipt(self, lines: Sequence[str], lang: Language) -> Path:
        """Print a receipt of short lines in the customer's language."""
        ...


@functools.cache
def _font_name() -> str:
    """Register the CJK font once per process (reportlab keeps a global font registry)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if CJK_FONT_PATH.is_file():
        pdfmetrics.registerFont(TTFont("WenQuanYiZenHei", str(CJK_FONT_PATH), subfontIndex=0))
        return "WenQuanYiZenHei"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # built into reportlab, not embedded
    return "STSong-Light"


def receipt_pdf(lines: Sequence[str], lang: Language) -> bytes:
    """Typeset ``lines`` on an 80 mm roll: one page as long as the text needs."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph

    style = ParagraphStyle("receipt", fontName=_font_name(), fontSize=9, leading=12,
                           wordWrap="CJK" if lang == "zh" else None)
    width = (_RECEIPT_WIDTH_MM - 2 * _MARGIN_MM) * mm
    paragraphs = [Paragraph(escape(line) or "&nbsp;", style) for line in lines]
    heights = [p.wrap(width, 10_000)[1] for p in paragraphs]
    page_height = sum(heights) + 2 * _MARGIN_MM * mm
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(_RECEIPT_WIDTH_MM * mm, page_height), invariant=True,
                    lang="zh-CN" if lang == "zh" else "en")
    canvas.setTitle(lines[0] if lines else "receipt")
    y = page_height - _MARGIN_MM * mm
    for paragraph, height in zip(paragraphs, heights, strict=True):
        y -= height
        paragraph.drawOn(canvas, _MARGIN_MM * mm, y)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _pdf_pages(pdf_bytes: bytes) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not pdf_bytes.startswith(b"%PDF-"):
        raise InvalidDocument("the document to print is not a PDF")
    try:
        return len(PdfReader(io.BytesIO(pdf_bytes)).pages)
    except PdfReadError as exc:
        raise InvalidDocument("the PDF to print cannot be read", detail=str(exc)) from exc


class SimulatedPrinter:
    """A printer writing into ``output_dir``; ``paper`` sheets left (None: never runs out)."""

    def __init__(self, output_dir: Path, paper: int | None = None, clock: Clock = utc_now) -> None:
        self.output_dir = output_dir
        self.paper = paper
        self._clock = clock
        self.printed: list[Printout] = []
        self.tray: list[Printout] = []

    def load_paper(self, sheets: int | None) -> None:
        self.paper = sheets

    def print_pdf(self, name: str, pdf_bytes: bytes) -> Path:
        pages = _pdf_pages(pdf_bytes)
        self._use_paper(pages)
        path = self._path(name, ".pdf")
        path.write_bytes(pdf_bytes)
        return self._done(Printout(path, None, pages, self._clock()))

    def print_receipt(self, lines: Sequence[str], lang: Language) -> Path:
        self._use_paper(1)
        path = self._path("receipt", ".pdf")
        path.write_bytes(receipt_pdf(lines, lang))
        txt = path.with_suffix(".txt")
        txt.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self._done(Printout(path, txt, 1, self._clock()))

    def take(self) -> list[Printout]:
        """The customer takes everything waiting in the tray."""
        if not self.tray:
            raise NothingToTake("no printout in the tray")
        taken, self.tray = self.tray, []
        return taken

    def _use_paper(self, sheets: int) -> None:
        if self.paper is not None:
            if self.paper < sheets:
                raise PaperOut("the printer is out of paper", needed=sheets, left=self.paper)
            self.paper -= sheets

    def _path(self, name: str, suffix: str) -> Path:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        stem = name[: -len(suffix)] if name.lower().endswith(suffix) else name
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "document"
        stamp = self._clock().strftime("%Y%m%dT%H%M%S")
        return self.output_dir / f"{stamp}-{len(self.printed) + 1:04d}-{slug[:60]}{suffix}"

    def _done(self, printout: Printout) -> Path:
        self.printed.append(printout)
        self.tray.append(printout)
        return printout.pdf
