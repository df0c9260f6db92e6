"""The Escalation Portal: formal professional-challenge notices for children's safeguarding partnerships.

This package's root is the composition root: ``create_app`` builds the web app (portal.web) and adds the
command line (portal.commands), the one layer above it.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

from portal.commands import init_app as init_commands
from portal.web.app import create_web_app

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build a portal app: the web application and its `flask --app portal` commands.

    Served (gunicorn, tests), a production app refuses to start without its keys. Loaded by the command line
    it starts without them, because `generate-keys --production` and `init` are what create them; every
    command that needs the keys then says they are missing, and pages answer 503 until they exist.
    """
    # Flask's CLI builds the app inside its click context; a WSGI server or a test never has one.
    under_cli = click.get_current_context(silent=True) is not None
    app = create_web_app(test_config, keys_required=not under_cli)
    init_commands(app)
    return app
