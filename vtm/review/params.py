"""Every number and date the review app accepts from a request, typed and bounded.

An unbounded integer or date in a query, path or form reaches SQLite (an ``OverflowError``
above 2**63), PostgreSQL (``integer out of range`` above 2**31) or date arithmetic (``9999-12-31``
plus a day) and would answer 500. Declared here with FastAPI/pydantic constraints instead, a bad
value is a 422 before any route code runs. ``tests/integration/test_review_params.py`` walks every
route's numeric and date parameters with huge, negative and malformed values.

==============================  ==================================  =======================
parameter                       where                               accepted
==============================  ==================================  =======================
``turn_no``                     audio, unmask (path); tag, note     0 .. ``MAX_TURN_NO``
                                (form, blank = the whole session);
                                answer mark (path)
``position``                    answer mark (path)                  0 .. ``MAX_POSITION``
``page``                        session list                        1 .. ``MAX_PAGE``
``date_from``, ``date_to``      session list (blank = any)          ``FIRST_DAY`` ..
                                                                    ``LAST_DAY``
``days``                        dashboard                           1 .. ``MAX_DASHBOARD_DAYS``
==============================  ==================================  =======================
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Final, Literal

from fastapi import Form, Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from vtm.records.views import Outcome, SessionFilter

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_DASHBOARD_DAYS",
    "MAX_PAGE",
    "MAX_POSITION",
    "MAX_TURN_NO",
    "DashboardDays",
    "PositionPath",
    "SessionQuery",
    "TurnNoForm",
    "TurnNoPath",
]

MAX_TURN_NO: Final = 100_000  # far above any real session, far below PostgreSQL's int4
MAX_POSITION: Final = 1_000  # an operation's index within one turn
MAX_PAGE: Final = 100_000
MAX_DASHBOARD_DAYS: Final = 90
FIRST_DAY: Final = date(2000, 1, 1)
LAST_DAY: Final = date(2100, 12, 31)  # a day after it and its midnight in UTC stay representable
_MAX_TEXT: Final = 64
_MAX_SEARCH: Final = 200


def _blank_is_none(value: object) -> object:
    """An empty form field (``?date_from=``) means "not given", not a malformed value."""
    return None if isinstance(value, str) and not value.strip() else value


def _blank_is_false(value: object) -> object:
    return False if value is None or (isinstance(value, str) and not value.strip()) else value


_Blank = BeforeValidator(_blank_is_none)
_Day = Annotated[Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)] | None, _Blank]
_Text = Annotated[Annotated[str, Field(max_length=_MAX_TEXT)] | None, _Blank]
_Flag = Annotated[bool, BeforeValidator(_blank_is_false)]

TurnNoPath = Annotated[int, Path(ge=0, le=MAX_TURN_NO)]
PositionPath = Annotated[int, Path(ge=0, le=MAX_POSITION)]
# Form: FastAPI turns an empty field into the default (None: the tag or note is on the session).
TurnNoForm = Annotated[int | None, Form(ge=0, le=MAX_TURN_NO)]
DashboardDays = Annotated[int, Query(ge=1, le=MAX_DASHBOARD_DAYS)]


class SessionQuery(BaseModel):
    """The session list's filters and page, as the filter form sends them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    date_from: _Day = None
    date_to: _Day = None
    kiosk: _Text = None
    language: Annotated[Literal["zh", "en"] | None, _Blank] = None
    outcome: Annotated[Outcome | None, _Blank] = None
    transaction: _Text = None
    handed_off: _Flag = False
    verdict: Annotated[Literal["deny", "refer"] | None, _Blank] = None
    low_asr: _Flag = False
    tagged: _Flag = False
    q: Annotated[Annotated[str, Field(max_length=_MAX_SEARCH)] | None, _Blank] = None
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1

    def as_params(self) -> dict[str, str]:
        """The filters given, as the form's strings (to refill the form and build page links)."""
        given = self.model_dump(mode="json", exclude={"page"}, exclude_defaults=True)
        return {key: "1" if value is True else str(value) for key, value in given.items()}

    def to_filter(self, tz: tzinfo, low_asr_threshold: float) -> SessionFilter:
        """The store's filter: days are local days in ``tz``, ``date_to`` inclusive."""
        return SessionFilter(
            started_from=None if self.date_from is None else datetime.combine(self.date_from, time(0), tzinfo=tz),
            started_before=None
            if self.date_to is None
            else datetime.combine(self.date_to + timedelta(days=1), time(0), tzinfo=tz),
            kiosk_id=self.kiosk,
            lang=self.language,
            outcome=self.outcome,
            transaction=self.transaction,
            handed_off=self.handed_off,
            verdict=self.verdict,
            asr_below=low_asr_threshold if self.low_asr else None,
            tagged=self.tagged,
            search=self.q,
        )
