"""Dates as people in England read them: Europe/London, "23 November 2026"."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_today() -> date:
    return datetime.now(LONDON).date()


def long_date(value: date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def long_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"
