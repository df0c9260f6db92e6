"""How long each partnership keeps each class of record before it is crypto-shredded (docs/retention.md#rules).

The default for an escalation notice is the later of the child's 25th birthday and six years after the notice
closed: at least as long as the shortest contributing agency record (the NHS keeps children's records to the
25th birthday), and long enough for a child safeguarding practice review to look back. A notice with no
known date of birth is kept six years after closure. An open notice is never due, and neither is a notice on
legal hold (an inquiry, litigation: IICSA kept a moratorium on destroying records for years).

Each partnership's information governance leads must sign off its rules: a partnership's package sets its rule
(``PartnershipSpec.retention``), DEFAULT until they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The record classes the portal holds. Only notices so far; drafts are never submitted records.
NOTICE = "escalation-notice"


@dataclass(frozen=True)
class RetentionRule:
    """Keep a record `years_after_closure` years after it closed, and (when the child's date of birth is known)
    at least until the child's birthday at age `until_age`."""

    years_after_closure: int
    until_age: int | None = None

    def retain_until(self, *, closed_on: date, dob: date | None) -> date:
        """The first day the record may be destroyed."""
        until = add_years(closed_on, self.years_after_closure)
        if self.until_age is not None and dob is not None:
            until = max(until, add_years(dob, self.until_age))
        return until


DEFAULT = RetentionRule(years_after_closure=6, until_age=25)


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 1 March in a common year (the later day, so a record
    is never destroyed early, and the day English law takes as a leap-day birthday)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)
