"""The app's long-lived services (keys, signer, hasher), as the web layer reaches them."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app
from werkzeug.local import LocalProxy

from portal.services.runtime import PortalServices


def app_itself() -> Flask:
    """The current app itself rather than the ``current_app`` proxy, for code that keeps it beyond the app
    context. Flask types the proxy as the app, which hides the proxy's own ``_get_current_object``."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def portal_services(app: Flask | None = None) -> PortalServices:
    """Return the app's services."""
    services: PortalServices = (app or current_app).extensions["portal.services"]
    return services
