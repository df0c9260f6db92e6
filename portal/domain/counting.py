"""How many a list holds, counted only so far: a page's work must not grow with the size of the table.

A list page counts what it lists (a partnership's notices, an agency's, the overdue ones, the audit trail's
entries) by reading their rows or index entries. Counted to the end, that is a read of every one: at 100,000
notices the business list's count was most of the page's database time, and it grew with every notice raised.
So a count stops at a cap (the list's own: portal.services.casework, portal.services.administration) and the
page then says "more than": the exact figures a business unit reports are the reports' (issue 11).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Count:
    """A count up to a cap: ``more`` when there are more than ``value`` (which is then the cap)."""

    value: int
    more: bool = False

    @classmethod
    def of(cls, found: int, cap: int) -> Count:
        """The count of a query that read at most ``cap + 1`` rows and found ``found``."""
        return cls(min(found, cap), found > cap)

    def __bool__(self) -> bool:
        return self.value > 0

    def __str__(self) -> str:
        return f"more than {self.value:,}" if self.more else f"{self.value:,}"
