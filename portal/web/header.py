"""The page header (GOV.UK header and service navigation), rendered once per shape and then reused.

Every page draws it through two govuk-frontend-jinja macros, about 2% of the portal's CPU under load. What it
shows depends only on the partnership's name and the navigation (the signed-in person's role, and for the
administration sections which one is open), never on the person or the case: so each shape is rendered once
per process, from ``partials/site-header.html``, which is given nothing but those two things, and the markup
is the macros' own (tests/web/test_header.py compares it with the macros for every role).
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

SIGNED_OUT_LOGO = "Safeguarding children partnerships"
# Partnerships × roles × open administration section: a few dozen shapes in all; a bound all the same.
_MAX_SHAPES = 256
_EXTENSION = "portal.header"

# (href, text, active): active is None for an item that is never marked, as the macros then print no marking.
NavItem = tuple[str, str, bool | None]


class _Shapes:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_shape: dict[tuple[str, tuple[NavItem, ...]], Markup] = {}


def init_app(app: Flask) -> None:
    """Give the app its header cache and the ``site_header()`` template global."""
    app.extensions[_EXTENSION] = _Shapes()
    app.jinja_env.globals["site_header"] = site_header


def navigation(user: Any, path: str) -> tuple[NavItem, ...]:
    """The service navigation for this person on this page, in the order it is shown."""
    if not user.is_authenticated:
        return ()
    role = user.role
    items: list[NavItem] = []
    if role == "practitioner":
        items.append((url_for("notices.new"), "Raise a notice", None))
    if role == "business_manager":
        items.append((url_for("business.notices"), "All notices", None))
        items.append((url_for("reports.dashboard"), "Dashboard", None))
        items.append((url_for("reports.report"), "Reports", None))
    if role in ("practitioner", "spoc", "business_manager"):
        items.append((url_for("search.search"), "Find a child's notices", None))
    if role == "admin":
        items.append((url_for("admin.users"), "Users", path.startswith("/admin/users")))
        items.append((url_for("admin.audit_trail"), "Audit", path.startswith("/admin/audit")))
        items.append((url_for("admin.key_status"), "Keys", path.startswith("/admin/keys")))
    if role in ("admin", "business_manager"):
        items.append((url_for("directory.index"), "Directory", path.startswith("/directory")))
    return tuple(items)


def site_header() -> Markup:
    """The header's markup for the current request, rendered once per shape."""
    logo = current_user.partnership.name if current_user.is_authenticated else SIGNED_OUT_LOGO
    shape = (logo, navigation(current_user, request.path))
    shapes: _Shapes = current_app.extensions[_EXTENSION]
    markup = shapes.by_shape.get(shape)
    if markup is None:
        markup = render_shape(*shape)
        with shapes.lock:
            if len(shapes.by_shape) >= _MAX_SHAPES:
                shapes.by_shape.pop(next(iter(shapes.by_shape)))
            shapes.by_shape[shape] = markup
    return markup


def render_shape(logo: str, items: tuple[NavItem, ...]) -> Markup:
    """The header of one shape, through the GOV.UK macros."""
    nav = [
        {"href": href, "text": text} if active is None else {"href": href, "text": text, "active": active}
        for href, text, active in items
    ]
    return Markup(render_template("partials/site-header.html", logo=logo, nav=nav))  # noqa: S704  # the macros' own output
