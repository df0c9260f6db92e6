"""Public API for notice PDFs: a registry of layouts and an in-memory renderer.

One layout module per partnership form under ``portal.pdf.notices``; each defines ``FORM_CODE``,
``FIELD_KEYS`` (the answers it prints) and ``build_story(context)``. Signing lives in
``portal.pdf.signing`` so rendering never needs key material.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from reportlab.platypus import Flowable

from portal.pdf import notices as _layouts
from portal.pdf.context import CLOSURE_KEYS, WITHHELD, NoticeContext, StageRecord
from portal.pdf.layout import render_story

__all__ = [
    "CLOSURE_KEYS",
    "NOTICE_LAYOUTS",
    "WITHHELD",
    "NoticeContext",
    "NoticeLayout",
    "StageRecord",
    "UnknownNoticeForm",
    "register_layout",
    "render_notice",
]

NoticeBuilder = Callable[[NoticeContext], list[Flowable]]


@dataclass(frozen=True)
class NoticeLayout:
    form_code: str
    field_keys: frozenset[str]
    build_story: NoticeBuilder


# Keyed by form code; one entry per partnership form, filled from portal.pdf.notices at import.
NOTICE_LAYOUTS: Final[dict[str, NoticeLayout]] = {}


class UnknownNoticeForm(KeyError):
    """Raised when no layout is registered for a form code."""


def register_layout(form_code: str, field_keys: tuple[str, ...] | frozenset[str], build_story: NoticeBuilder) -> None:
    """Register a layout (the modules under portal.pdf.notices are registered automatically)."""
    NOTICE_LAYOUTS[form_code] = NoticeLayout(form_code, frozenset(field_keys), build_story)


def render_notice(form_code: str, context: NoticeContext) -> bytes:
    """Render the notice for ``form_code`` and return unsigned PDF bytes.

    Built entirely in memory: no temporary file ever holds case data.
    """
    try:
        layout = NOTICE_LAYOUTS[form_code]
    except KeyError:
        raise UnknownNoticeForm(form_code) from None
    context = replace(context, field_keys=layout.field_keys)
    # The /Info title is visible to anyone holding the file, so it carries no child data.
    return render_story(
        layout.build_story(context),
        reference=context.reference,
        title=f"{context.form_title} {context.reference}",
    )


def _load_layouts() -> None:
    for info in sorted(pkgutil.iter_modules(_layouts.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_layouts.__name__}.{info.name}")
        register_layout(module.FORM_CODE, module.FIELD_KEYS, module.build_story)


_load_layouts()
