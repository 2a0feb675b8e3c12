"""What makes a PIN well-formed, and what makes a new PIN too easy to guess.

One pure module that the core bank (which refuses a weak PIN itself), the dialog (which tells the
customer before asking for the second entry) and the compliance gate (which judges the weakness
*names*, never the PIN) all import, so the three can never disagree.

Weaknesses (:class:`PinWeakness`; the names are stable, they travel in
:class:`~vtm.banking.errors.WeakPin` and in the gate's slots):

``repeated``
    At most two distinct digits (111111, 121212, 112211, 000009), or one three-digit block
    written twice (123123, 520520). Two distinct digits cover the "same digit" and "alternating"
    patterns customers choose; three distinct digits in any other arrangement are not flagged.
``sequential``
    Every digit one more than the one before (012345 ... 456789) or one less (987654 ... 543210).
    No wrap-around: 890123 is not flagged.
``birth_date``
    The customer's date of birth on file as YYMMDD, MMDDYY or DDMMYY (MMDD followed by YY is the
    MMDDYY form). Without a date on file this weakness is never found.
``same_as_current``
    The new PIN equals the current one; only :func:`new_pin_weaknesses` can tell (it sees both).

Usage::

    pin_format_ok("123456")                                 # True
    pin_weaknesses("801231", date(1980, 12, 31))            # frozenset({PinWeakness.BIRTH_DATE})
    new_pin_weaknesses("135790", "135790", None)            # frozenset({PinWeakness.SAME_AS_CURRENT})
"""

from __future__ import annotations

import secrets
from datetime import date
from enum import StrEnum

__all__ = ["PIN_LENGTH", "PinWeakness", "birth_date_forms", "new_pin_weaknesses", "pin_format_ok", "pin_weaknesses"]

PIN_LENGTH = 6

_ASCENDING = "0123456789"
_DESCENDING = _ASCENDING[::-1]


class PinWeakness(StrEnum):
    REPEATED = "repeated"
    SEQUENTIAL = "sequential"
    BIRTH_DATE = "birth_date"
    SAME_AS_CURRENT = "same_as_current"


def pin_format_ok(pin: str) -> bool:
    """A PIN is exactly six ASCII digits (the PIN pad yields nothing else)."""
    return len(pin) == PIN_LENGTH and pin.isascii() and pin.isdigit()


def birth_date_forms(born: date) -> frozenset[str]:
    """The six-digit spellings of a birth date a customer might pick as a PIN: YYMMDD, MMDDYY, DDMMYY."""
    yy, mm, dd = f"{born.year % 100:02d}", f"{born.month:02d}", f"{born.day:02d}"
    return frozenset({yy + mm + dd, mm + dd + yy, dd + mm + yy})


def pin_weaknesses(pin: str, birth_date: date | None) -> frozenset[PinWeakness]:
    """The weaknesses of a well-formed PIN (empty: none found). Check :func:`pin_format_ok` first.

    Raises ``ValueError`` for a malformed PIN: "weak" is only meaningful for a PIN that could be set.
    """
    if not pin_format_ok(pin):
        raise ValueError("a PIN is six digits")
    found: set[PinWeakness] = set()
    if len(set(pin)) <= 2 or pin[:3] == pin[3:]:
        found.add(PinWeakness.REPEATED)
    if pin in _ASCENDING or pin in _DESCENDING:
        found.add(PinWeakness.SEQUENTIAL)
    if birth_date is not None and pin in birth_date_forms(birth_date):
        found.add(PinWeakness.BIRTH_DATE)
    return frozenset(found)


def new_pin_weaknesses(current_pin: str, new_pin: str, birth_date: date | None) -> frozenset[PinWeakness]:
    """:func:`pin_weaknesses` of the new PIN, plus ``same_as_current`` when it equals the current one."""
    found = pin_weaknesses(new_pin, birth_date)
    # compare_digest: both are secrets, so compare them the way secrets are compared.
    if secrets.compare_digest(current_pin.encode(), new_pin.encode()):
        return found | {PinWeakness.SAME_AS_CURRENT}
    return found
