"""Typed input for notice PDFs: everything a layout needs, already formatted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

# Notices are read by English partnerships, so issue times print in UK civil time.
DISPLAY_TZ = ZoneInfo("Europe/London")

FIELD_KEYS: tuple[str, ...] = (
    "date_of_notification",
    "child_name",
    "child_dob",
    "nhs_number",
    "p_number",
    "completed_by_name",
    "completed_by_role",
    "completed_by_agency_team",
    "completed_by_contact",
    "sent_to_1",
    "sent_to_2",
    "summary_of_disagreement",
    "informal_challenge_evidence",
    "desired_outcome",
    "stage3_date_resolved",
    "stage3_evidence",
    "stage4_date_resolved",
    "stage4_evidence",
)


@dataclass(frozen=True, slots=True)
class NoticeContext:
    """Hold the display data for one rendered version of a notice.

    ``fields`` holds already-formatted display strings keyed by ``FIELD_KEYS``;
    a missing or empty key prints as blank.
    """

    reference: str
    form_title: str
    version: int
    issued_at: datetime
    partnership_name: str
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be timezone-aware (UTC)")
        if self.version < 1:
            raise ValueError("version starts at 1")
        unknown = set(self.fields) - set(FIELD_KEYS)
        if unknown:
            # A typo in a key would otherwise silently print a blank box on a legal notice.
            raise ValueError(f"unknown notice field(s): {sorted(unknown)}")
        # Frozen means frozen: copy so later edits to the caller's dict cannot change a render.
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def value(self, key: str) -> str:
        """Return the display string for ``key``, or "" when absent."""
        if key not in FIELD_KEYS:
            raise KeyError(key)
        return self.fields.get(key) or ""

    @property
    def issued_display(self) -> str:
        """Return the issue time in Europe/London, e.g. "23 November 2026 14:05"."""
        local = self.issued_at.astimezone(DISPLAY_TZ)
        return f"{local.day} {local:%B %Y %H:%M}"
