"""The vocabulary of a partnership's escalation procedure: stages, deadlines, notifications and skips.

Everything here is a frozen value. A ``Procedure`` is declared once per partnership and version (see
``portal.partnerships``) and read by the notice engine; nothing in this module touches a database,
Flask or the network. Dates are calendar dates in England (``portal.domain.dates`` converts timestamps),
and working days follow ``portal.domain.working_days``, whose counting conventions are the proposals of
docs/working-days.md#conventions.

Vocabulary:
- a *stage* is one level of the procedure, named in the seed's words (``Stage.name``) and stored
  on a notice by its slug (``Stage.code``, at most 40 characters for ``Notice.stage``);
- the *raiser* is the agency that opened the notice and the *recipient* the agency challenged;
- ``Notify.when`` is one of: ``ON_ENTER`` (the notice enters the stage), ``ON_RESPONSE`` (the
  recipient records its response at the stage), ``ON_OVERDUE`` (the stage's due date passes with
  the stage still open) and ``ON_CLOSE`` (the stage ends, resolved there or escalated onward).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import ClassVar, Literal

from portal.domain.dates import format_date
from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR, WorkingCalendar

__all__ = [
    "BUSINESS_UNIT",
    "CLOSE_AGREED_OUTCOME",
    "CLOSE_DEBRIEF",
    "CLOSE_IMPACT_ON_CHILD",
    "CLOSE_LEARNING",
    "CLOSE_REQUIRES_ALL",
    "CLOSE_WRITTEN_CONFIRMATION",
    "EITHER_PARTY",
    "LEAD_PROFESSIONAL_PROMPT",
    "NOBODY",
    "NO_DEADLINE",
    "ON_CLOSE",
    "ON_ENTER",
    "ON_OVERDUE",
    "ON_RESPONSE",
    "RAISER",
    "RAISER_ONLY",
    "RAISING_PRACTITIONER",
    "RECIPIENT",
    "RECIPIENT_SPOCS",
    "TELEPHONE_CALL_PROMPT",
    "TIER",
    "AgreedDate",
    "AgreedWithinWorkingDays",
    "Audience",
    "AudienceKind",
    "DayWindow",
    "DeadlineRule",
    "DeadlineRuleError",
    "NoDeadline",
    "Notify",
    "Party",
    "Procedure",
    "ProcedureDefinitionError",
    "Skip",
    "Stage",
    "UnknownStageError",
    "When",
    "WithinWorkingDays",
    "format_date",
]

# -- errors -----------------------------------------------------------------------------------------


class DeadlineRuleError(ValueError):
    """A date breaks a stage's deadline rule; the message is written for the person entering it."""


class ProcedureDefinitionError(ValueError):
    """A procedure definition is malformed: a programming error, caught when the module is imported."""


class UnknownStageError(KeyError):
    """A stage code that the procedure does not have."""

    def __str__(self) -> str:
        # KeyError would show the message's repr, quotes and all.
        return str(self.args[0]) if self.args else ""


