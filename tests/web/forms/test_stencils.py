"""Form fields rendered through stencils are byte for byte what the GOV.UK macros render, and the cache of
stencils holds nothing anyone typed (portal/web/forms/stencils.py, issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from unittest import mock

import pytest
from flask import Flask, get_template_attribute, render_template
from flask_wtf import FlaskForm
from govuk_frontend_wtf.gov_form_base import GovFormBase
from werkzeug.datastructures import MultiDict

from portal.partnerships import NOTICES
from portal.web.forms import notice_form
from portal.web.forms.base import PortalForm, date_fields
from portal.web.forms.notice import fill_directory_choices
from portal.web.forms.stencils import SECTIONS, Stencils, _Stenciled, notice_sections

CANARY = "Zebedee-Canary"
# What a writer may type: markup, quotes, ampersands, the stencil's own slot marker, a leading newline (which a
# textarea would swallow), non-Latin script and emoji.
HOSTILE = [
    f"<script>alert(\"{CANARY}\")</script> & 'quoted'",
    f"\ue0000\ue001{CANARY}\ue0001\ue001 \x1e0\x1f",
    f"\n{CANARY} first line\nsecond line",
    f"{CANARY} Zoë Ōkubo 李 🙂",
]
CONTACTS = [("101", "Rochdale Children's Social Care: Team manager"), ("102", 'Police & "Partners": <Duty>')]
AGENCIES = [("7", "Greater Manchester Police"), ("8", "Health & Wellbeing <NHS>")]


@contextmanager
def macros_only() -> Iterator[None]:
    """Render the way govuk-frontend-wtf does, through its templates every time."""
    with mock.patch.object(_Stenciled, "render", GovFormBase.render):
        yield


def a_form(code: str, values: dict[str, str | list[str]]) -> PortalForm:
    definition = NOTICES[code]
    data: MultiDict[str, str] = MultiDict()
    for name, value in values.items():
        for part in value if isinstance(value, list) else [value]:
            data.add(name, part)
    form = notice_form(code)(formdata=data, meta={"csrf": False})
    fill_directory_choices(form, definition, CONTACTS, AGENCIES)
    return form


def answers(code: str, text: str, *, choose: bool) -> dict[str, str | list[str]]:
    """Every question of the form answered with ``text`` (dates as hostile parts), choices chosen or not."""
    form_class = notice_form(code)
    dates = date_fields(form_class)
    probe = a_form(code, {})
    values: dict[str, str | list[str]] = {}
    for name in NOTICES[code].field_order:
        field = probe[name]
        if name in dates:
            values[name] = ["3", text[:6], "2019"]
        elif getattr(field, "choices", None) is not None:
            offered = [c[0] if isinstance(c, tuple) else c.value for c in field.choices]
            real = [v for v in offered if v]
            if choose and real:
                values[name] = real[-1]
        else:
            values[name] = text
    return values


def rendered(app: Flask, form: PortalForm, code: str) -> list[str]:
    render_field = get_template_attribute("partials/notice-fields.html", "render_field")
    return [str(render_field(form[name])) for name in NOTICES[code].field_order] + [str(form["submit"]())]


@pytest.mark.parametrize("code", sorted(NOTICES))
def test_every_field_renders_as_the_macros_render_it_whatever_is_typed(app: Flask, code: str) -> None:
    with app.test_request_context():
        for text in [*HOSTILE, ""]:
            for choose in (True, False):
                values = answers(code, text, choose=choose)
                with macros_only():
                    expected = rendered(app, a_form(code, values), code)
                assert rendered(app, a_form(code, values), code) == expected  # the stencil's first use
                assert rendered(app, a_form(code, values), code) == expected  # and filled again
                assert not any("\ue000" in html and "\ue000" not in text for html in expected)
        # What was typed is in the page, escaped: the stencil did not drop or double it.
        page = "".join(rendered(app, a_form(code, answers(code, HOSTILE[0], choose=True)), code))
        assert "&lt;script&gt;alert(&#34;Zebedee-Canary&#34;)" in page and "<script>" not in page


@pytest.mark.parametrize("code", sorted(NOTICES))
def test_fields_with_errors_render_as_the_macros_render_them(app: Flask, code: str) -> None:
    with app.test_request_context():
        values = answers(code, HOSTILE[0], choose=False)
        for name in date_fields(notice_form(code)):
            values[name] = ["31", "2", "20x9"]  # not a date: every date field has an error
        form = a_form(code, values)
        assert not form.validate()
        with macros_only():
            expected = rendered(app, form, code)
        assert rendered(app, form, code) == expected
        assert sum("govuk-error-message" in html for html in expected) >= len(date_fields(notice_form(code)))


def test_the_cache_holds_no_typed_answer_and_is_the_apps_own(app: Flask) -> None:
    code = "rochdale-v4" if "rochdale-v4" in NOTICES else sorted(NOTICES)[0]
    with app.test_request_context():
        rendered(app, a_form(code, answers(code, HOSTILE[0], choose=True)), code)
        cache: Stencils = app.extensions["portal.stencils"]
        assert cache._by_shape, "the form's fields went through the stencils"
        held = repr(cache._by_shape)
        assert CANARY not in held and "2019" not in held  # typed text and date parts are slots, not shapes
        second = Flask("other")
        assert "portal.stencils" not in second.extensions


def every_other_form() -> list[type[FlaskForm]]:
    from portal.web.forms import actions, admin, auth, raise_notice, search, verify

    found: dict[str, type[FlaskForm]] = {}
    for module in (actions, admin, auth, raise_notice, search, verify):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, FlaskForm) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{value.__name__}"] = value
    return [found[name] for name in sorted(found)]


@pytest.mark.parametrize("form_class", every_other_form(), ids=lambda c: c.__name__)
def test_the_other_forms_render_as_the_macros_render_them(app: Flask, form_class: type[FlaskForm]) -> None:
    with app.test_request_context(method="POST"):
        for text in [*HOSTILE, ""]:
            for check in (False, True):
                probe = form_class(meta={"csrf": False})
                data: MultiDict[str, str] = MultiDict({f.name: text for f in probe if f.type != "SubmitField"})
                form = form_class(formdata=data, meta={"csrf": False})
                for field in form:
                    if getattr(field, "choices", None) == []:
                        field.choices = [("", "Choose"), ("1", 'One & "only"')]
                if check:
                    form.validate()
                with macros_only():
                    expected = [str(field()) for field in form if field.type != "CSRFTokenField"]
                assert [str(field()) for field in form if field.type != "CSRFTokenField"] == expected
                assert [str(field()) for field in form if field.type != "CSRFTokenField"] == expected


def whole(form: PortalForm, code: str) -> str:
    return str(notice_sections(form, NOTICES[code]))


def field_by_field(form: PortalForm, code: str) -> str:
    with macros_only():
        return render_template(SECTIONS, form=form, definition=NOTICES[code])


@pytest.mark.parametrize("code", sorted(NOTICES))
def test_the_whole_form_from_its_stencil_is_what_the_macros_render(app: Flask, code: str) -> None:
    with app.test_request_context():
        for text in [*HOSTILE, "", "2019"]:
            for choose in (True, False):
                values = answers(code, text, choose=choose)
                expected = field_by_field(a_form(code, values), code)
                assert whole(a_form(code, values), code) == expected  # the stencil drawn
                assert whole(a_form(code, values), code) == expected  # and filled again
        # Stored answers come back as dates held as data, not typed parts: shown the same way.
        form = a_form(code, answers(code, HOSTILE[0], choose=True))
        for name in date_fields(notice_form(code)):
            form[name].raw_data, form[name].data = None, date(2020, 2, 29)
        assert whole(form, code) == field_by_field(form, code)
        # What was typed is in the page once, escaped.
        page = whole(a_form(code, answers(code, HOSTILE[0], choose=True)), code)
        assert "&lt;script&gt;alert(&#34;Zebedee-Canary&#34;)" in page and "<script>" not in page
        drawn = app.extensions["portal.stencils"]._by_shape
        assert any(key[0] == SECTIONS for key in drawn), "the whole form went through its stencil"
        held = repr(drawn)
        assert CANARY not in held and "2019" not in held and "2020" not in held


@pytest.mark.parametrize("code", sorted(NOTICES))
def test_a_form_with_errors_is_drawn_field_by_field(app: Flask, code: str) -> None:
    with app.test_request_context():
        values = answers(code, HOSTILE[0], choose=False)
        for name in date_fields(notice_form(code)):
            values[name] = ["31", "2", "20x9"]
        form = a_form(code, values)
        assert not form.validate()
        assert whole(form, code) == field_by_field(form, code)
        assert not any(
            key[0].startswith("partials/notice-sections") for key in app.extensions["portal.stencils"]._by_shape
        )


def test_a_choice_with_html_attributes_keys_the_whole_form_too() -> None:
    from portal.web.forms.stencils import _choice_key

    keys = {_choice_key(("a", "A", {"disabled": True})), _choice_key(("a", "A", {})), _choice_key(("a", "A"))}
    assert len(keys) == 3  # hashable, and told apart
