"""Public API for notice PDFs: render a partnership's layout, in memory, from a ``NoticeContext``.

Each partnership's layout module (``portal/partnerships/<name>/layout.py``) defines ``FORM_CODE``, ``FIELD_KEYS``
(the answers it prints) and ``build_story(context)``; the caller hands it in (``layout_of``), so this package
knows nothing of partnerships. Signing lives in ``signing`` so rendering never needs key material.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType

from reportlab.platypus import Flowable

from portal.infrastructure.pdf.context import (
    CLOSURE_KEYS,
    WITHHELD,
    AttachmentRecord,
    NoticeContext,
    StageRecord,
    context_from_json,
    context_to_json,
)
from portal.infrastructure.pdf.layout import evidence_section, render_story

__all__ = [
    "CLOSURE_KEYS",
    "AttachmentRecord",
    "WITHHELD",
    "NoticeContext",
    "NoticeLayout",
    "StageRecord",
    "check_fields",
    "context_from_json",
    "context_to_json",
    "layout_of",
    "render",
]

NoticeBuilder = Callable[[NoticeContext], list[Flowable]]


@dataclass(frozen=True)
class NoticeLayout:
    form_code: str
    field_keys: frozenset[str]
    build_story: NoticeBuilder


def layout_of(module: ModuleType) -> NoticeLayout:
    """Read a layout module's form code, printed field keys and story builder."""
    return NoticeLayout(module.FORM_CODE, frozenset(module.FIELD_KEYS), module.build_story)


def check_fields(layout: NoticeLayout, context: NoticeContext) -> None:
    """Refuse (ValueError) a context with an answer the layout does not print, before it is kept to draw later."""
    replace(context, field_keys=layout.field_keys)


def render(layout: NoticeLayout, context: NoticeContext) -> bytes:
    """Render the notice with ``layout`` and return unsigned PDF bytes.

    Built entirely in memory: no temporary file ever holds case data.
    """
    context = replace(context, field_keys=layout.field_keys)
    # The /Info title is visible to anyone holding the file, so it carries no child data.
    return render_story(
        [*layout.build_story(context), *evidence_section(context.attachments)],
        reference=context.reference,
        title=f"{context.form_title} {context.reference}",
        issued_at=context.issued_at,
    )
