"""Public API for notice PDFs: a registry of layouts and an in-memory renderer.

Signing lives in ``portal.pdf.signing`` so rendering never needs key material.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from reportlab.platypus import Flowable

from portal.pdf.context import NoticeContext
from portal.pdf.layout import render_story
from portal.pdf.notices import rochdale_appendix1

__all__ = ["NOTICE_LAYOUTS", "NoticeContext", "UnknownNoticeForm", "render_notice"]

NoticeBuilder = Callable[[NoticeContext], list[Flowable]]

# Keyed by form code; one entry per partnership form. Not mutated at runtime.
NOTICE_LAYOUTS: Final[dict[str, NoticeBuilder]] = {
    "rochdale-appendix-1": rochdale_appendix1.build_story,
}


class UnknownNoticeForm(KeyError):
    """Raised when no layout is registered for a form code."""


def render_notice(form_code: str, context: NoticeContext) -> bytes:
    """Render the notice for ``form_code`` and return unsigned PDF bytes.

    Built entirely in memory: no temporary file ever holds case data.
    """
    try:
        build_story = NOTICE_LAYOUTS[form_code]
    except KeyError:
        raise UnknownNoticeForm(form_code) from None
    # The /Info title is visible to anyone holding the file, so it carries no child data.
    return render_story(
        build_story(context),
        reference=context.reference,
        title=f"{context.form_title} {context.reference}",
    )
