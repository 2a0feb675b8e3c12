"""PII masking: the one place that decides what a card number, ID, phone, email or name looks like
once it leaves the engine (transcripts, logs, the terminal simulator, the review app).

Masked forms (the display conventions of Chinese banks, JR/T 0171-2020):

==================  ==========================  =======================================
card / account      ``6222 **** **** 1234``     first 4 and last 4; length hidden
resident ID         ``3204**********1234``      first 4 and last 4 (the last may be X)
mobile phone        ``138****5678``             first 3 and last 4 (``86 `` prefix kept)
email               ``z***@example.com``        first character of the local part
name                ``张*``, ``J*** S****``     first character of each part
PIN (slot values)   ``******``                  always, whatever its length
==================  ==========================  =======================================

Amounts, dates, times and short numbers are kept: a transcript must still say *what* happened.
Digit detection accepts ASCII and full-width digits, digits split by spaces or hyphens as ASR and
people write them (``6 2 2 2 ...``, ``138-1234-5678``), and long runs of spoken Chinese digits
(``六二二二零二...``). A run of 12 or more digits is treated as a card or account number, so
references meant to be read out should contain letters.

Values that must stay usable while never printing themselves are wrapped: :class:`PII` (masks
itself by kind) and :class:`Secret` (PINs: prints ``******``, revealed only for the core call).
:class:`MaskingFilter` masks every log record that passes a handler.

Usage::

    >>> mask_text("我的卡号是6222020200001234丢了")
    '我的卡号是6222 **** **** 1234丢了'
    >>> mask_text("transfer 500 to John Smith", names=["John Smith"])
    'transfer 500 to J*** S****'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, final

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from vtm.common.checksums import id_birth_date
from vtm.common.secret import PIN_MASK, Secret, masked_string_schema

__all__ = [
    "PII",
    "PIN_MASK",
    "MaskingFilter",
    "PiiKind",
    "Secret",
    "mask_card",
    "mask_email",
    "mask_id",
    "mask_name",
    "mask_phone",
    "mask_slots",
    "mask_text",
    "mask_value",
]

_FULLWIDTH_DIGITS: Final = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
_CHINESE_DIGITS: Final = str.maketrans("零〇一二三四五六七八九幺", "001234567891")

_D = "[0-9０-９]"
_SEP = "[ \u3000\\-]"
_X = "[XxＸｘ]"
# A digit run, digits possibly split by single spaces or hyphens, optionally ending in an ID's X.
# Runs glued to Latin letters are codes (references like TR20261123A1B2C3D4E5), not numbers.
_DIGITS_RE: Final = re.compile(
    rf"(?<![0-9０-９A-Za-z])({_D}(?:{_SEP}?{_D})*)(?:({_SEP}?{_X})(?![A-Za-z]))?(?![0-9０-９A-Za-z])"
)
_CN_DIGITS_RE: Final = re.compile(r"[零〇一二三四五六七八九幺](?:[ \u3000]?[零〇一二三四五六七八九幺]){10,}")
_EMAIL_RE: Final = re.compile(
    r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"
)
_MOBILE_RE: Final = re.compile(r"1[3-9]\d{9}")
_CJK_RE: Final = re.compile(r"[\u3400-\u9fff]")
_NAME_SEPARATORS: Final = frozenset(" ·・.-'")
_MIN_ACCOUNT_DIGITS: Final = 12


# Single values ---------------------------------------------------------------------------------
def _digits(value: str) -> str:
    return "".join(c for c in value.translate(_FULLWIDTH_DIGITS) if c.isascii() and c.isdigit())


def mask_card(number: str) -> str:
    """``6222 **** **** 1234`` for any card or account number; ``****`` if too short to show part."""
    digits = _digits(number)
    if len(digits) < 8:
        return "****"
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_id(id_number: str) -> str:
    """``3204**********1234``: first 4 and last 4 of a resident ID (the last may be ``X``)."""
    chars = "".join(c for c in id_number.translate(_FULLWIDTH_DIGITS) if c.isascii() and c.isalnum()).upper()
    if len(chars) < 8:
        return "*" * max(len(chars), 4)
    return chars[:4] + "*" * (len(chars) - 8) + chars[-4:]


def mask_phone(phone: str) -> str:
    """``138****5678`` for a mainland mobile; a leading ``86`` country code is kept."""
    digits = _digits(phone)
    prefix = ""
    if len(digits) == 13 and digits.startswith("86"):
        prefix, digits = "86 ", digits[2:]
    if len(digits) < 7:
        return "****"
    return f"{prefix}{digits[:3]}****{digits[-4:]}"


def mask_email(email: str) -> str:
    """``z***@example.com``: the first character of the local part and the domain are kept."""
    local, at, domain = email.strip().partition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_name(name: str) -> str:
    """``张*`` / ``欧***`` for Chinese names; ``J*** S****`` (each part) for Latin-script names."""
    name = name.strip()
    if not name:
        return name
    if _CJK_RE.search(name):
        return name[0] + "".join(c if c in _NAME_SEPARATORS else "*" for c in name[1:])
    out: list[str] = []
    start_of_part = True
    for char in name:
        if char in _NAME_SEPARATORS:
            out.append(char)
            start_of_part = True
        else:
            out.append(char if start_of_part else "*")
            start_of_part = False
    return "".join(out)


# Free text -------------------------------------------------------------------------------------
def _mask_number(digits: str, x_suffix: str) -> str | None:
    """The masked form of a digit string found in text, or None if it is not personal data."""
    if x_suffix:
        candidate = digits + "X"
        return mask_id(candidate) if len(candidate) == 18 else None
    if len(digits) == 18 and id_birth_date(digits) is not None:
        return mask_id(digits)
    if _MOBILE_RE.fullmatch(digits) or (len(digits) == 13 and _MOBILE_RE.fullmatch(digits[2:])
                                        and digits.startswith("86")):
        return mask_phone(digits)
    if len(digits) >= _MIN_ACCOUNT_DIGITS:
        return mask_card(digits)
    return None


def _mask_digit_run(match: re.Match[str]) -> str:
    run, x_part = match.group(1), match.group(2) or ""
    x_char = x_part.strip(" \u3000-")
    pieces = re.split(f"({_SEP})", run)  # digit groups at even indexes, separators at odd ones
    if len(pieces) > 1:
        if len(set(pieces[1::2])) > 1:
            # Mixed separators: "+86 138-1234-5678", "2026-01-01 2026-03-31"; spaces split numbers.
            pieces = re.split(r"([ \u3000])", run)
        elif any(len(g) >= 11 for g in pieces[0::2]):
            pass  # "500 6222020200001234": each group is a number by itself; the amount survives
        else:
            pieces = [run]
    if len(pieces) > 1:
        out = [p if i % 2 else _mask_number(_digits(p), "") or p for i, p in enumerate(pieces)]
        if x_char:
            last = _mask_number(_digits(pieces[-1]), x_char)
            out[-1], x_part = (last, "") if last else (out[-1], x_part)
        return "".join(out) + x_part
    masked = _mask_number(_digits(run), x_char)
    return match.group(0) if masked is None else masked


def _mask_chinese_digits(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("\u3000", "").translate(_CHINESE_DIGITS)
    return _mask_number(digits, "") or match.group(0)


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    alternatives: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if _CJK_RE.search(name):
            alternatives.add(re.escape(name))
            continue
        parts = [p for p in re.split(r"\s+", name) if p]
        alternatives.add(r"\s+".join(re.escape(p) for p in parts))
        alternatives.update(re.escape(p) for p in parts if len(p) >= 2)
    if not alternatives:
        return None
    ordered = sorted(alternatives, key=len, reverse=True)  # longest first: the full name before a part
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(ordered) + r")(?![A-Za-z])", re.IGNORECASE)


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """Mask every card/account number, ID number, mobile phone and email in ``text``, and each of
    the known ``names`` (the customer's, a payee's). Amounts and other short numbers are kept."""
    if not text:
        return text
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    text = _DIGITS_RE.sub(_mask_digit_run, text)
    text = _CN_DIGITS_RE.sub(_mask_chinese_digits, text)
    pattern = _name_pattern(names)
    if pattern is not None:
        text = pattern.sub(lambda m: mask_name(m.group(0)), text)
    return text


# Slot values -----------------------------------------------------------------------------------
_SECRET_SLOTS: Final = ("pin", "password", "otp", "passcode", "cvv", "verification_code")


def _is_secret_slot(slot_name: str) -> bool:
    name = slot_name.lower()
    return any(name == s or name.endswith("_" + s) for s in _SECRET_SLOTS)


def _slot_masker(slot_name: str) -> Callable[[str], str] | None:
    name = slot_name.lower()
    if name.endswith("last4"):
        return None
    if "id_number" in name or name in {"id", "id_card"}:
        return mask_id
    if ("card" in name and "number" in name) or "account" in name:
        return mask_card
    if "phone" in name or "mobile" in name:
        return mask_phone
    if "email" in name:
        return mask_email
    if name == "name" or name.endswith("_name"):
        return mask_name
    return None


def mask_value(slot_name: str, value: object) -> object:
    """The display form of one slot value: masked by the slot's name (``card_number``,
    ``from_account``, ``id_number``, ``phone``, ``email``, ``payee_name``; ``pin`` is always
    ``******``); free-text strings of other slots go through :func:`mask_text`; non-string values
    (amounts, dates, enums) are returned unchanged."""
    if _is_secret_slot(slot_name):
        return PIN_MASK
    masker = _slot_masker(slot_name)
    if value is None:
        return None
    if isinstance(value, PII | Secret):
        return str(value)
    if masker is not None:
        return masker(str(value))
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_slots(slots: Mapping[str, object]) -> dict[str, object]:
    """:func:`mask_value` applied to every entry of a slot dict."""
    return {name: mask_value(name, value) for name, value in slots.items()}


# Self-masking values ---------------------------------------------------------------------------
class PiiKind(StrEnum):
    CARD = "card"
    ACCOUNT = "account"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    EMAIL = "email"
    NAME = "name"
    TEXT = "text"


_PII_MASKERS: Final[dict[PiiKind, Callable[[str], str]]] = {
    PiiKind.CARD: mask_card,
    PiiKind.ACCOUNT: mask_card,
    PiiKind.ID_NUMBER: mask_id,
    PiiKind.PHONE: mask_phone,
    PiiKind.EMAIL: mask_email,
    PiiKind.NAME: mask_name,
    PiiKind.TEXT: mask_text,
}


@final
class PII:
    """Personal data that prints, logs and serialises only in its masked form.

    ``reveal()`` gives the raw value to code that needs it (a core-banking call, a supervisor's
    audited unmask). In pydantic models it validates from a plain string (kind ``TEXT``) and
    serialises masked.

    >>> card = PII("6222020200001234", PiiKind.CARD)
    >>> f"card {card}"
    'card 6222 **** **** 1234'
    """

    __slots__ = ("_value", "kind")

    def __init__(self, value: str, kind: PiiKind = PiiKind.TEXT) -> None:
        self._value = value
        self.kind = kind

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return _PII_MASKERS[self.kind](self._value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"PII({self.kind.value}, {self.masked!r})"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PII) and other.kind == self.kind and other._value == self._value

    def __hash__(self) -> int:
        return hash((PII, self.kind, self._value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return masked_string_schema(cls)


# Logging ---------------------------------------------------------------------------------------
_STANDARD_RECORD_FIELDS: Final = frozenset(vars(logging.makeLogRecord({})))


class MaskingFilter(logging.Filter):
    """Masks the message, the exception text, the stack and string ``extra`` fields of every record.

    Attach it to the *handlers* (a logger's filters do not see records propagated from child
    loggers)::

        handler.addFilter(MaskingFilter(names=lambda: session.known_names))
    """

    def __init__(self, names: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
        super().__init__()
        self._names = names if callable(names) else tuple(names)

    def filter(self, record: logging.LogRecord) -> bool:
        names = self._names() if callable(self._names) else self._names
        record.msg = mask_text(record.getMessage(), names)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, names)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info, names)
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_FIELDS and isinstance(value, str):
                setattr(record, key, mask_text(value, names))
        return True
