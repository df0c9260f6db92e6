"""Working days for stage deadlines: England and Wales bank holidays, computed offline.

The holidays come from the ``holidays`` library (pinned exactly in pyproject.toml; subdivision ENG,
whose bank holidays are the same as Wales's), which ships its rules and the royal one-offs as code, so
nothing here fetches anything. GOV.UK's ``bank-holidays.json`` only covers a year or two ahead and
the portal must not depend on the network. On top of the library the portal applies its own table of
proclaimed one-offs, ``ONE_OFF_CHANGES``, so a newly announced holiday takes effect as soon as it is
added there, without waiting for a library release. An admin-edited table can be layered on with
``BankHolidays(extra=..., removed=...)``.

None of the partnership policies defines how to count days. The conventions implemented here are
the proposals in docs/working-days.md#conventions, and each function's docstring says which one it uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

__all__ = [
    "ENGLAND_AND_WALES",
    "ENGLAND_AND_WALES_CALENDAR",
    "MAX_YEAR",
    "MIN_YEAR",
    "ONE_OFF_CHANGES",
    "BankHolidays",
    "OneOffChange",
    "WorkingCalendar",
    "easter_sunday",
]

# The Early May bank holiday was first held in 1978. Earlier years are outside the range checked against
# the old rules (tests/data) and no notice needs them, and silently wrong deadlines are worse than an error.
MIN_YEAR = 1978
# The last year the library computes (its DEFAULT_END_YEAR): after it the library returns no holidays
# at all rather than an error, which would silently make every weekday a working day.
MAX_YEAR = 2100

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


@dataclass(frozen=True, slots=True)
class OneOffChange:
    """A bank holiday set by royal proclamation rather than by the yearly rules."""

    day: date
    name: str
    # The rule-derived holiday this one replaces (a moved holiday), or None for an extra day.
    replaces: date | None = None


# Applied on top of the library's dates, in this order: a moved holiday's ``replaces`` date is dropped
# and its ``day`` added. Every entry below is also in holidays 0.108, so today they change nothing (the
# 1978-2060 comparison in tests/test_working_days.py shows it); they stay as the portal's own statement
# of the proclamations, so that a library release that lost one would not change a deadline. A newly
# proclaimed holiday is added here the day it is announced; once a library release has it too, the two
# agree and nothing changes.
ONE_OFF_CHANGES: tuple[OneOffChange, ...] = (
    OneOffChange(date(1981, 7, 29), "Royal wedding of the Prince of Wales and Lady Diana Spencer"),
    OneOffChange(date(1995, 5, 8), "Early May bank holiday (VE Day 50th anniversary)", replaces=date(1995, 5, 1)),
    OneOffChange(date(1999, 12, 31), "Millennium celebrations"),
    OneOffChange(date(2002, 6, 3), "Golden Jubilee of Queen Elizabeth II"),
    OneOffChange(date(2002, 6, 4), "Spring bank holiday (moved for the Golden Jubilee)", replaces=date(2002, 5, 27)),
    OneOffChange(date(2011, 4, 29), "Royal wedding of Prince William and Catherine Middleton"),
    OneOffChange(date(2012, 6, 4), "Spring bank holiday (moved for the Diamond Jubilee)", replaces=date(2012, 5, 28)),
    OneOffChange(date(2012, 6, 5), "Diamond Jubilee of Queen Elizabeth II"),
    OneOffChange(date(2020, 5, 8), "Early May bank holiday (VE Day 75th anniversary)", replaces=date(2020, 5, 4)),
    OneOffChange(date(2022, 6, 2), "Spring bank holiday (moved for the Platinum Jubilee)", replaces=date(2022, 5, 30)),
    OneOffChange(date(2022, 6, 3), "Platinum Jubilee of Queen Elizabeth II"),
    OneOffChange(date(2022, 9, 19), "State funeral of Queen Elizabeth II"),
    OneOffChange(date(2023, 5, 8), "Coronation of King Charles III"),
)


def _require_date(value: object, what: str = "date") -> date:
    # datetime is a subclass of date: a UTC timestamp's date can differ from the London date near
    # midnight, so callers must convert to the local calendar date (portal.domain.dates) first.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a datetime.date, not {type(value).__name__}")
    return value


def _require_year(year: int) -> int:
    if year < MIN_YEAR:
        raise ValueError(f"bank holidays before {MIN_YEAR} are not supported (got {year})")
    if year > MAX_YEAR:
        raise ValueError(f"bank holidays after {MAX_YEAR} are not supported (got {year})")
    return year


def easter_sunday(year: int) -> date:
    """Return Easter Sunday in the Gregorian calendar (anonymous Gregorian computus).

    Kept for callers; the bank holidays themselves (Good Friday, Easter Monday) come from the library.
    """
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _library_holidays(year: int) -> set[date]:
    """Return the library's England bank holidays for ``year`` that fall on a weekday."""
    table = holidays.country_holidays("GB", subdiv="ENG", years=year)
    # The library lists a holiday on its own date even at a weekend (Christmas Day on a Saturday) and
    # its substitute weekday as a separate "(observed)" entry; only the weekday is a day off.
    return {d for d in table if d.year == year and d.weekday() < _SATURDAY}


@lru_cache(maxsize=256)
def _shipped_holidays(year: int) -> frozenset[date]:
    days = _library_holidays(_require_year(year))
    for change in ONE_OFF_CHANGES:
        if change.day.year == year:
            if change.replaces is not None:
                days.discard(change.replaces)
            days.add(change.day)
    return frozenset(days)


