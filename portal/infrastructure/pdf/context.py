"""Typed input for notice PDFs: everything a layout needs, already formatted.

A layout never sees a database row or a raw answer: ``fields`` holds the notice form's answers as
display strings, ``stages`` one record per stage the notice has been at (with what happened there),
and ``closure`` what was recorded when the notice closed. Each layout declares the field keys it
prints (``NoticeLayout.field_keys`` in ``portal.infrastructure.pdf``); an answer outside them is refused, because a
typo in a key would otherwise print a blank box on a legal notice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from portal.domain.dates import long_datetime

# Keys of ``NoticeContext.closure`` (docs/procedures.md#rule-17), as the close form records them.
CLOSURE_KEYS: tuple[str, ...] = (
    "agreed_outcome",
    "written_confirmation",
    "impact_on_child",
    "debrief",
    "learning",
    "closed_on",
)

# What a business-unit copy prints in place of a child identifier (Trafford's pseudonymous copy).
WITHHELD = "Withheld from the partnership's copy"


@dataclass(frozen=True, slots=True)
class StageRecord:
    """One stage of the notice's life, formatted for print. Dates are display strings ("" when not yet)."""

    code: str
    name: str
    # When the notice entered the stage, and the date the stage must conclude by ("" for no deadline).
    started: str
    due: str
    # "Open", "Escalated", "Resolved" or "Closed".
    status: str
    # Where the stage went: the agencies or contacts told on entry.
    sent_to: str = ""
    acknowledged: str = ""
    responded: str = ""
    # The recipient's response at this stage: the outcome and its rationale, and the actions agreed.
    response: str = ""
    agreed_actions: str = ""
    # Filled when the stage ended: the date, and, when it was escalated, what was left unresolved.
    ended: str = ""
    escalation_reason: str = ""
    # Set when the notice reached this stage by skipping earlier ones (Trafford "straight to stage 3-4").
    skip_reason: str = ""
    # Dates the responder was chased for a late response (Bolton's BSCP log).
    chases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    """A piece of evidence attached to the notice, as listed on it: never its content."""

    id: str
    name: str
    kind: str
    size: int
    sha256: str
    stage: str
    added: str
    added_by: str = ""

    @property
    def size_label(self) -> str:
        """812 bytes, 120 KB, 3.4 MB."""
        if self.size < 1024:
            return f"{self.size} bytes"
        if self.size < 1024 * 1024:
            return f"{self.size / 1024:.0f} KB"
        return f"{self.size / 1024 / 1024:.1f} MB"


@dataclass(frozen=True, slots=True)
class NoticeContext:
    """Hold the display data for one rendered version of a notice."""

    reference: str
    form_title: str
    version: int
    issued_at: datetime
    partnership_name: str
    fields: Mapping[str, str] = field(default_factory=dict)
    stages: tuple[StageRecord, ...] = ()
    closure: Mapping[str, str] = field(default_factory=dict)
    # Set by portal.infrastructure.pdf.render from the layout: the answers this layout prints.
    field_keys: frozenset[str] | None = None
    # The business unit's pseudonymous copy (identifiers replaced by WITHHELD) or the parties' full copy.
    copy: str = "full"
    # Evidence attached so far, listed by name, size and SHA-256 after the form.
    attachments: tuple[AttachmentRecord, ...] = ()

    def __post_init__(self) -> None:
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be timezone-aware (UTC)")
        if self.version < 1:
            raise ValueError("version starts at 1")
        if self.field_keys is not None and (unknown := set(self.fields) - self.field_keys):
            # A typo in a key would otherwise silently print a blank box on a legal notice.
            raise ValueError(f"unknown notice field(s): {sorted(unknown)}")
        if unknown_closure := set(self.closure) - set(CLOSURE_KEYS):
            raise ValueError(f"unknown closure field(s): {sorted(unknown_closure)}")
        if self.copy not in ("full", "business-unit"):
            raise ValueError(f"copy is 'full' or 'business-unit', not {self.copy!r}")
        # Frozen means frozen: copy so later edits to the caller's dict cannot change a render.
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "closure", MappingProxyType(dict(self.closure)))
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(self, "attachments", tuple(self.attachments))

    def value(self, key: str) -> str:
        """Return the display string for ``key``, or "" when absent."""
        if self.field_keys is not None and key not in self.field_keys:
            raise KeyError(key)
        return self.fields.get(key) or ""

    def stage(self, code: str) -> StageRecord | None:
        """Return the record of stage ``code``, or None if the notice has not been at it."""
        for record in self.stages:
            if record.code == code:
                return record
        return None

    def closed(self, key: str) -> str:
        """Return a closure answer (``CLOSURE_KEYS``), or "" while the notice is open."""
        if key not in CLOSURE_KEYS:
            raise KeyError(key)
        return self.closure.get(key) or ""

    @property
    def issued_display(self) -> str:
        """Return the issue time in Europe/London, e.g. "23 November 2026 14:05"."""
        # Notices are read by English partnerships, so issue times print in UK civil time.
        return long_datetime(self.issued_at, separator=" ")


def context_to_json(context: NoticeContext) -> bytes:
    """The context as JSON, to be sealed and rendered later exactly as it stands now (a version is what the notice
    said when it was issued, whenever the PDF is drawn). ``field_keys`` is the layout's, set again at render."""
    data: dict[str, Any] = {
        "reference": context.reference,
        "form_title": context.form_title,
        "version": context.version,
        "issued_at": context.issued_at.isoformat(),
        "partnership_name": context.partnership_name,
        "fields": dict(context.fields),
        "stages": [asdict(stage) for stage in context.stages],
        "closure": dict(context.closure),
        "copy": context.copy,
        "attachments": [asdict(attachment) for attachment in context.attachments],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def context_from_json(raw: bytes) -> NoticeContext:
    """The context context_to_json wrote; the constructor's checks run again."""
    data = json.loads(raw)
    return NoticeContext(
        reference=data["reference"],
        form_title=data["form_title"],
        version=data["version"],
        issued_at=datetime.fromisoformat(data["issued_at"]),
        partnership_name=data["partnership_name"],
        fields=data["fields"],
        stages=tuple(StageRecord(**{**s, "chases": tuple(s["chases"])}) for s in data["stages"]),
        closure=data["closure"],
        copy=data["copy"],
        attachments=tuple(AttachmentRecord(**a) for a in data["attachments"]),
    )
