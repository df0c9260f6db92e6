"""Notice forms, one module per partnership form, registered by form code."""

from __future__ import annotations

from portal.forms import rochdale
from portal.forms.base import NoticeFormDefinition

FORMS: dict[str, NoticeFormDefinition] = {
    rochdale.FORM_CODE: rochdale.DEFINITION,
}


def form_definition(code: str) -> NoticeFormDefinition | None:
    """Return the form definition for a code, or None for a form not built yet."""
    return FORMS.get(code)
