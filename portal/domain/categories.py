"""Codes that reports count: each partnership's own lists, the common taxonomy they map to, and closure outcomes.

A partnership's lists live in its package (``notice.py``, as ``CodeList``s on its ``NoticeDefinition``); this
module holds only what every partnership shares. The codes are not child identifiers and not narrative: they
are stored as plain columns (``notice_category``, ``notice.outcome_code``) so that reports count them with SQL
and never decrypt a notice (docs/categories.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# What a report shows for a notice raised before codes were recorded, or closed before outcomes were.
NOT_RECORDED = "not-recorded"
NOT_RECORDED_LABEL = "Not recorded"

# The learning answer stored when the closer said no general issues were identified.
NO_LEARNING = "No general issues identified"

# The common cross-partnership taxonomy (docs/categories.md), so regional roll-ups count like with like.
COMMON_THEMES: tuple[tuple[str, str], ...] = (
    ("thresholds", "Thresholds and level of need"),
    ("referral-not-accepted", "Referral not accepted"),
    ("assessment-quality", "Quality of assessment"),
    ("plan-progress", "Plan progress or drift"),
    ("strategy-s47", "Strategy discussion or section 47 decision"),
    ("cp-conference", "Child protection conference decision"),
    ("looked-after-care-planning", "Care planning for looked-after children"),
    ("information-sharing", "Information sharing"),
    ("attendance-engagement", "Attendance and engagement of professionals"),
    ("timeliness", "Timeliness of plans and minutes"),
    ("roles-responsibilities", "Roles and responsibilities"),
    ("other", "Other"),
)
COMMON_LABELS: dict[str, str] = dict(COMMON_THEMES)

# The outcome recorded when a notice closes (docs/categories.md#outcomes).
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("resolved-by-agreement", "Resolved by agreement"),
    ("decision-changed", "Decision changed"),
    ("referral-accepted", "Referral accepted"),
    ("meeting-convened", "Strategy meeting or child protection conference convened"),
    ("no-change", "No change, with reasons given"),
    ("withdrawn", "Withdrawn"),
    ("referred-to-partnership", "Referred to the partnership or an independent panel"),
)
OUTCOME_LABELS: dict[str, str] = dict(OUTCOMES)


# A notice's common themes are also stored once each, as rows of this pseudo-list ("theme:<code>"), so a report
# counts each notice once per theme with the same single query as the partnership's own lists.
THEME_PREFIX = "theme:"


class CodeListError(ValueError):
    """A partnership's code list is malformed (a programming error in its package)."""


@dataclass(frozen=True)
class CodeList:
    """One of a partnership's own code lists, asked on its form as a choice field.

    ``common`` maps each code to a common theme; a list that is a level rather than a theme (Bolton's
    Framework for Action level) maps nothing and is reported on its own codes only.
    """

    field: str
    title: str
    codes: Sequence[tuple[str, str]]
    common: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        own = [code for code, _ in self.codes]
        if len(own) != len(set(own)):
            raise CodeListError(f"{self.field}: a code appears twice")
        if self.common is not None:
            if set(self.common) != set(own):
                raise CodeListError(f"{self.field}: every code, and only its codes, must map to a common theme")
            unknown = set(self.common.values()) - set(COMMON_LABELS)
            if unknown:
                raise CodeListError(f"{self.field}: unknown common themes {sorted(unknown)}")

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.codes)

    def common_for(self, code: str) -> str | None:
        """The common theme a code maps to (None for a level list or a code not on the list)."""
        return self.common.get(code) if self.common is not None else None


def label_of(code_list: CodeList | None, code: str) -> str:
    """A code's label for people, "Not recorded" for the notices raised before codes were."""
    if code == NOT_RECORDED:
        return NOT_RECORDED_LABEL
    if code_list is None:
        return COMMON_LABELS.get(code, code)
    return code_list.labels.get(code, code)


def outcome_label(code: str | None) -> str:
    return OUTCOME_LABELS.get(code or "", NOT_RECORDED_LABEL)
