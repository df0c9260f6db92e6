"""govuk-frontend-jinja's ``govukAttributes`` macro in Python, with the same output byte for byte.

Every GOV.UK component renders its attributes through that macro, many times per form field; written as a
Jinja loop it was a sixth of a form page's time. portal/templates/govuk_frontend_jinja/macros/attributes.html
shadows the package's file with a one-line macro that calls this function, so the components (and their
markup) are otherwise untouched. tests/web/forms/test_govuk_attributes.py renders both and compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined
from markupsafe import Markup, escape


def _missing(value: Any) -> bool:
    # The macro's `value in [undefined, null, None]`: `undefined` and `null` are names Jinja leaves
    # undefined, and an Undefined equals only another Undefined.
    return value is None or isinstance(value, Undefined)


def govuk_attributes(attributes: Any) -> Markup:
    """Render component attributes as the macro does: ` name="value"` pairs, optional and boolean ones."""
    html = attributes if isinstance(attributes, str) else ""
    if isinstance(attributes, Mapping) and attributes:
        for name, value in attributes.items():
            # A `safe`-filtered value arrives as a mapping with .val: pass it through. (The macro's
            # `value.val not in [undefined, null]` lets None through: only a missing .val is Undefined.)
            if isinstance(value, Mapping) and "val" in value and len(value):
                value = value["val"]
            if isinstance(value, Mapping):
                options_value, optional = value.get("value", Undefined()), value.get("optional", Undefined())
            else:
                options_value = str(value).lower() if isinstance(value, bool) else value
                optional = False
            if optional is True and options_value is True:
                html = f"{html} {escape(name)}"
            elif (optional is True and not _missing(options_value) and options_value is not False) or (
                optional is not True
            ):
                html = f'{html} {escape(name)}="{escape(options_value)}"'
    # Safe as the macro's `| safe` is: every name and value above was escaped, and a string of attributes
    # is the template author's own markup, never user input.
    return Markup(html)  # noqa: S704
