"""Dates as people in England read them (Europe/London): the one place dates are formatted for pages, PDFs and
e-mails, and "today" for every clock."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_today() -> date:
    return datetime.now(LONDON).date()


class Clock:
    """Today in England, for every stage clock, due date and list. The app holds one (PortalServices.clock);
    a test sets ``fixed`` to the day it needs rather than patching a module."""

    def __init__(self, fixed: date | None = None) -> None:
        self.fixed = fixed

    def today(self) -> date:
        return self.fixed or london_today()


def long_date(value: date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def long_datetime(value: datetime | None, *, separator: str = " at ") -> str:
    """A moment in England: "23 November 2026 at 14:05" (a PDF's issue line uses a plain space)."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{local.day} {local:%B %Y}{separator}{local:%H:%M}"


def format_date(value: date) -> str:
    """Return a date with its weekday, as timelines and e-mails print it: "Tue 14 April 2026"."""
    # Built by hand: strftime's "%-d" (no leading zero) is not portable.
    return f"{value:%a} {value.day} {value:%B %Y}"


def local_day(value: datetime | None) -> str:
    """Return the day a UTC timestamp fell on in England, as a long date ("" for none)."""
    return long_date(value.astimezone(LONDON).date()) if value else ""
