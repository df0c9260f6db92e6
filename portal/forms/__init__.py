"""Notice forms: one module per partnership form, registered by form code.

Every module in this package that defines ``FORM_CODE`` and ``DEFINITION`` is a partnership's form and
is registered here; the shared base and the portal's own forms (sign-in, actions) define neither.
Nothing lists the modules, so adding a partnership's form is adding its module.
"""

from __future__ import annotations

import importlib
import pkgutil

from portal.forms.base import NoticeFormDefinition

FORMS: dict[str, NoticeFormDefinition] = {}


def register_form(definition: NoticeFormDefinition) -> NoticeFormDefinition:
    """Register a form definition (a test or plug-in form; the package's own are registered on import)."""
    existing = FORMS.get(definition.code)
    if existing is not None and existing is not definition:
        raise ValueError(f"form code {definition.code!r} is already registered")
    FORMS[definition.code] = definition
    return definition


def form_definition(code: str) -> NoticeFormDefinition | None:
    """Return the form definition for a code, or None for a form not built yet."""
    return FORMS.get(code)


def _load_forms() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        definition = getattr(module, "DEFINITION", None)
        if isinstance(definition, NoticeFormDefinition):
            register_form(definition)


_load_forms()
