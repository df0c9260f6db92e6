"""Working days: E&W bank holidays computed offline, and the counting conventions of domain.md §4.6."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain import working_days
from portal.domain.working_days import (
    ENGLAND_AND_WALES,
    ENGLAND_AND_WALES_CALENDAR,
    MAX_YEAR,
    MIN_YEAR,
    ONE_OFF_CHANGES,
    BankHolidays,
    OneOffChange,
    WorkingCalendar,
    _library_holidays,
    easter_sunday,
)

CAL = ENGLAND_AND_WALES_CALENDAR


def dates(year: int, *month_days: tuple[int, int]) -> list[date]:
    return [date(year, m, d) for m, d in month_days]


# --- Worked examples (domain.md §4.6) -------------------------------------------------------------


def test_rpde_sent_thu_18_dec_2025_plus_10_wd_is_due_tue_6_jan_2026() -> None:
    assert CAL.add_working_days(date(2025, 12, 18), 10) == date(2026, 1, 6)


def test_trafford_stage_from_fri_27_mar_2026_plus_10_wd_is_due_tue_14_apr_2026() -> None:
    assert CAL.add_working_days(date(2026, 3, 27), 10) == date(2026, 4, 14)


def test_pan_cheshire_concern_mon_1_dec_2025_day_3_is_wed_3_dec() -> None:
    assert CAL.day_n(date(2025, 12, 1), 3) == date(2025, 12, 3)


def test_pan_cheshire_concern_mon_1_dec_2025_day_9_is_thu_11_dec() -> None:
    assert CAL.day_n(date(2025, 12, 1), 9) == date(2025, 12, 11)


def test_pan_cheshire_concern_mon_1_dec_2025_day_14_is_thu_18_dec() -> None:
    assert CAL.day_n(date(2025, 12, 1), 14) == date(2025, 12, 18)


def test_pan_cheshire_concern_mon_1_dec_2025_day_16_is_mon_22_dec() -> None:
    assert CAL.day_n(date(2025, 12, 1), 16) == date(2025, 12, 22)


def test_pan_cheshire_concern_mon_1_dec_2025_day_21_is_wed_31_dec() -> None:
    assert CAL.day_n(date(2025, 12, 1), 21) == date(2025, 12, 31)


def test_pan_cheshire_calendar_day_14_is_kept_on_sunday_14_dec() -> None:
    # domain.md: "Read as calendar days, Day 14 would fall on a Sunday"; the date is not moved.
    assert CAL.day_n(date(2025, 12, 1), 14, working=False) == date(2025, 12, 14)


# --- Holiday tables --------------------------------------------------------------------------------

DOMAIN_TABLE = {
    2024: dates(2024, (1, 1), (3, 29), (4, 1), (5, 6), (5, 27), (8, 26), (12, 25), (12, 26)),
    2025: dates(2025, (1, 1), (4, 18), (4, 21), (5, 5), (5, 26), (8, 25), (12, 25), (12, 26)),
    2026: dates(2026, (1, 1), (4, 3), (4, 6), (5, 4), (5, 25), (8, 31), (12, 25), (12, 28)),
    2027: dates(2027, (1, 1), (3, 26), (3, 29), (5, 3), (5, 31), (8, 30), (12, 27), (12, 28)),
    2028: dates(2028, (1, 3), (4, 14), (4, 17), (5, 1), (5, 29), (8, 28), (12, 25), (12, 26)),
}


@pytest.mark.parametrize("year", sorted(DOMAIN_TABLE), ids=str)
def test_holidays_match_domain_table(year: int) -> None:
    assert ENGLAND_AND_WALES.holidays_in(year) == DOMAIN_TABLE[year]


ONE_OFF_YEARS = {
    2011: dates(2011, (1, 3), (4, 22), (4, 25), (4, 29), (5, 2), (5, 30), (8, 29), (12, 26), (12, 27)),
    2012: dates(2012, (1, 2), (4, 6), (4, 9), (5, 7), (6, 4), (6, 5), (8, 27), (12, 25), (12, 26)),
    2020: dates(2020, (1, 1), (4, 10), (4, 13), (5, 8), (5, 25), (8, 31), (12, 25), (12, 28)),
    2022: dates(2022, (1, 3), (4, 15), (4, 18), (5, 2), (6, 2), (6, 3), (8, 29), (9, 19), (12, 26), (12, 27)),
    2023: dates(2023, (1, 2), (4, 7), (4, 10), (5, 1), (5, 8), (5, 29), (8, 28), (12, 25), (12, 26)),
}


@pytest.mark.parametrize("year", sorted(ONE_OFF_YEARS), ids=str)
def test_holidays_in_one_off_years(year: int) -> None:
    assert ENGLAND_AND_WALES.holidays_in(year) == ONE_OFF_YEARS[year]


def test_moved_holidays_are_no_longer_holidays() -> None:
    for moved in (date(2020, 5, 4), date(2022, 5, 30), date(2012, 5, 28)):
        assert not ENGLAND_AND_WALES.is_holiday(moved)
        assert CAL.is_working_day(moved)


def test_every_one_off_replaces_a_rule_date_and_lands_on_a_weekday() -> None:
    # Guards the shipped table against typos: a "replaces" date the rules never produce would do nothing.
    for change in ONE_OFF_CHANGES:
        assert change.day.weekday() < 5, change
        if change.replaces is not None:
            assert change.replaces.year == change.day.year, change
            assert change.replaces.weekday() == 0, change


def test_weekend_originals_are_not_holidays() -> None:
    assert not ENGLAND_AND_WALES.is_holiday(date(2027, 12, 25))  # Saturday
    assert not ENGLAND_AND_WALES.is_holiday(date(2027, 12, 26))  # Sunday
    assert not ENGLAND_AND_WALES.is_holiday(date(2028, 1, 1))  # Saturday


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2000, date(2000, 4, 23)), (2008, date(2008, 3, 23)), (2011, date(2011, 4, 24)), (2038, date(2038, 4, 25))],
    ids=str,
)
def test_easter_sunday(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def test_years_before_1978_are_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        ENGLAND_AND_WALES.holidays_in(MIN_YEAR - 1)
    with pytest.raises(ValueError, match="not supported"):
        CAL.is_working_day(date(1977, 6, 7))


# --- Layered admin changes -------------------------------------------------------------------------


def test_extra_and_removed_dates_are_layered_over_the_shipped_table() -> None:
    proclaimed = date(2027, 6, 7)
    edited = BankHolidays(extra=[proclaimed], removed=[date(2027, 5, 31)])
    assert edited.is_holiday(proclaimed)
    assert not edited.is_holiday(date(2027, 5, 31))
    assert edited.holidays_in(2027) == sorted({*DOMAIN_TABLE[2027], proclaimed} - {date(2027, 5, 31)})
    # The shipped instance is untouched.
    assert not ENGLAND_AND_WALES.is_holiday(proclaimed)
    assert WorkingCalendar(edited).add_working_days(date(2027, 6, 4), 1) == date(2027, 6, 8)


def test_bank_holidays_is_frozen_and_hashable() -> None:
    edited = BankHolidays(extra=[date(2027, 6, 7)])
    with pytest.raises(AttributeError):
        edited.extra = frozenset()  # type: ignore[misc]
    assert edited == BankHolidays(extra={date(2027, 6, 7)})
    assert hash(edited) == hash(BankHolidays(extra=(date(2027, 6, 7),)))


def test_a_date_both_added_and_removed_is_refused() -> None:
    with pytest.raises(ValueError, match="both added and removed"):
        BankHolidays(extra=[date(2027, 6, 7)], removed=[date(2027, 6, 7)])


def test_datetimes_are_refused() -> None:
    # A UTC timestamp's date is not necessarily the London date; callers convert first.
    with pytest.raises(TypeError):
        CAL.add_working_days(datetime(2026, 3, 27, 23, 30), 10)
    with pytest.raises(TypeError):
        BankHolidays(extra=[datetime(2027, 6, 7, 0, 0)])


# --- Counting conventions --------------------------------------------------------------------------


def test_trigger_on_a_saturday_counts_from_monday_as_day_0() -> None:
    assert CAL.add_working_days(date(2026, 3, 28), 0) == date(2026, 3, 30)
    assert CAL.add_working_days(date(2026, 3, 28), 10) == date(2026, 4, 15)
    assert CAL.add_working_days(date(2026, 3, 30), 10) == date(2026, 4, 15)


def test_zero_working_days_on_a_working_day_is_the_same_day() -> None:
    assert CAL.add_working_days(date(2026, 3, 27), 0) == date(2026, 3, 27)


def test_next_working_day_skips_weekend_and_christmas() -> None:
    assert CAL.next_working_day(date(2026, 12, 25)) == date(2026, 12, 29)
    assert CAL.next_working_day(date(2026, 12, 24)) == date(2026, 12, 24)


def test_day_1_moves_to_the_next_working_day() -> None:
    assert CAL.day_n(date(2026, 4, 3), 1) == date(2026, 4, 7)  # Good Friday → Tuesday after Easter
    assert CAL.day_n(date(2026, 4, 3), 1, working=False) == date(2026, 4, 7)
    assert CAL.day_n(date(2026, 4, 3), 3, working=False) == date(2026, 4, 9)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 1, 5), -1)
    with pytest.raises(ValueError):
        CAL.day_n(date(2026, 1, 5), 0)
    with pytest.raises(ValueError):
        CAL.within_working_days(date(2026, 1, 5), date(2026, 1, 5), -1)


def test_trafford_due_date_cap_of_10_working_days() -> None:
    start = date(2026, 3, 27)
    assert CAL.within_working_days(start, date(2026, 4, 14), 10)
    assert not CAL.within_working_days(start, date(2026, 4, 15), 10)
    assert CAL.within_working_days(start, date(2026, 4, 11), 10)  # a Saturday before the cap
    assert CAL.within_working_days(start, start, 10)
    assert not CAL.within_working_days(start, date(2026, 3, 26), 10)  # before the stage started


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2025, 12, 18), date(2026, 1, 6)) == 10
    assert CAL.working_days_between(date(2026, 1, 6), date(2025, 12, 18)) == -10
    assert CAL.working_days_between(date(2026, 4, 3), date(2026, 4, 6)) == 0  # Good Friday to Easter Monday
    assert CAL.working_days_between(date(2026, 3, 28), date(2026, 3, 30)) == 1  # Saturday to Monday


# --- Properties ------------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31))
COUNTS = st.integers(min_value=0, max_value=60)


@settings(max_examples=500, deadline=None)
@given(start=DAYS, n=COUNTS)
def test_deadlines_are_working_days_monotonic_and_invert_between(start: date, n: int) -> None:
    due, later = CAL.add_working_days(start, n), CAL.add_working_days(start, n + 1)
    assert CAL.is_working_day(due) and CAL.is_working_day(later)
    assert start <= due < later
    if CAL.is_working_day(start):
        assert CAL.working_days_between(start, due) == n
    assert CAL.within_working_days(start, due, n)
    assert not CAL.within_working_days(start, due + timedelta(days=1), n)

    day, next_day = CAL.day_n(start, n + 1), CAL.day_n(start, n + 2)
    assert CAL.is_working_day(day) and CAL.is_working_day(next_day)
    assert start <= day < next_day


@settings(max_examples=500, deadline=None)
@given(a=DAYS, span=st.integers(min_value=-120, max_value=120))
def test_working_days_between_matches_a_day_by_day_count(a: date, span: int) -> None:
    b = a + timedelta(days=span)
    low, high = min(a, b), max(a, b)
    walk = sum(CAL.is_working_day(low + timedelta(days=i)) for i in range(1, (high - low).days + 1))
    assert CAL.working_days_between(a, b) == (walk if b >= a else -walk)


# --- Frozen table ----------------------------------------------------------------------------------

FROZEN_TABLE = Path(__file__).parent / "data" / "bank_holidays_england_1978_2060.txt"


def frozen_holidays() -> dict[int, list[date]]:
    """The dates the hand-written rules gave for 1978-2060, frozen before they were replaced."""
    by_year: dict[int, list[date]] = {year: [] for year in range(1978, 2061)}
    for line in FROZEN_TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            day = date.fromisoformat(line)
            by_year[day.year].append(day)
    return by_year


# Years where the calendar deliberately differs from the frozen table, as {year: (dropped, added)}, each
# with the reason and which source is right. None with holidays 0.108: it already has every one-off the
# old rules shipped (1981-07-29, 1995-05-08 for 05-01, 1999-12-31, 2002-06-03/04 for 05-27, 2011-04-29,
# 2012-06-04/05 for 05-28, 2020-05-08 for 05-04, 2022-06-02/03 for 05-30, 2022-09-19, 2023-05-08), and
# substitutes Christmas on a Sunday on the Tuesday after a Monday Boxing Day (2022, 2033, ...) as the old
# rules did. A holiday proclaimed later is added to ONE_OFF_CHANGES and recorded here.
DIFFERENCES_FROM_FROZEN_TABLE: dict[int, tuple[list[date], list[date]]] = {}


def _differences(calendar_year: Callable[[int], list[date]]) -> dict[int, tuple[list[date], list[date]]]:
    frozen = frozen_holidays()
    assert sum(map(len, frozen.values())) > 80 * 8  # the file is whole, not truncated
    return {
        year: (sorted(set(frozen[year]) - set(got)), sorted(set(got) - set(frozen[year])))
        for year in frozen
        if (got := calendar_year(year)) != frozen[year]
    }


def test_every_year_1978_to_2060_matches_the_frozen_table() -> None:
    assert _differences(ENGLAND_AND_WALES.holidays_in) == DIFFERENCES_FROM_FROZEN_TABLE


def test_the_library_alone_matches_the_frozen_table() -> None:
    # Without the portal's one-off overrides: a library upgrade that changes a date shows up here.
    assert _differences(lambda year: sorted(_library_holidays(year))) == DIFFERENCES_FROM_FROZEN_TABLE


def test_wales_has_the_same_bank_holidays_as_england_in_the_library() -> None:
    # The calendar is named England and Wales but asks the library for subdivision ENG.
    for year in range(MIN_YEAR, 2061):
        england = holidays.country_holidays("GB", subdiv="ENG", years=year)
        assert set(england) == set(holidays.country_holidays("GB", subdiv="WLS", years=year)), year


def test_every_one_off_agrees_with_the_library_or_is_newer() -> None:
    # An override either restates what the library already has, or is newer than the pinned release (the
    # library still has the date it replaces and lacks the new one). Anything else is a typo, or the
    # library and the proclamation disagree, and must be looked into rather than silently layered.
    for change in ONE_OFF_CHANGES:
        library = _library_holidays(change.day.year)
        known = change.day in library and (change.replaces is None or change.replaces not in library)
        newer = change.day not in library and (change.replaces is None or change.replaces in library)
        assert known or newer, change


def test_a_proclaimed_change_is_applied_on_top_of_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if a 2027 Spring bank holiday were moved a week for an event the library does not know yet.
    moved = OneOffChange(date(2027, 6, 7), "Spring bank holiday (moved)", replaces=date(2027, 5, 31))
    extra = OneOffChange(date(2027, 6, 8), "An extra bank holiday")
    monkeypatch.setattr(working_days, "ONE_OFF_CHANGES", (*ONE_OFF_CHANGES, moved, extra))
    working_days._shipped_holidays.cache_clear()
    try:
        assert ENGLAND_AND_WALES.holidays_in(2027) == sorted(
            {*DOMAIN_TABLE[2027], date(2027, 6, 7), date(2027, 6, 8)} - {date(2027, 5, 31)}
        )
        assert CAL.add_working_days(date(2027, 6, 4), 1) == date(2027, 6, 9)
    finally:
        monkeypatch.undo()
        working_days._shipped_holidays.cache_clear()
    assert ENGLAND_AND_WALES.holidays_in(2027) == DOMAIN_TABLE[2027]


def test_years_after_the_library_range_are_refused() -> None:
    assert holidays.country_holidays("GB", subdiv="ENG").end_year >= MAX_YEAR
    assert ENGLAND_AND_WALES.holidays_in(MAX_YEAR)
    with pytest.raises(ValueError, match="not supported"):
        ENGLAND_AND_WALES.holidays_in(MAX_YEAR + 1)
    with pytest.raises(ValueError, match="not supported"):
        CAL.is_working_day(date(MAX_YEAR + 1, 6, 7))


def test_holidays_are_computed_offline_and_cached_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the bank-holiday calendar opened a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    working_days._shipped_holidays.cache_clear()
    assert ENGLAND_AND_WALES.holidays_in(2031)
    calls = []
    monkeypatch.setattr(working_days, "_library_holidays", lambda year: calls.append(year) or set())
    for _ in range(3):
        CAL.working_days_between(date(2031, 1, 1), date(2031, 12, 31))
    assert calls == []  # 2031 was asked of the library once, above
