"""The shared base for every partnership's notice form, and the sections they have in common."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict
from wtforms import Field, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired

from portal.web.forms.fields import GovukDateField, SelectChoice
from portal.web.forms.stencils import CharacterCount, Radios, Select, SubmitButton, TextInput
from portal.web.forms.validators import NhsNumber, PlainText

LONG_TEXT_LIMIT = 10_000


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class PortalForm(FlaskForm):
    """Strip surrounding whitespace from every text answer (notifications-admin's StripWhitespaceForm)."""

    # WTForms builds the form's meta class from every Meta in the MRO, so naming FlaskForm's here changes
    # nothing at run time; it tells the type checker where super() goes.
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            # Flask-WTF adds uploaded files to the answers; no question here is a file, and a file part sent
            # under a text question's name would reach its validators as an object, not a string.
            data = super().wrap_formdata(form, formdata)
            return request.form if isinstance(data, CombinedMultiDict) else data

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            if unbound_field.field_class not in (GovukDateField,) and "password" not in (options.get("name") or ""):
                options["filters"] = (*unbound_field.kwargs.get("filters", ()), _strip)
            field: Field = unbound_field.bind(form=form, **options)
            return field

    # Set where one failure is reported on several fields at once (sign-in cannot say which answer was wrong).
    one_message_for_several = False

    def error_list(self, order: Sequence[str] | None = None) -> list[dict[str, str]]:
        """Errors in page order, each linking to the input to fix (a date's day box)."""
        items: list[dict[str, str]] = []
        fields = [self[name] for name in order if name in self] if order else list(self)
        for f in fields:
            # One message that is about two fields (sign-in's "email or password") is listed once, at the first;
            # elsewhere two fields with the same message are two things to fix, and each gets its link.
            repeated = self.one_message_for_several and any(item["text"] == f.errors[0] for item in items if f.errors)
            if f.errors and not repeated:
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
    return StringField(label, validators=validators, description=hint, widget=TextInput(), **kw)


NHS_NUMBER_HINT = "10 digits, for example 943 476 5919. Leave blank if you do not know it."


def nhs_number_field(label: str = "NHS number", *, hint: str = NHS_NUMBER_HINT) -> StringField:
    """The child's NHS number, optional, checked by its modulus 11 check digit (docs/nhs-number.md#check-digit)."""
    return short_text(label, required=None, max_length=20, hint=hint, checks=(NhsNumber(),))


def long_text(label: str, *, required: str | None, hint: str = "", max_length: int = LONG_TEXT_LIMIT) -> TextAreaField:
    """A free-text answer with a character count."""
    validators: list[Any] = [DataRequired(message=required)] if required else []
    validators.append(PlainText(label, max_length, multiline=True))
    return TextAreaField(label, validators=validators, description=hint, widget=CharacterCount())


class DirectorySelectField(SelectField):
    """A directory choice: left out or blank is "not answered" (DataRequired decides); any other value must
    be one of the choices the service filled in."""

    def pre_validate(self, form: Any) -> None:
        if self.data in (None, ""):
            return
        super().pre_validate(form)


def contact_choice(label: str, *, required: str | None, hint: str = "") -> SelectField:
    """A directory contact; the choices are filled in per request from the partnership's directory.

    ``portal.web.forms.notice.build_notice_form`` always fills them (with a blank first choice), so a value
    outside the directory is refused.
    """
    validators: list[Any] = [DataRequired(message=required)] if required else []
    return DirectorySelectField(
        label,
        choices=[],
        validators=validators,
        description=hint,
        widget=Select(),
        invalid_choice_message="Choose a contact from the list",  # type: ignore[call-arg]  # WTForms 3.3 argument
    )


def agency_choice(label: str, *, required: str | None, hint: str = "") -> SelectField:
    """An agency of the partnership's directory; the choices are filled in per request (as contacts are)."""
    validators: list[Any] = [DataRequired(message=required)] if required else []
    return DirectorySelectField(
        label,
        choices=[],
        validators=validators,
        description=hint,
        widget=Select(),
        invalid_choice_message="Choose an agency from the list",  # type: ignore[call-arg]  # WTForms 3.3 argument
    )


class RadioInput(Radios):
    """GOV.UK radios without an empty hint: govuk-frontend-wtf always passes one, which renders an empty
    hint element that the fieldset's aria-describedby then points to."""

    def map_gov_params(self, field: Any, **kwargs: Any) -> dict[str, Any]:
        params: dict[str, Any] = super().map_gov_params(field, **kwargs)
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
        invalid_choice_message="Select one of the options",  # type: ignore[call-arg]  # WTForms 3.3 argument
    )


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
    submit = SubmitField("Continue", widget=SubmitButton())


def unbound_fields(form_class: type) -> list[tuple[str, UnboundField[Any]]]:
    """List a form class's fields without instantiating it (WTForms only does so on first use)."""
    found = [
        (name, getattr(form_class, name))
        for name in dir(form_class)
        if not name.startswith("_") and isinstance(getattr(form_class, name, None), UnboundField)
    ]
    return sorted(found, key=lambda item: item[1].creation_counter)


def answers_from(form: PortalForm) -> dict[str, str]:
    """Turn a validated notice form into the stored answers (strings; dates as ISO 8601)."""
    answers: dict[str, str] = {}
    for f in form:
        if f.name in ("csrf_token", "submit"):
            continue
        if isinstance(f, GovukDateField):
            answers[f.name] = f.data.isoformat() if f.data else ""
        else:
            answers[f.name] = str(f.data or "")
    return answers


def field_labels(form_class: type) -> dict[str, str]:
    """The label of every question on a form class, by field name."""
    return {name: f.args[0] if f.args else f.kwargs.get("label", name) for name, f in unbound_fields(form_class)}


def date_fields(form_class: type) -> set[str]:
    """The names of a form class's date questions."""
    return {name for name, f in unbound_fields(form_class) if f.field_class is GovukDateField}


def field_limits(form_class: type) -> dict[str, int]:
    """The most characters each text question of a form class takes."""
    limits = {}
    for name, unbound in unbound_fields(form_class):
        for validator in unbound.kwargs.get("validators") or ():
            if isinstance(validator, PlainText):
                limits[name] = validator.max_length
    return limits
