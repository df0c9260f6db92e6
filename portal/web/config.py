"""Configuration: defaults here, then instance/config.py, then PORTAL_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from portal.services.errors import ConfigurationError

DEFAULTS: dict[str, Any] = {
    # "development" or "production"; production refuses demo users, development keys and the dev mailer.
    "ENV": "development",
    # None means "instance/portal.sqlite".
    "DATABASE_URL": None,
    # None means "instance/keys".
    "KEY_DIR": None,
    "SECRET_KEY": None,
    # Links in e-mails are built from this, never from the request's Host header (host-header injection).
    "BASE_URL": "http://127.0.0.1:5000",
    # "dev" keeps every message on this machine (readable at /dev/mail); "smtp" delivers.
    "MAILER": "dev",
    "MAIL_FROM": "escalation-portal@localhost",
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": 25,
    "SMTP_STARTTLS": False,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_TIMEOUT_SECONDS": 10,
    # Back-off between delivery attempts while the SMTP server is unreachable: 5 s doubling to 15 min.
    "MAIL_RETRY_BASE_SECONDS": 5,
    "MAIL_RETRY_MAX_SECONDS": 900,
    "MAIL_POLL_SECONDS": 2,
    # Who is e-mailed when a bait (honey-token) notice is touched; the audit and the log record it regardless.
    "SECURITY_ALERT_EMAIL": None,
    # How often the mail worker looks for overdue stages to chase (each once per overdue period).
    "CHASE_INTERVAL_SECONDS": 300,
    # A stage still overdue is chased again after this many working days (one chase per overdue period).
    "CHASE_EVERY_WORKING_DAYS": 5,
    # An invitation sent in a notice's e-mail to a contact without an account stays usable this many days.
    "INVITATION_DAYS": 7,
    # A password reset link stays usable this many minutes.
    "PASSWORD_RESET_MINUTES": 60,
    # Sessions: signed out after 30 min idle (SecureDrop uses 120; case data warrants less) or 10 h in all.
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_ABSOLUTE_HOURS": 10,
    # Argon2id parameters (argon2-cffi defaults; tests lower them to stay fast).
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_KIB": 65536,
    "ARGON2_PARALLELISM": 4,
    # Flask-WTF: a long notice can take an hour to write; the session idle timeout is the real limit.
    "WTF_CSRF_TIME_LIMIT": None,
    # Flask-WTF's HTTPS check compares the Referer with the host, but every page sends
    # Referrer-Policy: no-referrer, so browsers send none and every POST would fail. The CSRF token
    # and SameSite cookies carry the protection instead.
    "WTF_CSRF_SSL_STRICT": False,
    # How many reverse proxies sit in front (X-Forwarded-For / -Proto are trusted from that many hops).
    # Without it, sign-in throttling per address would count everyone as the proxy's one address.
    "PROXY_FIX_HOPS": 0,
    "SESSION_COOKIE_NAME": "portal_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "LOG_LEVEL": "INFO",
    # None means "instance/portal.log". Nothing identifying a child is ever logged.
    "LOG_FILE": None,
}


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Layer defaults, instance/config.py and PORTAL_* variables (or the test mapping) onto app.config."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PORTAL")
    else:
        app.config.from_mapping(test_config)

    instance = Path(app.instance_path)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.sqlite'}"
    if not app.config["KEY_DIR"]:
        app.config["KEY_DIR"] = str(instance / "keys")
    if not app.config["LOG_FILE"]:
        app.config["LOG_FILE"] = str(instance / "portal.log")
    if not app.config["SECRET_KEY"]:
        secret_file = instance / "secret_key"
        if app.config["ENV"] != "production" and secret_file.exists():
            app.config["SECRET_KEY"] = secret_file.read_text().strip()
    if app.config["ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        # The __Host- prefix pins the cookie to this host and path "/" and requires Secure.
        app.config["SESSION_COOKIE_NAME"] = "__Host-portal_session"


def check_production_config(app: Flask) -> None:
    """Refuse to serve production with development shortcuts; raise ConfigurationError naming the problem."""
    config = app.config
    if config["ENV"] not in {"development", "production"}:
        raise ConfigurationError(f"PORTAL_ENV must be 'development' or 'production', not {config['ENV']!r}")
    if config["ENV"] != "production":
        return
    if not config["SECRET_KEY"]:
        raise ConfigurationError("PORTAL_SECRET_KEY is not set")
    if len(str(config["SECRET_KEY"])) < 32:
        raise ConfigurationError("PORTAL_SECRET_KEY must be at least 32 characters in production")
    if config["MAILER"] != "smtp":
        raise ConfigurationError("production needs PORTAL_MAILER=smtp; the dev mailer keeps mail on this machine")
    if not str(config["BASE_URL"]).startswith("https://"):
        raise ConfigurationError("PORTAL_BASE_URL must be an https:// address in production")
