"""QR codes for setting up an authenticator app, drawn as inline SVG (no image request, nothing to cache)."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(data: str, *, title: str) -> Markup:
    """An SVG QR code of ``data``: dark modules on white with the standard quiet zone, named by ``title``."""
    code = segno.make(data, error="m", micro=False)
    svg = code.svg_inline(scale=5, border=4, dark="#0b0c0c", light="#ffffff", title=title, svgclass="app-qr-code")
    # segno escapes the title; the rest is its own markup. role="img" lets assistive technology name it.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704  # segno's own SVG, title escaped
