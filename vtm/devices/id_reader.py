"""ID-card reader: reads a Chinese resident ID card (name, number, validity, photo reference).

:class:`IdCardReader` is what a real driver implements. :class:`SimulatedIdCardReader` is fed by
the script command ``scan_id <id_number> [expired]``; it checks the GB 11643 check character,
takes the holder's name from a lookup (the kiosk passes one backed by the core bank's
``verify_identity``) and derives a realistic validity period from the holder's age.

:class:`IdCardData` holds plain strings (the core-banking call needs them, as
``vtm.banking.models`` does) but prints itself masked, so logging it leaks nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, runtime_checkable

from vtm.common.checksums import gb11643_valid, id_birth_date
from vtm.common.masking import mask_id, mask_name
from vtm.devices._clock import Today, kiosk_today
from vtm.devices.errors import IdCardExpired, IdCardUnreadable, IdNumberInvalid, NoIdCard

__all__ = ["UNKNOWN_HOLDER", "IdCardData", "IdCardReader", "NameLookup", "SimulatedIdCardReader"]

NameLookup = Callable[[str], str | None]
"""ID number -> holder's name, or None when the bank does not know the person."""

UNKNOWN_HOLDER = "持证人"
"""The simulated name printed on an ID card whose holder the lookup does not know."""


@dataclass(frozen=True, slots=True, repr=False)
class IdCardData:
    name: str
    id_number: str
    valid_from: date
    valid_to: date | None  # None: long-term validity (长期), issued from age 46
    photo_id: str  # reference to the chip photo, for the face check

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def __repr__(self) -> str:
        return (f"IdCardData(name={mask_name(self.name)!r}, id_number={mask_id(self.id_number)!r}, "
                f"valid_from={self.valid_from!r}, valid_to={self.valid_to!r}, photo_id={self.photo_id!r})")

    __str__ = __repr__


@runtime_checkable
class IdCardReader(Protocol):
    def scan(self) -> IdCardData:
        """Read the ID card on the reader; raises an :class:`~vtm.devices.errors.IdCardError`
        when there is none, it cannot be read, its check character is wrong or it has expired."""
        ...


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def _validity(birth: date, today: date, expired: bool) -> tuple[date, date | None]:
    """A plausible validity period: 5/10/20 years or long-term by age at issue (GB/T rules)."""
    if expired:
        valid_to = today - timedelta(days=30)
        return _years_later(valid_to, -10), valid_to
    valid_from = _years_later(today, -3)
    age = (valid_from - birth).days // 365
    if age >= 46:
        return valid_from, None
    years = 5 if age < 16 else 10 if age < 26 else 20
    return valid_from, _years_later(valid_from, years)


class SimulatedIdCardReader:
    """An ID reader fed by ``present`` (the ``scan_id`` command); each card is scanned once."""

    def __init__(self, lookup: NameLookup | None = None, today: Today = kiosk_today) -> None:
        self._lookup = lookup
        self._today = today
        self._presented: tuple[str, bool] | None = None
        self.scans = 0

    def present(self, id_number: str, *, expired: bool = False) -> None:
        """The customer lays an ID card on the reader."""
        self._presented = (id_number.strip().upper(), expired)

    def scan(self) -> IdCardData:
        if self._presented is None:
            raise NoIdCard("no ID card on the reader")
        id_number, expired = self._presented
        self._presented = None
        self.scans += 1
        birth = id_birth_date(id_number)
        if birth is None or not id_number[:17].isdigit():
            raise IdCardUnreadable("not an 18-character resident ID", id_number=mask_id(id_number))
        if not gb11643_valid(id_number):
            raise IdNumberInvalid("the ID number's check character is wrong", id_number=mask_id(id_number))
        today = self._today()
        valid_from, valid_to = _validity(birth, today, expired)
        if valid_to is not None and today > valid_to:
            raise IdCardExpired("the ID card has expired", id_number=mask_id(id_number),
                                valid_to=valid_to.isoformat())
        name = (self._lookup(id_number) if self._lookup else None) or UNKNOWN_HOLDER
        photo_id = "idphoto-" + hashlib.sha256(id_number.encode()).hexdigest()[:16]
        return IdCardData(name, id_number, valid_from, valid_to, photo_id)