# -- deadline rules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """How a stage's due date is set. The subclasses below are the whole, closed set of rules."""

    # Whether the parties agree the stage's due date (and so whether ``check_agreed`` accepts one).
    takes_agreed_date: ClassVar[bool] = False

    def due_date(
        self,
        *,
        stage_started: date,
        concern_date: date,
        agreed: date | None = None,
        calendar: WorkingCalendar = ENGLAND_AND_WALES_CALENDAR,
    ) -> date | None:
        """Return the date the stage must be concluded by (end of that day), or None for no deadline.

        An ``agreed`` date is checked first (``check_agreed``), so a refused date never becomes a deadline.
        """
        self.check_agreed(stage_started=stage_started, agreed=agreed, calendar=calendar)
        return self._due(stage_started=stage_started, concern_date=concern_date, agreed=agreed, calendar=calendar)

    def _due(
        self, *, stage_started: date, concern_date: date, agreed: date | None, calendar: WorkingCalendar
    ) -> date | None:
        raise NotImplementedError

    def check_agreed(
        self,
        *,
        stage_started: date,
        agreed: date | None,
        calendar: WorkingCalendar = ENGLAND_AND_WALES_CALENDAR,
    ) -> None:
        """Raise DeadlineRuleError if ``agreed`` is not an acceptable agreed due date for this stage."""
        if agreed is not None and not self.takes_agreed_date:
            raise DeadlineRuleError("This stage's deadline is set by the procedure, not agreed between the parties")

    def describe(self) -> str:
        """Return the rule in words, for the stage's page."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class NoDeadline(DeadlineRule):
    """No timescale: the seed sets none (every policy still says to act sooner if the child needs it)."""

    def _due(
        self, *, stage_started: date, concern_date: date, agreed: date | None, calendar: WorkingCalendar
    ) -> date | None:
        return None

    def describe(self) -> str:
        """Return the rule in words."""
        return "No timescale is set"


NO_DEADLINE = NoDeadline()


@dataclass(frozen=True, slots=True)
class WithinWorkingDays(DeadlineRule):
    """Due ``n`` working days after the stage starts (day 0), e.g. Bolton's response to an RPDE."""

    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ProcedureDefinitionError(f"working days must not be negative (got {self.n})")

    def _due(
        self, *, stage_started: date, concern_date: date, agreed: date | None, calendar: WorkingCalendar
    ) -> date | None:
        return calendar.add_working_days(stage_started, self.n)

    def describe(self) -> str:
        """Return the rule in words."""
        return f"Within {self.n} working days of the stage starting"


@dataclass(frozen=True, slots=True)
class AgreedDate(DeadlineRule):
    """A due date the parties agree at the stage, with no cap (Bolton's Informal Resolution)."""

    takes_agreed_date: ClassVar[bool] = True

    def _due(
        self, *, stage_started: date, concern_date: date, agreed: date | None, calendar: WorkingCalendar
    ) -> date | None:
        return agreed

    def check_agreed(
        self,
        *,
        stage_started: date,
        agreed: date | None,
        calendar: WorkingCalendar = ENGLAND_AND_WALES_CALENDAR,
    ) -> None:
        """Refuse an agreed date before the stage started."""
        if agreed is not None and agreed < stage_started:
            raise DeadlineRuleError(
                f"An agreed date must not be before the stage started: on or after {format_date(stage_started)}"
            )

    def describe(self) -> str:
        """Return the rule in words."""
        return "By a date agreed at this stage"


@dataclass(frozen=True, slots=True)
class AgreedWithinWorkingDays(DeadlineRule):
    """A due date agreed at the stage, refused beyond ``cap`` working days after it starts (Trafford).

    Until a date is agreed the cap itself is the due date: the stage "should not exceed" it either way.
    """

    takes_agreed_date: ClassVar[bool] = True
    cap: int

    def __post_init__(self) -> None:
        if self.cap < 0:
            raise ProcedureDefinitionError(f"a cap in working days must not be negative (got {self.cap})")

    def latest(self, *, stage_started: date, calendar: WorkingCalendar = ENGLAND_AND_WALES_CALENDAR) -> date:
        """Return the latest date that may be agreed."""
        return calendar.add_working_days(stage_started, self.cap)

    def _due(
        self, *, stage_started: date, concern_date: date, agreed: date | None, calendar: WorkingCalendar
    ) -> date | None:
        return agreed if agreed is not None else self.latest(stage_started=stage_started, calendar=calendar)

    def check_agreed(
        self,
        *,
        stage_started: date,
        agreed: date | None,
        calendar: WorkingCalendar = ENGLAND_AND_WALES_CALENDAR,
    ) -> None:
        """Refuse an agreed date before the stage started or beyond the cap."""
        if agreed is None:
            return
        if agreed < stage_started:
            raise DeadlineRuleError(
                f"An agreed date must not be before the stage started: on or after {format_date(stage_started)}"
            )
        if not calendar.within_working_days(stage_started, agreed, self.cap):
            latest = self.latest(stage_started=stage_started, calendar=calendar)
            raise DeadlineRuleError(
                f"An agreed date must be within {self.cap} working days of the stage starting: "
                f"on or before {format_date(latest)}"
            )

    def describe(self) -> str:
        """Return the rule in words."""
        return f"By a date agreed at this stage, no more than {self.cap} working days after it starts"


