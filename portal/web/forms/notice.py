"""A partnership's notice form filled in for a request: its directory choices, stored answers put back as the
browser would post them, and what the writer has typed so far (autosave)."""

from __future__ import annotations

from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from portal.domain.notice_definition import NoticeDefinition
from portal.web.forms import notice_form
from portal.web.forms.base import PortalForm, date_fields, field_limits
from portal.web.forms.fields import SelectChoice

Choices = list[tuple[str, str]]


def build_notice_form(
    definition: NoticeDefinition, contacts: Choices, agencies: Choices, formdata: Any = None, **kwargs: Any
) -> PortalForm:
    """Build the partnership's form with its directory choices (contacts, agencies) filled in."""
    form = notice_form(definition.code)(formdata=formdata, **kwargs)
    fill_directory_choices(form, definition, contacts, agencies)
    return form


def fill_directory_choices(
    form: PortalForm, definition: NoticeDefinition, contacts: Choices, agencies: Choices
) -> None:
    """Offer the directory's active contacts (and agencies) with a blank first choice, so nothing else passes."""
    contact_choices = [SelectChoice("", "Choose a contact"), *(SelectChoice(v, label) for v, label in contacts)]
    for name in definition.recipient_fields:
        form[name].choices = contact_choices
    agency_choices = [SelectChoice("", "Choose an agency"), *(SelectChoice(v, label) for v, label in agencies)]
    for name in definition.agency_fields:
        form[name].choices = agency_choices


def answers_as_formdata(definition: NoticeDefinition, answers: dict[str, str]) -> MultiDict[str, str]:
    """Turn stored answers into what the browser would post, so they pass through the same validation."""
    data: MultiDict[str, str] = MultiDict()
    for name, value in answers.items():
        if name in definition.date_fields:
            parsed = date.fromisoformat(value) if value else None
            parts = [str(parsed.day), str(parsed.month), f"{parsed.year:04d}"] if parsed else ["", "", ""]
            for part in parts:
                data.add(name, part)
        else:
            data.add(name, value)
    return data


def typed_answers(definition: NoticeDefinition, posted: MultiDict[str, str]) -> dict[str, str]:
    """What the writer has typed into the form's own questions so far, unchecked, each within its limit; a date
    only once its three boxes make a real date (autosave)."""
    form_class = notice_form(definition.code)
    dates, limits = date_fields(form_class), field_limits(form_class)
    typed: dict[str, str] = {}
    for name in definition.field_order:
        if name not in posted:
            continue
        if name in dates:
            parts = [p.strip() for p in posted.getlist(name)]
            try:
                typed[name] = date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
            except (ValueError, IndexError, OverflowError):
                continue
        else:
            value = "".join(ch for ch in posted.get(name, "") if ch in "\n\t" or ch.isprintable())
            typed[name] = value.strip()[: limits.get(name) or 10_000]
    return typed
