"""The app's long-lived services (keys, signer, hasher), as the web layer reaches them."""

from __future__ import annotations

from flask import Flask, current_app

from portal.services.runtime import PortalServices


def portal_services(app: Flask | None = None) -> PortalServices:
    """Return the app's services."""
    services: PortalServices = (app or current_app).extensions["portal.services"]
    return services
