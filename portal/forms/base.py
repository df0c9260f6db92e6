"""The shared base for every partnership's notice form, and the sections they have in common."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import Field, RadioField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired

from portal.forms.fields import GovukDateField
from portal.forms.validators import NhsNumber, PlainText
from portal.timeutil import long_date

LONG_TEXT_LIMIT = 10_000


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class PortalForm(FlaskForm):
    """Strip surrounding whitespace from every text answer (notifications-admin's StripWhitespaceForm)."""

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            if unbound_field.field_class not in (GovukDateField,) and "password" not in (options.get("name") or ""):
                options["filters"] = (*unbound_field.kwargs.get("filters", ()), _strip)
            return unbound_field.bind(form=form, **options)

    def error_list(self, order: Sequence[str] | None = None) -> list[dict[str, str]]:
        """Errors in page order, each linking to the input to fix (a date's day box)."""
        items = []
        fields = [self[name] for name in order if name in self] if order else list(self)
        for f in fields:
            if f.errors:
                target = f.first_input_id if isinstance(f, GovukDateField) else f.id
                items.append({"text": f.errors[0], "href": f"#{target}"})
        return items


def short_text(
    label: str,
    *,
    required: str | None,
    max_length: int = 200,
    hint: str = "",
    checks: Sequence[Any] = (),
    **kw: Any,
) -> StringField:
    """A one-line text answer; `required` is the message shown when it is left empty; `checks` are further
    validators (an NHS number's modulus 11, a local identifier's characters)."""
    validators: list[Any] = [DataRequired(message=required)] if required else []
    validators += [PlainText(label, max_length), *checks]
    return StringField(label, validators=validators, description=hint, widget=GovTextInput(), **kw)


NHS_NUMBER_HINT = "10 digits, for example 943 476 5919. Leave blank if you do not know it."


def nhs_number_field(label: str = "NHS number", *, hint: str = NHS_NUMBER_HINT) -> StringField:
    """The child's NHS number, optional, checked by its modulus 11 check digit (docs/nhs-number.md#check-digit)."""
    return short_text(label, required=None, max_length=20, hint=hint, checks=(NhsNumber(),))


def long_text(label: str, *, required: str | None, hint: str = "", max_length: int = LONG_TEXT_LIMIT) -> TextAreaField:
    """A free-text answer with a character count."""
    validators: list[Any] = [DataRequired(message=required)] if required else []
    validators.append(PlainText(label, max_length, multiline=True))
    return TextAreaField(label, validators=validators, description=hint, widget=GovCharacterCount())


class DirectorySelectField(SelectField):
    """A directory choice: left out or blank is "not answered" (DataRequired decides); any other value must
    be one of the choices the service filled in."""

    def pre_validate(self, form: Any) -> None:
        if self.data in (None, ""):
            return
        super().pre_validate(form)


def contact_choice(label: str, *, required: str | None, hint: str = "") -> SelectField:
    """A directory contact; the choices are filled in per request from the partnership's directory.

    ``portal.services.notices.build_form`` always fills them (with a blank first choice), so a value
    outside the directory is refused.
    """
    validators: list[Any] = [DataRequired(message=required)] if required else []
    return DirectorySelectField(
        label,
        choices=[],
        validators=validators,
        description=hint,
        widget=GovSelect(),
        invalid_choice_message="Choose a contact from the list",
    )


def agency_choice(label: str, *, required: str | None, hint: str = "") -> SelectField:
    """An agency of the partnership's directory; the choices are filled in per request (as contacts are)."""
    validators: list[Any] = [DataRequired(message=required)] if required else []
    return DirectorySelectField(
        label,
        choices=[],
        validators=validators,
        description=hint,
        widget=GovSelect(),
        invalid_choice_message="Choose an agency from the list",
    )


class RadioInput(GovRadioInput):
    """GOV.UK radios without an empty hint: govuk-frontend-wtf always passes one, which renders an empty
    hint element that the fieldset's aria-describedby then points to."""

    def map_gov_params(self, field: Any, **kwargs: Any) -> dict[str, Any]:
        params = super().map_gov_params(field, **kwargs)
        if not field.description and not (params.get("hint") or {}).get("text"):
            params.pop("hint", None)
        return params


class ChoiceRadioField(RadioField):
    """Radios where an unanswered optional question is valid and a value outside the list never is."""

    def process_data(self, value: Any) -> None:
        # WTForms' str coercion would turn "no answer" into the text "None", which is then hard to tell from
        # a client posting "None"; keep no answer as None.
        self.data = None if value is None else str(value)

    def pre_validate(self, form: Any) -> None:
        if self.data is None or self.data == "":
            return
        super().pre_validate(form)


def radio_choice(label: str, choices: Sequence[tuple[str, str]], *, required: str | None, hint: str = "") -> RadioField:
    """One of a fixed list (stored as the code; ``NoticeFormDefinition.choice_labels`` shows the label)."""
    validators: list[Any] = [DataRequired(message=required)] if required else []
    return ChoiceRadioField(
        label,
        choices=[SelectChoice(value, text) for value, text in choices],
        validators=validators,
        description=hint,
        widget=RadioInput(),
        invalid_choice_message="Select one of the options",
    )


YES_NO: tuple[tuple[str, str], ...] = (("yes", "Yes"), ("no", "No"))


class CompletedByMixin:
    """ "Outcome Resolution Notice Completed by": who wrote the notice (pre-filled from their profile)."""

    completed_by_name = short_text("Name", required="Enter your name")
    completed_by_role = short_text("Role", required="Enter your role, for example Social Worker")
    completed_by_agency_team = short_text("Agency/Team", required="Enter your agency and team")
    completed_by_contact = short_text(
        "Contact Details",
        required="Enter a telephone number or secure e-mail address the recipient can reach you on",
        max_length=300,
    )


class SubmitMixin:
    submit = SubmitField("Continue", widget=GovSubmitInput())


def unbound_fields(form_class: type) -> list[tuple[str, UnboundField]]:
    """List a form class's fields without instantiating it (WTForms only does so on first use)."""
    found = [
        (name, getattr(form_class, name))
        for name in dir(form_class)
        if not name.startswith("_") and isinstance(getattr(form_class, name, None), UnboundField)
    ]
    return sorted(found, key=lambda item: item[1].creation_counter)


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
class NoticeFormDefinition:
    """Everything the portal needs to know about one partnership's notice form."""

    code: str
    title: str
    form_class: type[PortalForm]
    sections: Sequence[Section]
    # Fields holding a directory contact id; the notice is routed to these contacts.
    recipient_fields: Sequence[str]
    # The stage a notice on this form is raised at, in the procedure's words.
    initial_stage: str
    date_of_notification_field: str
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
    # Fields the seed does not print (✱, docs/procedures.md#conventions): proposals the partnership may adjust.
    proposed_fields: Sequence[str] = field(default_factory=tuple)
    # Choice fields whose stored value is a code: the label to show for each code.
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict)

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

    def answers_from(self, form: PortalForm) -> dict[str, str]:
        """Turn a validated form into the stored answers (strings; dates as ISO 8601)."""
        answers: dict[str, str] = {}
        for f in form:
            if f.name in ("csrf_token", "submit"):
                continue
            if isinstance(f, GovukDateField):
                answers[f.name] = f.data.isoformat() if f.data else ""
            else:
                answers[f.name] = str(f.data or "")
        return answers

    def form_data(self, answers: dict[str, str]) -> dict[str, Any]:
        """Turn stored answers back into form data (for change links on check-your-answers)."""
        data: dict[str, Any] = {}
        for name, f in unbound_fields(self.form_class):
            value = answers.get(name, "")
            if f.field_class is GovukDateField:
                data[name] = date.fromisoformat(value) if value else None
            else:
                data[name] = value
        return data

    def field_labels(self) -> dict[str, str]:
        form_fields = dict(unbound_fields(self.form_class))
        return {name: f.args[0] if f.args else f.kwargs.get("label", name) for name, f in form_fields.items()}

    def date_fields(self) -> set[str]:
        return {name for name, f in unbound_fields(self.form_class) if f.field_class is GovukDateField}

    @property
    def directory_fields(self) -> tuple[str, ...]:
        """Fields whose answer is a directory id (a contact's or an agency's)."""
        return (*self.recipient_fields, *self.agency_fields)

    def display(self, answers: dict[str, str], directory_labels: dict[str, str]) -> dict[str, str]:
        """Format answers for people: long dates, choice labels, directory names (by field) instead of ids."""
        dates, shown = self.date_fields(), {}
        for name, value in answers.items():
            if name in dates:
                shown[name] = long_date(date.fromisoformat(value)) if value else ""
            elif name in self.directory_fields:
                shown[name] = directory_labels.get(name, "") if value else ""
            elif name in self.choice_labels:
                shown[name] = self.choice_labels[name].get(value, value)
            else:
                shown[name] = value
        return shown
