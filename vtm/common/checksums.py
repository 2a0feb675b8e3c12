"""Check digits of card numbers (Luhn) and Chinese resident ID numbers (GB 11643-1999).

Pure functions with no I/O, shared by the sandbox bank (validation, seeding) and the NLU (a spoken
card or ID number is only believed when its check digit agrees).

Usage::

    >>> luhn_valid("6222021234567890128")
    True
    >>> gb11643_check_char("11010519491231002")
    'X'
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "gb11643_check_char",
    "gb11643_valid",
    "id_birth_date",
    "luhn_check_digit",
    "luhn_valid",
]

# GB 11643-1999 / ISO 7064 MOD 11-2: weight of position i (0-based, left to right) is 2**(17-i) mod 11.
_GB_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_GB_CHECK = "10X98765432"  # index = weighted sum mod 11


def _luhn_sum(digits: str, *, double_rightmost: bool) -> int:
    total = 0
    for offset, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if (offset % 2 == 0) == double_rightmost:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit to append to ``payload`` (digits only) so that the result is valid."""
    if not payload.isascii() or not payload.isdigit():
        raise ValueError("Luhn payload must be ASCII digits")
    return str((10 - _luhn_sum(payload, double_rightmost=True) % 10) % 10)


def luhn_valid(number: str) -> bool:
    """True if ``number`` is at least two ASCII digits and its last digit is its Luhn check digit."""
    if len(number) < 2 or not number.isascii() or not number.isdigit():
        return False
    return _luhn_sum(number, double_rightmost=False) % 10 == 0


def gb11643_check_char(first17: str) -> str:
    """The check character ("0"-"9" or "X") for the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("GB 11643 payload must be exactly 17 ASCII digits")
    total = sum((ord(c) - 48) * w for c, w in zip(first17, _GB_WEIGHTS, strict=True))
    return _GB_CHECK[total % 11]


def id_birth_date(id_number: str) -> date | None:
    """The date of birth encoded in positions 7-14 of an 18-character ID, or None if not a real date."""
    if len(id_number) != 18 or not id_number[6:14].isascii() or not id_number[6:14].isdigit():
        return None
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def gb11643_valid(id_number: str) -> bool:
    """True for an 18-character resident ID with a real birth date and a correct check character.

    A lower-case ``x`` is accepted (people and OCR write both); the structure check does not
    validate the region code, which changes over time.
    """
    if len(id_number) != 18:
        return False
    body, check = id_number[:17], id_number[17].upper()
    if not body.isascii() or not body.isdigit() or id_birth_date(id_number) is None:
        return False
    return gb11643_check_char(body) == check
