"""The Escalation Portal: formal professional-challenge notices for children's safeguarding partnerships.

This package's root is the composition root: ``create_app`` builds the web app (portal.web) and adds the
command line (portal.commands), the one layer above it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from portal.commands import init_app as init_commands
from portal.web.app import create_web_app

__all__ = ["create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build a portal app: the web application and its `flask --app portal` commands."""
    app = create_web_app(test_config)
    init_commands(app)
    return app