@dataclass(frozen=True, slots=True)
class DayWindow(DeadlineRule):
    """Pan Cheshire's "start by Day N, conclude by Day M", counted from the concern date as Day 1.

    Whether days are working or calendar days is the procedure's ``count_working_days`` setting:
    ``Procedure`` writes it into ``working`` when it is built, so a definition leaves it unset and
    one setting governs every step.
    """

    start_by: int
    conclude_by: int
    # Set by Procedure from count_working_days; None until then.
    working: bool | None = None

    def __post_init__(self) -> None:
        if self.start_by < 1:
            raise ProcedureDefinitionError(f"day numbers start at 1 (got start_by={self.start_by})")
        if self.conclude_by < self.start_by:
            raise ProcedureDefinitionError(
                f"a step cannot conclude (Day {self.conclude_by}) before it starts (Day {self.start_by})"
            )

    def _working(self) -> bool:
        if self.working is None:
            # Guessing would silently pick a timescale the partnership may not use.
            raise ProcedureDefinitionError(
                "a DayWindow is counted by its procedure's count_working_days setting: use it through a Procedure"
            )
        return self.working

    def start_by_date(self, *, concern_date: date, calendar: WorkingCalendar = ENGLAND_AND_WALES_CALENDAR) -> date:
        """Return the date of "Day ``start_by``": the latest the step may start."""
        return calendar.day_n(concern_date, self.start_by, working=self._working())

    def _due(
        self, *, stage_started: date, concern_date: date, agreed: date | None, calendar: WorkingCalendar
    ) -> date | None:
        # "Day conclude_by" from the concern date, whenever the step actually started.
        return calendar.day_n(concern_date, self.conclude_by, working=self._working())

    def describe(self) -> str:
        """Return the rule in words."""
        kind = "" if self.working is None else (" (working days)" if self.working else " (calendar days)")
        return f"Start no later than Day {self.start_by} and conclude no later than Day {self.conclude_by}{kind}"


# -- notifications ----------------------------------------------------------------------------------


class AudienceKind(enum.StrEnum):
    """Who a notification or prompt is for, as a rule over the partnership's directory."""

    # The SPOC (or role contact) of each receiving agency, from the directory.
    RECIPIENT_SPOCS = "recipient-spocs"
    # The partnership's business unit (business manager, board unit), the directory owner.
    BUSINESS_UNIT = "business-unit"
    # The practitioner who raised the concern.
    RAISING_PRACTITIONER = "raising-practitioner"
    # Each involved agency's contacts at a named tier of the directory (Halton's Appendix A columns).
    TIER = "tier"
    # A prompt to the person acting: inform the lead professional, chair or IRO.
    LEAD_PROFESSIONAL_PROMPT = "lead-professional-prompt"
    # A prompt to the person acting: telephone the recipient as well, and record the call.
    TELEPHONE_CALL_PROMPT = "telephone-call-prompt"


@dataclass(frozen=True, slots=True)
class Audience:
    """One audience; ``tier`` names the directory tier and is set only for ``AudienceKind.TIER``."""

    kind: AudienceKind
    tier: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is AudienceKind.TIER) != bool(self.tier):
            raise ProcedureDefinitionError("a tier audience needs a tier name, and only a tier audience has one")

    @property
    def is_prompt(self) -> bool:
        """Return whether this asks the acting user to do something rather than sending a message."""
        return self.kind in (AudienceKind.LEAD_PROFESSIONAL_PROMPT, AudienceKind.TELEPHONE_CALL_PROMPT)


