"""GOV.UK form fields rendered once per shape, then filled (issue 11: form pages in a few milliseconds).

govuk-frontend-wtf renders every field of every request through the govuk-frontend-jinja macros: about 0.3 ms a
field, 80% of a 25-question form page. The markup of a field depends on its label, hint, choices and options,
which are the same on every request for a given form, and on what the writer typed, which is not. So each field
is rendered once with numbered placeholders where the typed values go, the result is split at the placeholders
(a *stencil*), and later requests join the pieces with the values, escaped exactly as Jinja's autoescape escapes
them. The markup is the macros' own, byte for byte (tests/web/test_stencils.py compares both for every field of
every partnership's form, with hostile values).

What is cached holds no answer: typed values (text, dates) are placeholders, and an empty value is kept as it is
because the macros leave out the attribute for it. A choice (radios, selects) is part of the shape, since the
macros mark the chosen item; those are codes and directory entries, not what anyone wrote. A field with an
error message is rendered in full every time (rare, and its message may quote what was typed).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from flask import Flask, current_app, render_template
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovDateInput,
    GovFileInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from markupsafe import Markup, escape

# Two private-use characters around the slot number: autoescape leaves them alone, no label or hint holds them,
# and unlike control characters Python does not count them as whitespace (the macros trim some values).
_SLOT = "\ue000{}\ue001"
_SLOT_RE = re.compile("\ue000(\\d+)\ue001")
# Enough for every field of every partnership's forms in each shape a page shows; a directory change adds
# shapes (new choices), so the oldest are dropped past this.
_MAX_STENCILS = 2048


class Stencils:
    """One app's cache of stencils (per process), keyed by template and the shape of the params."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_shape: dict[tuple[str, Any], tuple[list[str], list[int]]] = {}

    def render(self, template: str, params: dict[str, Any]) -> Markup:
        values: list[Any] = []
        shape = None if params.get("errorMessage") else _with_slots(params, values)
        if shape is None:
            return Markup(render_template(template, params=params))  # noqa: S704  # the macros' own output
        key = (template, repr(shape))
        stencil = self._by_shape.get(key)
        if stencil is None:
            stencil = _cut(str(render_template(template, params=shape)))
            self.keep(key, stencil)
        return _fill(stencil, values)

    def find(self, key: tuple[str, Any]) -> tuple[list[str], list[int]] | None:
        return self._by_shape.get(key)

    def keep(self, key: tuple[str, Any], stencil: tuple[list[str], list[int]]) -> None:
        with self._lock:
            if len(self._by_shape) >= _MAX_STENCILS:
                self._by_shape.pop(next(iter(self._by_shape)))
            self._by_shape[key] = stencil


def _fill(stencil: tuple[list[str], list[int]], values: list[Any]) -> Markup:
    pieces, slots = stencil
    out = [pieces[0]]
    for slot, piece in zip(slots, pieces[1:], strict=True):
        out.append(escape(values[slot]))
        out.append(piece)
    return Markup("".join(out))  # noqa: S704  # the macros' markup, and every value escaped above


_EXTENSION = "portal.stencils"


def init_app(app: Flask) -> None:
    """Give the app its stencil cache and the ``notice_sections()`` template global."""
    app.extensions[_EXTENSION] = Stencils()
    app.jinja_env.globals["notice_sections"] = notice_sections


# The notice form's sections, fields and button: one template, stencilled whole (notice_sections).
SECTIONS = "partials/notice-sections.html"
_TYPED = "\ue000"  # stands in the shape for an answer that is a slot


