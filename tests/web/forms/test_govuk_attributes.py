"""The Python govukAttributes renders exactly what govuk-frontend-jinja's macro renders, on every form page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader
from markupsafe import Markup

from portal.domain.models import Role
from portal.partnerships import PARTNERSHIPS
from tests.helpers import Accounts, csrf_from, sign_in

CASES: list[Any] = [
    None,
    {},
    "",
    ' data-module="govuk-button"',
    Markup(' data-x="<b>"'),
    {"id": "a", "data-count": 3, "aria-hidden": True, "hidden": False, "title": "<script>&\"'"},
    {"name": None, "blank": ""},
    {"hidden": {"value": True, "optional": True}},
    {"hidden": {"value": False, "optional": True}},
    {"hidden": {"value": None, "optional": True}},
    {"hidden": {"value": "", "optional": True}},
    {"hidden": {"value": "yes", "optional": False}},
    {"hidden": {"value": "x"}},
    {"hidden": {"optional": True}},
    {"safe": {"val": Markup("<i>kept</i>")}},
    {"safe": {"val": None, "value": "v"}},
    {"<odd name>": "v"},
]


def package_macro() -> Any:
    env = Environment(
        loader=PackageLoader("govuk_frontend_jinja"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    return env.get_template("macros/attributes.html").module.govukAttributes  # type: ignore[attr-defined]


@pytest.mark.parametrize("attributes", CASES)
def test_the_python_attributes_match_the_macro(app: Flask, attributes: Any) -> None:
    with app.test_request_context():
        shadow = app.jinja_env.get_template("govuk_frontend_jinja/macros/attributes.html").module.govukAttributes  # type: ignore[attr-defined]
        assert str(shadow(attributes)) == str(package_macro()(attributes))


def _drafts(app: Flask, accounts: Accounts) -> dict[str, tuple[FlaskClient, str]]:
    """A practitioner of each partnership with a draft open: (their client, the draft's form page)."""
    drafts = {}
    for slug in PARTNERSHIPS:
        client = app.test_client()
        sign_in(client, app, accounts.make(Role.PRACTITIONER, partnership=slug))
        start = client.get("/notices/new")
        draft = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(start.text)})
        drafts[slug] = (client, draft.headers["Location"])
    return drafts


def _pages(drafts: dict[str, tuple[FlaskClient, str]]) -> dict[str, str]:
    """Each form page empty, and posted empty (every error message shown), with tokens masked."""
    pages = {}
    for slug, (client, url) in drafts.items():
        empty = client.get(url).text
        errors = client.post(url, data={"csrf_token": csrf_from(empty)}).text
        # Only what changes with the clock is masked: CSRF tokens, nonces and the session countdown.
        page = re.sub(r'(nonce|data-csrf-token|data-seconds-left)="[^"]*"', r'\1="…"', empty + errors)
        pages[slug] = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value="…"', page)
    return pages


def test_every_form_page_is_byte_identical_with_the_package_macro(app: Flask, accounts: Accounts) -> None:
    drafts = _drafts(app, accounts)
    shadowed = _pages(drafts)
    original_loader = app.jinja_loader
    # The package's own macro first: only the shadowed file differs between the two loaders.
    app.jinja_loader = ChoiceLoader(
        [PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}), original_loader]  # type: ignore[list-item]
    )
    app.jinja_env.cache.clear()  # type: ignore[union-attr]
    try:
        # The package's file, not the portal's shadow (whatever folder the checkout itself sits in).
        loaded = app.jinja_env.get_template("govuk_frontend_jinja/macros/attributes.html").filename or ""
        assert "site-packages" in loaded and "portal/templates" not in loaded, loaded
        packaged = _pages(drafts)
    finally:
        app.jinja_loader = original_loader
        app.jinja_env.cache.clear()  # type: ignore[union-attr]
    for slug in PARTNERSHIPS:
        assert "govuk-input" in shadowed[slug] and "govuk-error-message" in shadowed[slug]
        assert shadowed[slug] == packaged[slug], slug
