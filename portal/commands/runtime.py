"""The services a command needs, or a plain message when the keys they are built from do not exist yet."""

from __future__ import annotations

import click
from flask import Flask, current_app

from portal.services.runtime import PortalServices


def require_services(app: Flask | None = None) -> PortalServices:
    """The app's services; a command-line error (exit 1) when the keys are not there to build them."""
    services: PortalServices | None = (app or current_app).extensions.get("portal.services")
    if services is None:
        raise click.ClickException("the keys are not loaded: run `flask --app portal generate-keys` (or `init`) first")
    return services