def notice_sections(form: Any, definition: Any) -> Markup:
    """The notice form's sections, fields and submit button, from a stencil of the whole form.

    Field by field, a stencil still costs its widget: WTForms' call chain and govuk-frontend-wtf's parameters,
    merged, copied and keyed, 0.1 ms a field and a fifth of a form page. The form as a whole is as fixed: its
    shape is the form, its choices and which are chosen, and which answers are blank; every answer typed is a
    slot. So the form is rendered once per shape with slot markers in its fields (``_value()``, or a date's three
    parts), and later requests join the pieces with the answers as the fields would show them, escaped as
    autoescape escapes them. A form with an error message, or a date part holding a line break, is rendered as
    before, field by field. ``tests/web/forms/test_stencils.py`` holds it to the macros' output, byte for byte.
    """
    if form.errors:
        return Markup(render_template(SECTIONS, form=form, definition=definition))  # noqa: S704  # the macros' own
    shape: list[Any] = [definition.code]
    values: list[Any] = []
    marked: list[tuple[Any, str, Any]] = []  # (field, attribute, what it holds while the stencil is drawn)
    known: dict[int, tuple[Any, ...]] = {}
    # Every field the template draws, in its order: an answer left out of the shape and the slots would be kept.
    for field in (form[name] for section in definition.sections for name in section.fields):
        if field.type == "GovukDateField":
            parts = field.raw_data if field.raw_data is not None else _date_parts(field.data)
            if any(_typed(part) and part.splitlines() != [part] for part in parts):
                return Markup(render_template(SECTIONS, form=form, definition=definition))  # noqa: S704
            shape.append(tuple(_TYPED if _typed(part) else part for part in parts))
            slots = [_slot(values, part) if _typed(part) else part for part in parts]
            if any(_typed(part) for part in parts):
                marked.append((field, "raw_data", slots))
        elif hasattr(field, "choices"):
            choices = known.get(id(field.choices))
            if choices is None:
                choices = known[id(field.choices)] = tuple(_choice_key(choice) for choice in field.choices)
            shape.append((choices, field.data))
        else:
            value = field._value()
            shape.append(_TYPED if _typed(value) else value)
            if _typed(value):
                marked.append((field, "data", _slot(values, value)))
    cache = stencils()
    key = (SECTIONS, tuple(shape))
    stencil = cache.find(key)
    if stencil is None:
        held = [(field, attribute, getattr(field, attribute)) for field, attribute, _marker in marked]
        try:
            for field, attribute, marker in marked:
                setattr(field, attribute, marker)
            stencil = _cut(str(render_template(SECTIONS, form=form, definition=definition)))
        finally:
            for field, attribute, value in held:
                setattr(field, attribute, value)
        cache.keep(key, stencil)
    return _fill(stencil, values)


def _date_parts(value: Any) -> list[Any]:
    # As govuk-frontend-wtf's date input shows a date held as data (not typed): day, month, year.
    return value.strftime("%d %m %Y").split(" ") if value else [None, None, None]


def _choice_key(choice: Any) -> tuple[Any, ...]:
    # A choice is (value, label), perhaps with its render_kw dict, or WTForms' SelectChoice: keyed as a tuple.
    if isinstance(choice, tuple):
        return tuple(repr(part) if isinstance(part, dict) else part for part in choice)
    return (choice.value, choice.label, choice.optgroup, repr(choice.render_kw) if choice.render_kw else None)


def stencils() -> Stencils:
    """The current app's stencil cache."""
    cache: Stencils = current_app.extensions[_EXTENSION]
    return cache


def _with_slots(params: dict[str, Any], values: list[Any]) -> dict[str, Any] | None:
    """A copy of ``params`` with each typed value (the field's own, and each part of a date) replaced by a slot,
    or None when the field must be rendered in full.

    Values that are empty stay as they are: the macros test them (an empty value attribute is left out). The
    date input indents its boxes' markup, line by line, so a part holding a line break comes out re-indented:
    such a part (never a date) is left to the macros."""
    shape = dict(params)
    if _typed(shape.get("value")):
        shape["value"] = _slot(values, shape["value"])
    if "items" in shape and isinstance(shape["items"], list) and _is_date(shape["items"]):
        items = []
        for item in shape["items"]:
            item = dict(item)
            if _typed(item.get("value")) and item["value"].splitlines() != [item["value"]]:
                return None
            if _typed(item.get("value")):
                item["value"] = _slot(values, item["value"])
            items.append(item)
        shape["items"] = items
    return shape


def _is_date(items: list[Any]) -> bool:
    # A date input's items are its Day, Month and Year boxes; radios and selects carry "text" (the choice).
    return bool(items) and all(isinstance(i, dict) and "label" in i and "text" not in i for i in items)


def _typed(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _slot(values: list[Any], value: Any) -> str:
    values.append(value)
    return _SLOT.format(len(values) - 1)


def _cut(html: str) -> tuple[list[str], list[int]]:
    parts = _SLOT_RE.split(html)
    return parts[0::2], [int(n) for n in parts[1::2]]


class _Stenciled:
    """Render through the stencil cache instead of the template, with the same params."""

    template: str

    def render(self, params: dict[str, Any]) -> Markup:
        return stencils().render(self.template, params)


class TextInput(_Stenciled, GovTextInput):
    pass


class CharacterCount(_Stenciled, GovCharacterCount):
    pass


class DateInput(_Stenciled, GovDateInput):
    pass


class Select(_Stenciled, GovSelect):
    pass


class Radios(_Stenciled, GovRadioInput):
    pass


class SubmitButton(_Stenciled, GovSubmitInput):
    pass


class PasswordInput(_Stenciled, GovPasswordInput):
    pass


class FileInput(_Stenciled, GovFileInput):
    pass
