"""The portal's forms. A partnership's notice form lives in its own package (``portal/partnerships/<name>/form.py``)
and is found here by its notice's form code."""

from __future__ import annotations

from portal.partnerships import part
from portal.web.forms.base import PortalForm


def notice_form(form_code: str) -> type[PortalForm]:
    """Return the form class that asks a partnership's notice."""
    form_class: type[PortalForm] = part(form_code, "form").FORM
    return form_class
