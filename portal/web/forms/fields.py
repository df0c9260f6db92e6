"""Fields that render with GOV.UK Frontend macros (through govuk-frontend-wtf widgets)."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, TypeVar

from wtforms import Field, ValidationError
from wtforms import SelectChoice as SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms stops at 3.2

from portal.domain.dates import london_today, long_date
from portal.web.forms.stencils import DateInput

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _Question(Protocol[T_co]):
    name: str

    @property
    def data(self) -> T_co | None: ...


def answer(field: _Question[T]) -> T:
    """The answer to a required question once its form has validated (its validators refused no answer)."""
    data = field.data
    if data is None:
        raise ValueError(f"the question {field.name!r} has no answer: validate the form first")
    return data


def add_error(field: Field, message: str) -> None:
    """Show one more error on a field after the form's own checks (a rule that spans fields, a failed sign-in).

    A new list rather than ``append``: WTForms makes ``errors`` a list only once the field is validated, and
    types it as a Sequence."""
    field.errors = [*field.errors, message]


# Children's services stay involved to 25 for care leavers and young people with an EHC plan: an older date of
# birth on a child's notice is refused as a slip.
CHILD_MAX_AGE = 25


class GovukDateField(Field):
    """A day / month / year date input with the GOV.UK date-input error messages.

    `subject` is how the messages name the date, e.g. "Date of birth" gives "Date of birth must include a month".
    """

    widget = DateInput()

    def __init__(
        self,
        label: str,
        *,
        subject: str,
        required: bool = True,
        not_future: bool = False,
        not_before: date | None = None,
        max_age_years: int | None = None,
        description: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(label, description=description, **kwargs)
        self.subject, self.required, self.not_future, self.not_before = subject, required, not_future, not_before
        self.max_age_years = max_age_years
        self.data: date | None = None

    def _value(self) -> str:
        return self.data.strftime("%d %m %Y") if self.data else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        # Three inputs share the field's name: day, month, year in that order.
        parts = [(v or "").strip() for v in valuelist[:3]]
        while len(parts) < 3:
            parts.append("")
        self.raw_data = parts
        self.data = None

    def process_data(self, value: Any) -> None:
        self.data = value if isinstance(value, date) else None

    def pre_validate(self, form: Any) -> None:
        if self.raw_data is None:
            if self.required and self.data is None:
                raise ValidationError(f"Enter the {self.subject.lower()}")
            return
        day, month, year = self.raw_data
        if not any(self.raw_data):
            if self.required:
                self.errors = []
                raise ValidationError(f"Enter the {self.subject.lower()}")
            return
        missing = [name for name, part in (("day", day), ("month", month), ("year", year)) if not part]
        if missing:
            raise ValidationError(f"{self.subject} must include a {' and a '.join(missing)}")
        ascii_digits = all(part.isascii() and part.isdigit() for part in (day, month, year))
        if not ascii_digits or len(year) != 4 or int(year) < 1900:
            raise ValidationError(f"{self.subject} must be a real date, like 27 3 2016")
        try:
            value = date(int(year), int(month), int(day))
        except (ValueError, OverflowError) as exc:
            raise ValidationError(f"{self.subject} must be a real date, like 27 3 2016") from exc
        if self.not_future and value > london_today():
            raise ValidationError(f"{self.subject} must be today or in the past")
        if self.not_before and value < self.not_before:
            raise ValidationError(f"{self.subject} must be after {long_date(self.not_before)}")
        if self.max_age_years is not None and (age := years_between(value, london_today())) > self.max_age_years:
            # A child's date of birth decades ago is almost always a slip (this year typed as 1990): ask for it again.
            raise ValidationError(
                f"{self.subject} makes the child {age} years old: check it. A notice is about a child or young "
                f"person (up to {self.max_age_years} for a care leaver or with an education, health and care plan)"
            )
        self.data = value

    @property
    def first_input_id(self) -> str:
        return f"{self.name}-day"


def years_between(born: date, today: date) -> int:
    """Whole years from ``born`` to ``today`` (an age)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
