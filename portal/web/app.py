"""The web application: configuration, database, keys, sessions, security headers, blueprints, error pages."""

from __future__ import annotations

import logging
import secrets
from collections.abc import MutableMapping
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.templating import Environment
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.domain import file_types
from portal.domain.dates import london_today, long_date, long_datetime
from portal.domain.models import User
from portal.infrastructure.crypto import KeyringError
from portal.services.errors import ConfigurationError
from portal.services.runtime import build_services
from portal.web import access, database, errors, header, security
from portal.web.config import check_production_config, load_config
from portal.web.forms import stencils
from portal.web.govuk_attributes import govuk_attributes
from portal.web.sessions import DatabaseSessionInterface
from portal.web.views import (
    account,
    admin,
    auth,
    business,
    devmail,
    directory,
    home,
    invitations,
    notices,
    search,
    verify,
)
from portal.web.views import reports as report_views


class _Environment(Environment):
    """Flask's Jinja environment, with each template's globals a plain dict rather than a ChainMap.

    Every ``{% from ... import ... %}`` (23 on a form page, and more inside the GOV.UK macros) makes Jinja compare
    the names of the importing context's globals with the imported template's (``Template._get_default_module``).
    Over a ChainMap that is a Python-level lookup per name per import: about 390 a form page, 7% of its time.
    Over a dict it is one set operation in C. The portal sets all its globals in ``create_web_app``, before any
    template is loaded, as Jinja asks ("avoid modifying any globals after a template is loaded"), so a copy taken
    when a template loads is the whole of them.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class _Flask(Flask):
    jinja_environment = _Environment


def create_web_app(test_config: dict[str, Any] | None = None, *, keys_required: bool = True) -> Flask:
    """Build the portal's web app (portal.create_app adds the command line).

    keys_required=False lets a production app start without its keys (for the commands that create them).
    """
    # Named for the package, not this module: templates, static files and instance/ are found from "portal".
    app = _Flask("portal", instance_relative_config=True)
    load_config(app, test_config)
    check_production_config(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_logging(app)
    if not app.config["SECRET_KEY"]:
        # Development before `flask --app portal init` has written instance/secret_key.
        app.logger.warning("no secret key configured; using a temporary one (run `flask --app portal init`)")
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)

    if app.config["PROXY_FIX_HOPS"]:
        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's documented way
    database.init_app(app)
    try:
        _init_services(app, keys_required=keys_required)
        if app.config["ENV"] == "production":
            _refuse_demo_users(app)
    except ConfigurationError:
        # Refusing to start: release the connection pool rather than leave it to the garbage collector.
        app.extensions["portal.engine"].dispose()
        raise

    app.jinja_loader = ChoiceLoader(
        [
            PackageLoader("portal"),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    WTFormsHelpers(app)
    stencils.init_app(app)
    header.init_app(app)
    app.jinja_env.globals["govuk_attributes"] = govuk_attributes
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["long_datetime"] = long_datetime
    app.jinja_env.filters["lines"] = preserve_lines
    # Clocks on pages compare with today in England, whatever the server's time zone.
    app.context_processor(lambda: {"today": _today(app)})

    app.session_interface = DatabaseSessionInterface(app)
    # Before the CSRF check reads the body: only the evidence upload may send more than MAX_CONTENT_LENGTH.
    app.before_request(_upload_limit)
    CSRFProtect(app)
    _init_login(app)
    security.init_app(app)
    errors.init_app(app)

    for module in (home, auth, account, notices, business, search, report_views, invitations, verify):
        app.register_blueprint(module.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(directory.bp)
    if app.config["ENV"] == "development":
        app.register_blueprint(devmail.bp)
    access.rule("public")(app.view_functions["static"])
    app.before_request(access.enforce_role_rule)
    return app


def _today(app: Flask) -> date:
    services = app.extensions.get("portal.services")
    return services.today() if services is not None else london_today()


def _init_services(app: Flask, *, keys_required: bool) -> None:
    """Load keys and the signing certificate; in development they may not exist until `init` runs."""
    try:
        app.extensions["portal.services"] = build_services(app.config)
    except (KeyringError, FileNotFoundError) as exc:
        if app.config["ENV"] == "production" and keys_required:
            raise ConfigurationError(str(exc)) from exc
        app.logger.warning("keys not loaded (%s); run `flask --app portal init`", exc.__class__.__name__)
        app.extensions["portal.services"] = None

        @app.before_request
        def not_initialised() -> tuple[str, int] | None:
            # Until `init` has made the keys there is nothing safe to serve but static files.
            if app.extensions.get("portal.services") is None and request.endpoint != "static":
                return "The portal is not initialised: run `flask --app portal init`.", 503
            return None


def _refuse_demo_users(app: Flask) -> None:
    try:
        with database.session_factory(app)() as session:
            demo = session.execute(select(User.id).where(User.is_demo.is_(True)).limit(1)).first()
    except DBAPIError:
        # Not migrated yet: a new database has no users at all.
        return
    if demo is not None:
        raise ConfigurationError("demo users exist; delete them before running in production")


def _init_login(app: Flask) -> None:
    login_manager = LoginManager()
    login_manager.login_view = "auth.sign_in"
    # Sessions are server-side and revocable, so flask-login's IP/agent fingerprint adds nothing.
    login_manager.session_protection = None
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # Every page names the user's partnership and agency: load them with the user, not one query each. The
        # session store has usually read them already, with the session (portal.web.sessions): then no query.
        user = database.get_session().get(
            User, int(user_id), options=[joinedload(User.partnership), joinedload(User.agency)]
        )
        if user is None or not user.is_active or user.totp_confirmed_at is None:
            return None
        return user


def _configure_logging(app: Flask) -> None:
    """Log to instance/portal.log as well as stderr; log lines hold ids and counts, never case data."""
    app.logger.setLevel(app.config["LOG_LEVEL"])
    log_file = app.config["LOG_FILE"]
    if log_file and not any(
        getattr(h, "baseFilename", None) == str(Path(log_file).resolve()) for h in app.logger.handlers
    ):
        handler = logging.FileHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        app.logger.addHandler(handler)


def preserve_lines(value: object) -> Markup:
    """Free text in an element of its own that keeps the writer's line breaks.

    The class goes on this element, not on the summary list's <dd>: the macro puts a newline and indent before
    the text, which ``white-space: pre-line`` would show as an empty first line.
    """
    return (
        Markup('<span class="app-preserve-lines">')
        + escape(str(value if value is not None else ""))
        + Markup("</span>")
    )


def _upload_limit() -> None:
    """Let the evidence upload carry one file of up to its stated limit (and the form around it)."""
    if request.endpoint == "notices.evidence_upload" and request.method == "POST":
        request.max_content_length = file_types.MAX_BYTES + 256 * 1024
