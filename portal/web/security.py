"""Security headers on every response (pages, errors, PDFs, static files) and the CSP nonce."""

from __future__ import annotations

import secrets

from flask import Flask, g, request
from werkzeug.wrappers import Response


def csp_nonce() -> str:
    """Return this request's CSP nonce, making it on first use."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    production = app.config["ENV"] == "production"

    @app.after_request
    def security_headers(response: Response) -> Response:
        # https://owasp.org/www-project-secure-headers/ : a strict CSP with per-request nonces, no framing.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; "
            f"script-src 'self' 'nonce-{csp_nonce()}'; "
            "style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        if production:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static" or response.status_code not in (200, 304):
            # A missing static file gets the ordinary 404 page, which can show who is signed in.
            # Case data must never sit in a browser or proxy cache.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        else:
            response.headers["Cache-Control"] = "public, max-age=3600"
        return response
