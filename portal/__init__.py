"""The Escalation Portal: formal professional-challenge notices for children's safeguarding partnerships."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from portal import access, db, errors, security
from portal.config import ConfigurationError, check_production_config, load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build a portal app: configuration, database, keys, sessions, security headers, blueprints."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    check_production_config(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_logging(app)
    if not app.config["SECRET_KEY"]:
        # Development before `flask --app portal init` has written instance/secret_key.
        app.logger.warning("no secret key configured; using a temporary one (run `flask --app portal init`)")
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)

    if app.config["PROXY_FIX_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    db.init_app(app)
    try:
        _init_services(app)
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
    from portal.services import stages
    from portal.timeutil import long_date, long_datetime

    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["long_datetime"] = long_datetime
    # Clocks on pages compare with today in England, whatever the server's time zone.
    app.context_processor(lambda: {"today": stages.current_date()})

    from portal.web_sessions import DatabaseSessionInterface

    app.session_interface = DatabaseSessionInterface(app)
    CSRFProtect(app)
    _init_login(app)
    security.init_app(app)
    errors.init_app(app)

    from portal import account, auth, business, home, notices, search

    for module in (home, auth, account, notices, business, search):
        app.register_blueprint(module.bp)
    if app.config["ENV"] == "development":
        from portal import devmail

        app.register_blueprint(devmail.bp)
    app.view_functions["static"].access_rule = "public"  # type: ignore[attr-defined]
    app.before_request(access.enforce_role_rule)

    from portal import cli

    cli.init_app(app)
    return app


def _init_services(app: Flask) -> None:
    """Load keys and the signing certificate; in development they may not exist until `init` runs."""
    from portal.crypto import KeyringError
    from portal.services.runtime import build_services

    try:
        app.extensions["portal.services"] = build_services(app)
    except (KeyringError, FileNotFoundError) as exc:
        if app.config["ENV"] == "production":
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
    from sqlalchemy import select
    from sqlalchemy.exc import DBAPIError

    from portal.models import User

    try:
        with db.session_factory(app)() as session:
            demo = session.execute(select(User.id).where(User.is_demo.is_(True)).limit(1)).first()
    except DBAPIError:
        # Not migrated yet: a new database has no users at all.
        return
    if demo is not None:
        raise ConfigurationError("demo users exist; delete them before running in production")


def _init_login(app: Flask) -> None:
    from portal.models import User

    login_manager = LoginManager()
    login_manager.login_view = "auth.sign_in"
    # Sessions are server-side and revocable, so flask-login's IP/agent fingerprint adds nothing.
    login_manager.session_protection = None
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.get_session().get(User, int(user_id))
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
