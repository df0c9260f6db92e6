"""Building a partnership's form in a test as the service does: its directory choices filled, CSRF off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Flask
from wtforms import SelectChoice

from portal.domain.notice_definition import NoticeDefinition
from portal.web.forms import notice_form
from portal.web.forms.base import PortalForm


def validated_form(
    app: Flask,
    definition: NoticeDefinition,
    data: dict[str, Any],
    *,
    contacts: Sequence[tuple[str, str]] = (),
    agencies: Sequence[tuple[str, str]] = (),
) -> tuple[PortalForm, bool]:
    """Post ``data`` to the form with these directory choices and validate it; return the form and the verdict."""
    with app.test_request_context(method="POST", data=data):
        form = notice_form(definition.code)(meta={"csrf": False})
        for names, first, offered in (
            (definition.recipient_fields, "Choose a contact", contacts),
            (definition.agency_fields, "Choose an agency", agencies),
        ):
            for name in names:
                form[name].choices = [SelectChoice("", first), *(SelectChoice(v, label) for v, label in offered)]
        return form, form.validate()
