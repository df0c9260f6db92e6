"""What the portal knows about one partnership's notice form, apart from how a browser shows it.

Each partnership's ``notice.py`` declares a ``NoticeDefinition``: the form's sections in the seed's order, which
answers route the notice (directory contacts or agencies), which identify the child, which are dates, where the
notice starts in the procedure and what the portal pre-fills. The services work from this alone; the web layer's
form class (the partnership's ``form.py``) asks the questions and must declare the same fields
(``tests/partnerships/test_definitions.py`` holds the two together).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from portal.domain.categories import CodeList
from portal.domain.dates import long_date

YES_NO: tuple[tuple[str, str], ...] = (("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class Section:
    """A heading and the fields under it, as the partnership's form prints them."""

    heading: str
    fields: Sequence[str]
    anchor: str


@dataclass(frozen=True)
class Entry:
    """The stage a notice is raised at, and the stage skipped from (with its stated reason) if any."""

    stage: str
    skipped_from: str | None = None
    skip_reason: str = ""


@dataclass(frozen=True)
class NoticeDefinition:
    """One partnership's notice: its fields and what each means to the procedure."""

    code: str
    title: str
    sections: Sequence[Section]
    # Fields holding a directory contact id; the notice is routed to these contacts.
    recipient_fields: Sequence[str]
    # The stage a notice on this form is raised at, in the procedure's words.
    initial_stage: str
    date_of_notification_field: str
    # Fields whose answer is a date (stored as ISO 8601).
    date_fields: Sequence[str] = field(default_factory=tuple)
    # Answers that identify the child: never shown in lists, e-mails or logs.
    identifier_fields: Sequence[str] = field(default_factory=tuple)
    prefill: Callable[[Any], dict[str, str]] | None = None
    # Fields holding an agency id (not a contact): the procedure's stage rules pick that agency's
    # contacts from the directory (Halton's tiers).
    agency_fields: Sequence[str] = field(default_factory=tuple)
    # The date field that is "Day 1" for the procedure's clocks (Pan Cheshire); default the notification date.
    concern_date_field: str | None = None
    # Where the notice starts, from the answers (Trafford may go straight to stage 3-4 with a reason).
    entry: Callable[[dict[str, str]], Entry] | None = None
    # True when the partnership's copy must not carry the child's identifiers (Trafford, seed 002).
    pseudonymous_copy: bool = False
    # Fields the seed does not print: proposals the partnership may adjust (docs/procedures.md).
    proposed_fields: Sequence[str] = field(default_factory=tuple)
    # Choice fields whose stored value is a code: the label to show for each code.
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # The partnership's own code lists among its choice fields, stored as plain codes for reports
    # (portal.domain.categories, docs/categories.md).
    code_lists: Sequence[CodeList] = field(default_factory=tuple)
    # What the partnership's procedure calls the form ("Appendix 1", "Appendix A"): the form page's caption.
    caption: str = "Notice"

    def entry_for(self, answers: dict[str, str]) -> Entry:
        """Return the stage a notice with these answers is raised at."""
        return self.entry(answers) if self.entry else Entry(self.initial_stage)

    def concern_date(self, answers: dict[str, str]) -> date:
        """Return Day 1 of the procedure's clocks for these answers."""
        value = answers.get(self.concern_date_field or "") or answers[self.date_of_notification_field]
        return date.fromisoformat(value)

    @property
    def field_order(self) -> list[str]:
        return [name for section in self.sections for name in section.fields]

    @property
    def directory_fields(self) -> tuple[str, ...]:
        """Fields whose answer is a directory id (a contact's or an agency's)."""
        return (*self.recipient_fields, *self.agency_fields)

    def own_answers(self, answers: dict[str, str]) -> dict[str, str]:
        """Only the form's own answers (not stage narrative or closure), in the form's order."""
        return {name: answers[name] for name in self.field_order if name in answers}

    def display(self, answers: dict[str, str], directory_labels: dict[str, str]) -> dict[str, str]:
        """Format answers for people: long dates, choice labels, directory names (by field) instead of ids."""
        shown = {}
        for name, value in answers.items():
            if name in self.date_fields:
                shown[name] = long_date(date.fromisoformat(value)) if value else ""
            elif name in self.directory_fields:
                shown[name] = directory_labels.get(name, "") if value else ""
            elif name in self.choice_labels:
                shown[name] = self.choice_labels[name].get(value, value)
            else:
                shown[name] = value
        return shown
