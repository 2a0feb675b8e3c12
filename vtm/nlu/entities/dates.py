"""``date_range``: a statement period, resolved against an explicit ``today``.

Understood (on the normalised text, where 三 is already 3 before 月/个月/天):

* relative: 上个月 / 上月 / 上上个月 / 本月 / 这个月 / 上周 / 本周 / 上个季度 / 今年 / 去年 / 前年 /
  (今年|去年)上半年 / 下半年 / 昨天 / 今天; last month, this month, last week, this week, last
  quarter, this year, last year, the previous financial year, since the start of the year,
  yesterday, today, two months ago, a year of (statements)
* a year: 2023年 / 2023年全年; for 2023
* trailing windows: 最近3个月 / 近半年 / 过去30天 / 近1年 / 三个月的(流水); the past 90 days, last 3 months
* calendar months and days: 3月 / 去年12月 / 2024年3月 / 3月5号; march, march 2024, march of last year
* ranges: 今年1月到3月, 从3月1号到3月15号, 3月至今; from march to may, between march and may,
  since january

Conventions (the dialog reads back the resolved dates, so the customer can correct them):

* A month without a year is the most recent such month that has begun (said in March,
  "十二月" is last December).
* "the last N days/weeks/months" ends today and holds exactly N of them: the past 90 days on
  2024-05-15 is 2024-02-16 .. 2024-05-15.
* The end of a period is clamped to today (a statement cannot list the future); a period that
  starts after today is invalid (``future``), one that ends before it starts is ``reversed``.
  No maximum length is applied here: the transaction's limits do that.
* 今天 / today alone is reported with confidence 0.5: it is usually small talk, not a period.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta

from vtm.nlu.entities._base import make_entity
from vtm.nlu.normalize import Normalized
from vtm.nlu.types import DateRange, Entity, InvalidReason, SlotName

__all__ = ["find_date_ranges"]

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))

Span = tuple[date, date]


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    if year < 1:
        return date.min
    if year > 9999:
        return date.max
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def _month(year: int, month: int) -> Span | None:
    if not (1 <= year <= 9999 and 1 <= month <= 12):
        return None
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _year_of(word: str | None, today: date) -> int | None:
    if not word:
        return None
    word = word.strip()
    relative = {"今年": 0, "this year": 0, "去年": -1, "last year": -1, "of last year": -1, "前年": -2}
    if word in relative:
        return today.year + relative[word]
    word = word.removesuffix("年")
    if word.startswith("of "):
        word = word[3:]
    if word.isdigit():
        year = int(word)
        if len(word) == 2:
            year += 2000
        return year if 1900 <= year <= 9999 else None
    return None


def _recent_year(month: int, today: date) -> int:
    return today.year if month <= today.month else today.year - 1


def _point(month: int, day: int | None, year: int | None, today: date) -> Span | None:
    """A calendar month, or one day of it; the year defaults to the most recent one."""
    y = year if year is not None else _recent_year(month, today)
    whole = _month(y, month)
    if whole is None:
        return None
    if day is None:
        return whole
    if not 1 <= day <= whole[1].day:
        return None
    d = date(y, month, day)
    if year is None and d > today:
        d = date(y - 1, month, min(day, calendar.monthrange(y - 1, month)[1]))
    return d, d


def _window(n: int, unit: str, today: date) -> Span | None:
    if n <= 0 or n > 10_000:
        return None
    if unit in ("天", "日", "day", "days"):
        return today - timedelta(days=n - 1), today
    if unit in ("周", "星期", "礼拜", "week", "weeks"):
        return today - timedelta(weeks=n) + timedelta(days=1), today
    if unit in ("月", "个月", "month", "months"):
        return _add_months(today, -n) + timedelta(days=1), today
    if unit in ("年", "year", "years"):
        return _add_months(today, -12 * n) + timedelta(days=1), today
    return None


def _week(today: date, offset: int) -> Span:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
    return monday, monday + timedelta(days=6)


def _quarter(today: date, offset: int) -> Span | None:
    first = _add_months(date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), 3 * offset)
    return first, _add_months(first, 3) - timedelta(days=1)


def _months_ago(today: date, n: int) -> Span | None:
    return _month(*_ym(_add_months(today.replace(day=1), -n)))


def _half(year: int, second: bool) -> Span:
    return (date(year, 7, 1), date(year, 12, 31)) if second else (date(year, 1, 1), date(year, 6, 30))


def _recent_half(today: date, second: bool) -> Span:
    """上半年 / 下半年 without a year: the most recent such half that has begun."""
    if second and today.month < 7:
        return _half(today.year - 1, True)
    return _half(today.year, second)


def _this_quarter(today: date) -> Span | None:
    span = _quarter(today, 0)
    return (span[0], today) if span else None


# Relative periods: "|"-separated phrases -> resolver. The longest phrase wins.
_RELATIVE_TABLE: list[tuple[str, Callable[[date], Span | None]]] = [
    ("上上个月|上上月|the month before last", lambda t: _months_ago(t, 2)),
    ("上个月|上月|last month|previous month", lambda t: _months_ago(t, 1)),
    ("本月|这个月|这月|当月|this month", lambda t: (t.replace(day=1), t)),
    ("上周|上个星期|上星期|上个礼拜|上礼拜|last week|previous week", lambda t: _week(t, -1)),
    ("本周|这周|这个星期|这星期|这个礼拜|这礼拜|本礼拜|this week", lambda t: (_week(t, 0)[0], t)),
    ("上个季度|上季度|last quarter|previous quarter", lambda t: _quarter(t, -1)),
    ("本季度|这个季度|这季度|this quarter", _this_quarter),
    ("今年|今年以来|今年全年|this year|year to date|ytd|since the start of the year|"
     "since the beginning of the year|since the start of this year", lambda t: (date(t.year, 1, 1), t)),
    ("去年|去年全年|last year|previous year|last financial year|previous financial year|last fiscal year|"
     "previous fiscal year", lambda t: (date(t.year - 1, 1, 1), date(t.year - 1, 12, 31))),
    ("前年|the year before last", lambda t: (date(t.year - 2, 1, 1), date(t.year - 2, 12, 31))),
    ("昨天|yesterday", lambda t: (t - timedelta(days=1), t - timedelta(days=1))),
    ("今年上半年|the first half of this year|first half of this year", lambda t: _half(t.year, False)),
    ("今年下半年|the second half of this year|second half of this year", lambda t: _half(t.year, True)),
    ("去年上半年|the first half of last year|first half of last year", lambda t: _half(t.year - 1, False)),
    ("去年下半年|the second half of last year|second half of last year", lambda t: _half(t.year - 1, True)),
    ("上半年|the first half of the year|first half of the year", lambda t: _recent_half(t, False)),
    ("下半年|the second half of the year|second half of the year", lambda t: _recent_half(t, True)),
    ("半年|近半年|最近半年|过去半年|这半年|half a year|the past half year|the last half year",
     lambda t: _window(6, "月", t)),
    ("a year of|one year of|a year's worth of|a full year of|a whole year of",
     lambda t: _window(1, "年", t)),
    # Forward periods are recognised so that the customer hears why they cannot be used (future).
    ("下个月|下月|next month", lambda t: _months_ago(t, -1)),
    ("下周|下个星期|下星期|下个礼拜|下礼拜|next week", lambda t: _week(t, 1)),
    ("明年|next year", lambda t: (date(t.year + 1, 1, 1), date(t.year + 1, 12, 31))),
]  # fmt: skip
_RELATIVE: dict[str, Callable[[date], Span | None]] = {
    phrase: fn for phrases, fn in _RELATIVE_TABLE for phrase in phrases.split("|")
}
_RELATIVE_RE = re.compile(
    "|".join(
        rf"(?<![a-z]){re.escape(p)}(?![a-z])" if p.isascii() else re.escape(p)
        for p in sorted(_RELATIVE, key=len, reverse=True)
    )
)
# Today alone is rarely a statement period ("今天就办这些"): reported, with a low confidence.
_TODAY_RE = re.compile(r"今天|(?<![a-z])today(?![a-z])")
_TODAY_CONFIDENCE = 0.5


def _year_span(year: int) -> Span | None:
    return (date(year, 1, 1), date(year, 12, 31)) if 1 <= year <= 9999 else None


def _ym(d: date) -> tuple[int, int]:
    return d.year, d.month


# --- patterns ------------------------------------------------------------------------------------
_ZH_YEAR = r"(?:今年|去年|前年|\d{4}年|\d{2}年)"


def _zh_pt(p: str) -> str:
    return rf"(?<!\d)(?P<{p}y>{_ZH_YEAR})?(?<!\d)(?P<{p}m>\d{{1,2}})月份?(?:(?P<{p}d>\d{{1,2}})[号日])?"


_ZH_RANGE = re.compile(
    r"(?:从)?" + _zh_pt("a") + r"(?:到|至|-|~|—)(?:"
    + _zh_pt("b") + r"|(?P<bday>\d{1,2})[号日]|(?P<now>现在|今天|目前|至今))"
)
_ZH_SINCE = re.compile(r"(?:从)?" + _zh_pt("a") + r"(?:以来|至今|到现在|到今天|开始)")
_ZH_SINGLE = re.compile(_zh_pt("a"))
_ZH_WINDOW = re.compile(
    r"(?:(?:最近|近|过去|前|这)的?(?P<n>\d{1,4}|半)(?P<u>个月|个星期|个礼拜|周|星期|天|日|年|月)|"
    # without 最近: "三个月的流水", "90天的" - only when a statement word or 的 follows
    r"(?<![\d年月])(?P<n2>\d{1,4})(?P<u2>个月|个星期|个礼拜|天)(?=的|流水|明细|账单|记录|交易|以内|内))"
)
_ZH_YEAR_ONLY = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})年(?:全年|整年|一整年|度)?(?!\d{0,2}月|\d)")
_EN_YEAR_ONLY = re.compile(r"(?<![a-z])(?:for|in|during|of|year)\s(?P<y>(?:19|20)\d{2})(?![\d])")
_EN_AGO = re.compile(r"(?<![a-z\d])(?P<n>\d{1,2})\smonths?\sago(?![a-z])")

_EN_YEAR = r"(?:\d{4}|of last year|last year|this year)"


def _en_pt(p: str) -> str:
    return (
        rf"(?P<{p}m>{_MONTH_WORD})(?:\s(?P<{p}d>\d{{1,2}})(?!\d)(?:st|nd|rd|th)?)?"
        rf"(?:,?\s(?P<{p}y>{_EN_YEAR}))?(?![a-z])"
    )


_EN_RANGE = re.compile(
    rf"(?<![a-z])(?:from |between )?{_en_pt('a')}\s(?:to|through|until|till|and|-)\s"
    rf"(?:{_en_pt('b')}|(?P<now>now|today|date))"
)
_EN_SINCE = re.compile(rf"(?<![a-z])since {_en_pt('a')}")
_EN_SINGLE = re.compile(rf"(?<![a-z])(?P<prep>in |for |of |during )?{_en_pt('a')}")
_EN_WINDOW = re.compile(
    r"(?<![a-z])(?:the )?(?:past|last|previous|recent)\s(?P<n>\d{1,4})\s"
    r"(?P<u>days?|weeks?|months?|years?)(?![a-z])"
)


def _zh_point(m: re.Match[str], p: str, today: date, year: int | None = None) -> Span | None:
    y = _year_of(m.group(f"{p}y"), today)
    day = m.group(f"{p}d")
    return _point(int(m.group(f"{p}m")), int(day) if day else None, y if y is not None else year, today)


def _range_from(m: re.Match[str], today: date) -> Span | None:
    """Both ends of "A 到 B" / "from A to B"; a year said once applies to both ends."""
    groups = m.groupdict()
    ma = _month_no(m.group("am"))
    da = int(m.group("ad")) if m.group("ad") else None
    if groups.get("now"):
        a = _point(ma, da, _year_of(m.group("ay"), today), today)
        return (a[0], today) if a else None
    if groups.get("bday"):  # 3月1号到15号
        a = _point(ma, da, _year_of(m.group("ay"), today), today)
        end_day = int(groups["bday"])
        if a is None or not 1 <= end_day <= calendar.monthrange(a[0].year, a[0].month)[1]:
            return None
        return a[0], date(a[0].year, a[0].month, end_day)
    mb = _month_no(m.group("bm"))
    db = int(m.group("bd")) if m.group("bd") else None
    ya, yb = _year_of(m.group("ay"), today), _year_of(m.group("by"), today)
    if yb is None and ya is not None:
        yb = ya if mb >= ma else ya + 1
    if yb is None:
        yb = _recent_year(mb, today)
    if ya is None:
        ya = yb if ma <= mb else yb - 1
    a = _point(ma, da, ya, today)
    b = _point(mb, db, yb, today)
    if a is None or b is None:
        return None
    return a[0], b[1]


def _month_no(word: str) -> int:
    return int(word) if word.isdigit() else _MONTHS[word]


def _en_point(m: re.Match[str], p: str, today: date) -> Span | None:
    day = m.group(f"{p}d")
    year = _year_of(m.group(f"{p}y"), today)
    return _point(_MONTHS[m.group(f"{p}m")], int(day) if day else None, year, today)


def _candidates(text: str, today: date) -> list[tuple[int, int, Span | None]]:
    out: list[tuple[int, int, Span | None]] = []
    for m in _ZH_RANGE.finditer(text):
        out.append((m.start(), m.end(), _range_from(m, today)))
    for m in _EN_RANGE.finditer(text):
        if m.group("am") == "may" and not m.group(0).startswith(("from", "between")):
            continue
        out.append((m.start(), m.end(), _range_from(m, today)))
    for m in _ZH_SINCE.finditer(text):
        a = _zh_point(m, "a", today)
        out.append((m.start(), m.end(), (a[0], today) if a else None))
    for m in _EN_SINCE.finditer(text):
        a = _en_point(m, "a", today)
        out.append((m.start(), m.end(), (a[0], today) if a else None))
    for m in _ZH_WINDOW.finditer(text):
        n, unit = m.group("n") or m.group("n2"), m.group("u") or m.group("u2")
        if n == "半":  # noqa: SIM108 - 近半年 = six months; 半个月 is not a statement period (clearer as a block)
            span = _window(6, "月", today) if unit == "年" else None
        else:
            span = _window(int(n), unit, today)
        out.append((m.start(), m.end(), span))
    for m in _EN_WINDOW.finditer(text):
        out.append((m.start(), m.end(), _window(int(m.group("n")), m.group("u"), today)))
    for m in _RELATIVE_RE.finditer(text):
        out.append((m.start(), m.end(), _RELATIVE[m.group()](today)))
    for m in _ZH_YEAR_ONLY.finditer(text):
        out.append((m.start(), m.end(), _year_span(int(m.group("y")))))
    for m in _EN_YEAR_ONLY.finditer(text):
        out.append((m.start("y"), m.end(), _year_span(int(m.group("y")))))
    for m in _EN_AGO.finditer(text):
        out.append((m.start(), m.end(), _months_ago(today, int(m.group("n")))))
    for m in _ZH_SINGLE.finditer(text):
        out.append((m.start(), m.end(), _zh_point(m, "a", today)))
    for m in _EN_SINGLE.finditer(text):
        if m.group("am") == "may" and not m.group("prep") and not m.group("ay"):
            continue  # "may I ..." is not the month
        start = m.start("am")
        out.append((start, m.end(), _en_point(m, "a", today)))
    return out


def find_date_ranges(norm: Normalized, today: date) -> list[Entity]:
    """Every period in ``norm``, longest match first where two overlap."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    candidates = _candidates(norm.text, today)
    todays = {(m.start(), m.end()) for m in _TODAY_RE.finditer(norm.text)}
    candidates += [(s, e, (today, today)) for s, e in todays]
    for start, end, span in sorted(candidates, key=lambda c: (-(c[1] - c[0]), c[0])):
        if span is None or any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        first, last = span
        reason = None
        if first > today:
            reason = InvalidReason.FUTURE
        elif last < first:
            reason = InvalidReason.REVERSED
        else:
            last = min(last, today)
        value = DateRange(start=first, end=last)
        confidence = _TODAY_CONFIDENCE if (start, end) in todays else 1.0
        found.append(
            make_entity(norm, SlotName.DATE_RANGE, value, start, end, reason=reason, confidence=confidence)
        )
    return sorted(found, key=lambda e: e.start)