@dataclass(frozen=True, slots=True, init=False)
class BankHolidays:
    """England and Wales bank holidays: the library plus shipped one-offs, with optional local changes.

    ``extra`` adds days (e.g. a newly proclaimed holiday); ``removed`` drops shipped ones. Both are
    meant for an admin-edited table layered over the shipped data. A holiday that falls at a weekend
    is not itself a day off: only its substitute weekday appears, as on GOV.UK.
    """

    extra: frozenset[date]
    removed: frozenset[date]

    def __init__(self, extra: Iterable[date] = (), removed: Iterable[date] = ()) -> None:
        extra_set = frozenset(_require_date(d, "extra holiday") for d in extra)
        removed_set = frozenset(_require_date(d, "removed holiday") for d in removed)
        for d in extra_set | removed_set:
            _require_year(d.year)
        if clash := extra_set & removed_set:
            # Both adding and removing a day is an editing mistake, not something to resolve silently.
            raise ValueError(f"dates both added and removed: {sorted(clash)}")
        object.__setattr__(self, "extra", extra_set)
        object.__setattr__(self, "removed", removed_set)

    def is_holiday(self, d: date) -> bool:
        """Return whether ``d`` is a bank holiday (a substituted weekend date is not)."""
        _require_date(d)
        if d in self.removed:
            return False
        return d in self.extra or d in _shipped_holidays(d.year)

    def holidays_in(self, year: int) -> list[date]:
        """Return the year's bank holidays in date order."""
        days = set(_shipped_holidays(year))
        days.update(d for d in self.extra if d.year == year)
        days.difference_update(self.removed)
        return sorted(days)


ENGLAND_AND_WALES = BankHolidays()


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Monday to Friday, except bank holidays. Dates only: a deadline means the end of that day."""

    bank_holidays: BankHolidays

    def is_working_day(self, d: date) -> bool:
        """Return whether ``d`` is a Monday to Friday that is not a bank holiday."""
        return _require_date(d).weekday() < _SATURDAY and not self.bank_holidays.is_holiday(d)

    def next_working_day(self, d: date) -> date:
        """Return ``d`` if it is a working day, else the first working day after it."""
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """Return the deadline for "within ``n`` working days" of ``start``.

        Convention (docs/working-days.md#within-n-working-days, Trafford and Bolton): the trigger day
        is day 0 and the deadline is the ``n``-th working day after it, because the day something is
        sent is rarely a full day to act on. A trigger on a weekend or bank holiday is treated as
        arriving on the next working day, which then is day 0: nobody can act on a notice sent on a
        Saturday until Monday.
        So the result is always a working day, and ``n == 0`` gives the next working day.
        Example: Thu 18 Dec 2025 + 10 gives Tue 6 Jan 2026.
        """
        if n < 0:
            raise ValueError(f"n must not be negative (got {n})")
        day = self.next_working_day(start)
        for _ in range(n):
            day = self.next_working_day(day + _ONE_DAY)
        return day

    def day_n(self, day_one: date, n: int, *, working: bool = True) -> date:
        """Return the date of Pan Cheshire's ordinal "Day ``n``" for a concern arising on ``day_one``.

        Convention (docs/working-days.md#day-n): Day 1 is the day the concern arises, moved to the next
        working day if it is not one, in both modes. With ``working=True`` (the default, because
        Step 1 is "within one working day") Day ``n`` is the (``n``-1)-th working day after Day 1.
        With ``working=False`` (a per-partnership setting) it is ``n``-1 calendar days after Day 1
        and the date is kept as computed even when it falls at a weekend or on a bank holiday: moving
        it would silently turn the partnership's calendar-day timescale into something else.
        Example: concern Mon 1 Dec 2025 gives Day 14 = Thu 18 Dec (working) or Sun 14 Dec (calendar).
        """
        if n < 1:
            raise ValueError(f"day numbers start at 1 (got {n})")
        first = self.next_working_day(day_one)
        if working:
            return self.add_working_days(first, n - 1)
        return first + timedelta(days=n - 1)

    def working_days_between(self, a: date, b: date) -> int:
        """Return the number of working days after ``a`` up to and including ``b``.

        Negative when ``b`` is before ``a`` (the count from ``b`` to ``a``, negated), so that
        ``between(a, b) + between(b, c) == between(a, c)``. For a working-day ``a`` this inverts
        ``add_working_days``; for a non-working ``a`` it counts the next working day as 1, whereas
        ``add_working_days`` counts it as 0; use ``within_working_days`` to check a deadline.
        """
        _require_date(a)
        _require_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        # Arithmetic rather than a day-by-day walk: reports may span years.
        weeks, rest = divmod((b - a).days, 7)
        weekdays = weeks * 5 + sum((a.weekday() + i) % 7 < _SATURDAY for i in range(1, rest + 1))
        holidays = sum(
            a < h <= b and h.weekday() < _SATURDAY
            for year in range(a.year, b.year + 1)
            for h in self.bank_holidays.holidays_in(year)
        )
        return weekdays - holidays

    def within_working_days(self, start: date, due: date, limit: int) -> bool:
        """Return whether ``due`` is on or after ``start`` and no later than ``limit`` working days after it.

        Used for Trafford's cap ("an agreed due date must be ≤ 10 working days from stage start").
        The cap is ``add_working_days(start, limit)``, so a stage starting on a non-working day gets
        the same allowance as one starting on the next working day. A due date at a weekend before
        the cap is allowed: it is earlier than the latest permitted date.
        """
        if limit < 0:
            raise ValueError(f"limit must not be negative (got {limit})")
        return _require_date(start) <= _require_date(due) <= self.add_working_days(start, limit)


ENGLAND_AND_WALES_CALENDAR = WorkingCalendar(ENGLAND_AND_WALES)