RECIPIENT_SPOCS = Audience(AudienceKind.RECIPIENT_SPOCS)
BUSINESS_UNIT = Audience(AudienceKind.BUSINESS_UNIT)
RAISING_PRACTITIONER = Audience(AudienceKind.RAISING_PRACTITIONER)
LEAD_PROFESSIONAL_PROMPT = Audience(AudienceKind.LEAD_PROFESSIONAL_PROMPT)
TELEPHONE_CALL_PROMPT = Audience(AudienceKind.TELEPHONE_CALL_PROMPT)


def TIER(name: str) -> Audience:  # noqa: N802 - reads as a constant beside RECIPIENT_SPOCS and friends
    """Return the audience of each involved agency's directory contacts at tier ``name``."""
    return Audience(AudienceKind.TIER, name)


class When(enum.StrEnum):
    """The moment in a stage's life a notification is sent (see the module docstring)."""

    ON_ENTER = "on-enter"
    ON_RESPONSE = "on-response"
    ON_OVERDUE = "on-overdue"
    ON_CLOSE = "on-close"


ON_ENTER = When.ON_ENTER
ON_RESPONSE = When.ON_RESPONSE
ON_OVERDUE = When.ON_OVERDUE
ON_CLOSE = When.ON_CLOSE

# Audiences that are about the receiving agency, so can be limited to one agency of the directory.
_PER_AGENCY = (AudienceKind.RECIPIENT_SPOCS, AudienceKind.TIER, AudienceKind.TELEPHONE_CALL_PROMPT)


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell ``audience`` at moment ``when``, optionally only for one receiving agency."""

    audience: Audience
    when: When
    # The agency's name as the directory holds it, e.g. "Greater Manchester Police" for GMP's call rule.
    only_for_agency: str | None = None
    # The seed's words, shown with a prompt.
    note: str = ""

    def __post_init__(self) -> None:
        if self.only_for_agency is not None and self.audience.kind not in _PER_AGENCY:
            raise ProcedureDefinitionError(f"{self.audience.kind} is not about a receiving agency")


# -- stages and procedures --------------------------------------------------------------------------

Party = Literal["raiser", "recipient"]
RAISER: Party = "raiser"
RECIPIENT: Party = "recipient"
RAISER_ONLY: frozenset[Party] = frozenset({RAISER})
EITHER_PARTY: frozenset[Party] = frozenset({RAISER, RECIPIENT})
NOBODY: frozenset[Party] = frozenset()
_PARTIES = EITHER_PARTY

# Closure fields (docs/procedures.md#rule-17). The engine asks for these before a notice can close.
CLOSE_AGREED_OUTCOME = "agreed_outcome"
CLOSE_WRITTEN_CONFIRMATION = "written_confirmation"
CLOSE_IMPACT_ON_CHILD = "impact_on_child"
CLOSE_DEBRIEF = "debrief"
CLOSE_LEARNING = "learning"
CLOSE_REQUIRES_ALL: tuple[str, ...] = (
    CLOSE_AGREED_OUTCOME,
    CLOSE_WRITTEN_CONFIRMATION,
    CLOSE_IMPACT_ON_CHILD,
    CLOSE_DEBRIEF,
    CLOSE_LEARNING,
)

# Notice.stage is String(40); the code is also shown as text ("formal-resolution" → "Formal resolution").
_CODE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CODE_MAX = 40


def _check_code(value: str, what: str) -> None:
    if len(value) > _CODE_MAX or not _CODE_RE.fullmatch(value):
        raise ProcedureDefinitionError(f"{what} {value!r} must be a lower-case slug of at most {_CODE_MAX} characters")


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of a procedure, in the seed's words."""

    code: str
    name: str
    # Formal stages carry a written notice in the portal; informal ones are recorded in each agency.
    formal: bool
    who_acts: str
    # The form, or the form's section, completed at this stage (None: recorded on the child's file).
    form_section: str | None
    deadline: DeadlineRule
    notify: tuple[Notify, ...]
    final: bool
    # Who may move the notice on from this stage to the next; empty at the final stage.
    may_escalate: frozenset[Party]
    # Ask again whether the child is at immediate risk of significant harm on entering (docs/procedures.md#rule-1).
    ask_immediate_risk: bool = True
    # Whose contacts the stage goes to, in the seed's or directory's words.
    recipients_from: str | None = None
    # True when the form section must be complete before the stage is entered (docs/procedures.md#rule-5).
    form_required: bool = False
    # Who must move the notice into this stage, in the seed's words; the user confirms it.
    escalated_by: str | None = None

    def __post_init__(self) -> None:
        _check_code(self.code, "a stage code")
        if not self.name.strip() or not self.who_acts.strip():
            raise ProcedureDefinitionError(f"stage {self.code!r} needs a name and who acts, in the seed's words")
        if not isinstance(self.notify, tuple) or not all(isinstance(n, Notify) for n in self.notify):
            raise ProcedureDefinitionError(f"stage {self.code!r}: notify must be a tuple of Notify")
        if not self.may_escalate <= _PARTIES:
            raise ProcedureDefinitionError(f"stage {self.code!r}: may_escalate holds only 'raiser' and 'recipient'")
        if self.final and self.may_escalate:
            raise ProcedureDefinitionError(f"stage {self.code!r} is final, so nobody may escalate from it")
        if self.form_required and not self.form_section:
            raise ProcedureDefinitionError(f"stage {self.code!r} requires a form but names no form section")


