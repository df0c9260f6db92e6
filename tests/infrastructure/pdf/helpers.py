"""Shared constants and checks for the notice layout tests in tests/pdf.

Each layout test module keeps its own form, reference, labels and answers; what every rendered notice must
satisfy whatever the form (page furniture, metadata free of child data, literal rendering of hostile text, no
files written while rendering) lives here once.
"""

from __future__ import annotations

import builtins
import io
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import pypdf
import pytest

from portal.infrastructure.pdf import NoticeContext
from portal.services.documents import render_notice

HANDLING = "THIS DOCUMENT MUST BE SENT/STORED SECURELY"
"""The handling line printed under the marking on every page."""

MARKING = "OFFICIAL-SENSITIVE"
"""The protective marking printed at the top and bottom of every page."""

CANARY_NAME = "Zyxqoria Canarytest"
"""A child's name that appears nowhere else, so a leak of it is unambiguous."""

CANARY_DOB = "29 February 2016"
"""A date of birth that appears nowhere else in the fixtures."""

CANARY_NHS = "999 000 0018"
"""A 999-prefixed NHS number: it passes the modulus 11 check but is never issued."""

CANARIES = (CANARY_NAME, *CANARY_NAME.split(), CANARY_DOB, CANARY_NHS, CANARY_NHS.replace(" ", ""))
"""Every form of the canary child's identifiers that must never leave the page body."""

HOSTILE = (
    "<b>not bold</b> a & b &amp; &lt;x&gt; </para> <br/> <font size=40>big</font>\n"
    "col1\tcol2\x01\x1b[31m\u200b end\n"
    "emoji \U0001f600 and Zoë and Łukasz ]]> %%EOF \\ ( )"
)
"""Markup, entities, control characters, astral and accented letters and PDF syntax in one answer."""


ISSUED_AT = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
"""When the fixture notices were issued: 14:05 UK time, printed as "Version 1, issued 23 November 2026 14:05"."""


def notice_context(
    reference: str, form_title: str, partnership_name: str, fields: Mapping[str, str], **changes: object
) -> NoticeContext:
    """Return version 1 of a notice issued at :data:`ISSUED_AT`; ``changes`` set further context attributes."""
    return NoticeContext(
        reference=reference,
        form_title=form_title,
        version=1,
        issued_at=ISSUED_AT,
        partnership_name=partnership_name,
        fields=fields,
        **changes,  # type: ignore[arg-type]
    )


def page_texts(pdf: bytes) -> list[str]:
    """Return the extracted text of each page of ``pdf``, in order."""
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    """Collapse all whitespace so wrapped lines compare equal to the source wording."""
    return re.sub(r"\s+", " ", text).strip()


def between(text: str, start: str, end: str) -> str:
    """Return what prints after label ``start`` and before the next label ``end``; both must be present."""
    head = text.index(start) + len(start)
    return text[head : text.index(end, head)].strip()


def assert_in_order(text: str, items: Iterable[str]) -> None:
    """Check that every item appears in ``text``, each after the one before it."""
    position = -1
    for item in items:
        found = text.find(item, position + 1)
        assert found > position, f"{item!r} missing or out of order"
        position = found


def assert_furniture(pdf: bytes, reference: str) -> int:
    """Check every page's marking (top and bottom), handling line, reference and "Page N of M"; return M."""
    texts = page_texts(pdf)
    total = len(texts)
    for number, text in enumerate(texts, start=1):
        assert text.count(MARKING) >= 2, f"page {number}: marking missing at top or bottom"
        assert HANDLING in text, f"page {number}: handling line missing"
        assert reference in text, f"page {number}: reference missing"
        assert f"Page {number} of {total}" in text, f"page {number}: page count missing"
    return total


def furniture(reference: str) -> re.Pattern[str]:
    """Return the pattern of one page's furniture, flattened, capturing the page number and the page count."""
    return re.compile(rf"{MARKING} {HANDLING} {re.escape(reference)} Page (\d+) of (\d+) {MARKING}")


def text_of(pdf: bytes, reference: str) -> str:
    """Return the body text of every page, in order and flattened, without the page furniture.

    Checks on the way that each page carries its furniture exactly once, with the right page number and count.
    """
    pattern = furniture(reference)
    pages = [flat(text) for text in page_texts(pdf)]
    for number, page in enumerate(pages, start=1):
        found = [match.groups() for match in pattern.finditer(page)]
        assert found == [(str(number), str(len(pages)))], f"page {number}: furniture {found!r}"
    return flat(" ".join(pattern.sub(" ", page) for page in pages))


def body(form: str, context: NoticeContext) -> str:
    """Render ``context`` with layout ``form`` and return its body text without the page furniture."""
    return text_of(render_notice(form, context), context.reference)


def blank_body(form: str, context: NoticeContext, labels: Iterable[str]) -> str:
    """Render ``context`` with no answers; check every label still prints, in order, and no child data; return it."""
    text = body(form, replace(context, fields={}))
    assert_in_order(text, labels)
    assert CANARY_NAME not in text
    return text


def assert_metadata_clean(pdf: bytes, title: str, extra_canaries: Iterable[str] = ()) -> None:
    """Check the document information and XMP hold the title and no child data, while the body does.

    ``title`` is the expected /Title; ``extra_canaries`` are the form's own identifiers (a local case number, a P
    number) that must stay out of the metadata along with :data:`CANARIES`.
    """
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    info = {key: str(value) for key, value in (reader.metadata or {}).items()}
    assert info["/Title"] == title
    assert info["/Author"] == "Escalation Portal"
    assert info["/Subject"] == ""
    assert info["/Keywords"] == ""
    metadata_text = " ".join(info.values())
    if reader.xmp_metadata is not None:
        metadata_text += reader.xmp_metadata.stream.get_data().decode("utf-8", "replace")
    for canary in (*CANARIES, *extra_canaries):
        assert canary.lower() not in metadata_text.lower(), f"{canary!r} is in the metadata"
    # Sanity: the canary really is in the document body, so its absence above means something.
    assert CANARY_NAME in page_texts(pdf)[0]


def assert_hostile_literal(text: str) -> None:
    """Check that :data:`HOSTILE`, rendered as an answer, prints as literal text in the body ``text``."""
    assert "<b>not bold</b> a & b &amp; &lt;x&gt; </para> <br/> <font size=40>big</font>" in text
    assert "col1 col2[31m end" in text
    assert "Zoë" in text


def assert_renders_without_files(monkeypatch: pytest.MonkeyPatch, form: str, context: NoticeContext) -> None:
    """Render ``context`` with ``open`` refusing writes and every ``tempfile`` maker refusing, and expect a PDF."""
    real_open = builtins.open

    def guarded_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"render opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    def no_temp(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("render used a temporary file")

    monkeypatch.setattr(builtins, "open", guarded_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_temp)
    assert render_notice(form, context).startswith(b"%PDF-")