@dataclass(frozen=True, slots=True)
class Skip:
    """Moving straight from one stage to a later one, jumping over at least one stage."""

    from_stage: str
    to_stage: str
    reason_required: bool
    # The seed's words allowing it.
    note: str = ""


@dataclass(frozen=True, slots=True)
class Procedure:
    """One partnership's procedure at one version; a notice keeps the version it was opened under."""

    partnership_slug: str
    # Matches PartnershipSpec.procedure_version for the current version; never reused for a revision.
    version: str
    # True for a procedure that predates the current statutory framework (Halton's 2013 board policy).
    legacy: bool
    title: str
    stages: tuple[Stage, ...]
    # The stage a formal notice starts at in the portal; earlier stages happen before it is raised.
    entry_stage: str
    skips: tuple[Skip, ...] = ()
    # Pan Cheshire's "Day N" in working days (default, docs/working-days.md#day-n) or calendar days.
    count_working_days: bool = True
    close_requires: tuple[str, ...] = CLOSE_REQUIRES_ALL
    # What the seed says to do when the child is at immediate risk, shown at the gate.
    immediate_risk: str = ""

    def __post_init__(self) -> None:
        _check_code(self.partnership_slug, "a partnership slug")
        _check_code(self.version, "a procedure version")
        where = f"procedure {self.partnership_slug} {self.version}"
        if not isinstance(self.stages, tuple) or not self.stages:
            raise ProcedureDefinitionError(f"{where}: stages must be a non-empty tuple")
        codes = [s.code for s in self.stages]
        if duplicates := sorted({c for c in codes if codes.count(c) > 1}):
            raise ProcedureDefinitionError(f"{where}: stage codes must be unique, repeated: {', '.join(duplicates)}")
        finals = [s.code for s in self.stages if s.final]
        if len(finals) != 1:
            raise ProcedureDefinitionError(
                f"{where}: exactly one stage must be final, found {len(finals)}: {', '.join(finals) or 'none'}"
            )
        if not self.stages[-1].final:
            raise ProcedureDefinitionError(f"{where}: the final stage {finals[0]!r} must be the last stage")
        if self.entry_stage not in codes:
            raise ProcedureDefinitionError(f"{where}: the entry stage {self.entry_stage!r} is not one of its stages")
        seen: set[tuple[str, str]] = set()
        for skip in self.skips:
            for code in (skip.from_stage, skip.to_stage):
                if code not in codes:
                    raise ProcedureDefinitionError(f"{where}: a skip names {code!r}, which is not one of its stages")
            if codes.index(skip.to_stage) <= codes.index(skip.from_stage) + 1:
                raise ProcedureDefinitionError(
                    f"{where}: a skip must go forwards over at least one stage, "
                    f"not {skip.from_stage!r} to {skip.to_stage!r}"
                )
            if (skip.from_stage, skip.to_stage) in seen:
                raise ProcedureDefinitionError(
                    f"{where}: the skip {skip.from_stage!r} to {skip.to_stage!r} is repeated"
                )
            seen.add((skip.from_stage, skip.to_stage))
        if unknown := [f for f in self.close_requires if f not in CLOSE_REQUIRES_ALL]:
            raise ProcedureDefinitionError(f"{where}: unknown closure fields {unknown}; known: {CLOSE_REQUIRES_ALL}")
        if len(set(self.close_requires)) != len(self.close_requires):
            raise ProcedureDefinitionError(f"{where}: closure fields are repeated")
        # One setting counts every "Day N": bind it into the steps' rules rather than repeat it in each.
        bound = tuple(
            replace(s, deadline=replace(s.deadline, working=self.count_working_days))
            if isinstance(s.deadline, DayWindow)
            else s
            for s in self.stages
        )
        object.__setattr__(self, "stages", bound)

    @property
    def key(self) -> tuple[str, str]:
        """Return the registry key, (partnership slug, version)."""
        return (self.partnership_slug, self.version)

    @property
    def first_stage(self) -> Stage:
        """Return the stage a disagreement begins at."""
        return self.stages[0]

    @property
    def final_stage(self) -> Stage:
        """Return the last stage, after which there is no further escalation."""
        return self.stages[-1]

    @property
    def entry(self) -> Stage:
        """Return the stage a formal notice starts at in the portal."""
        return self.stage(self.entry_stage)

    def stage(self, code: str) -> Stage:
        """Return the stage with ``code``, or raise UnknownStageError naming the stages there are."""
        for s in self.stages:
            if s.code == code:
                return s
        raise UnknownStageError(
            f"procedure {self.partnership_slug} {self.version} has no stage {code!r}; "
            f"its stages are {', '.join(s.code for s in self.stages)}"
        )

    def index(self, code: str) -> int:
        """Return the position of stage ``code`` (0 for the first)."""
        return self.stages.index(self.stage(code))

    def next_stage(self, code: str) -> Stage | None:
        """Return the stage after ``code``, or None at the final stage."""
        i = self.index(code)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    def can_escalate(self, from_code: str, by: Party) -> bool:
        """Return whether party ``by`` ("raiser" or "recipient") may move the notice on from ``from_code``."""
        if by not in _PARTIES:
            raise ValueError(f"by must be 'raiser' or 'recipient', not {by!r}")
        current = self.stage(from_code)
        return not current.final and by in current.may_escalate

    def allowed_skip(self, from_code: str, to_code: str) -> Skip | None:
        """Return the skip that allows moving straight from ``from_code`` to ``to_code``, if there is one."""
        self.stage(from_code)
        self.stage(to_code)
        for skip in self.skips:
            if (skip.from_stage, skip.to_stage) == (from_code, to_code):
                return skip
        return None

    def due_date(
        self,
        code: str,
        *,
        stage_started: date,
        concern_date: date,
        agreed: date | None = None,
        calendar: WorkingCalendar = ENGLAND_AND_WALES_CALENDAR,
    ) -> date | None:
        """Return stage ``code``'s due date under this procedure (see ``DeadlineRule.due_date``)."""
        return self.stage(code).deadline.due_date(
            stage_started=stage_started, concern_date=concern_date, agreed=agreed, calendar=calendar
        )
