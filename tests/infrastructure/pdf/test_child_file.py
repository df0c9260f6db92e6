"""The summary for the child's file: exactly one page however long the closure, signed, marked, and with the
child's identifiers only in the page content, never in the document information."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from portal.infrastructure.pdf.child_file import ChildFileContext, ChildFileStage, excerpt, render_child_file
from portal.infrastructure.pdf.signing import PdfSigner, generate_self_signed, verify_signed_pdf
from tests.infrastructure.pdf.helpers import CANARIES, CANARY_DOB, CANARY_NAME, CANARY_NHS, HOSTILE
from tests.infrastructure.pdf.test_signing import needs_pdfsig, run_pdfsig

LONG = ("The parties agreed a strategy discussion and a written plan with named owners and dates. " * 400).strip()


def _context(**changes: object) -> ChildFileContext:
    base: dict[str, object] = {
        "reference": "ROC-2026-0042",
        "record_version": 5,
        "partnership_name": "Rochdale Borough Safeguarding Children Partnership",
        "issued_at": datetime(2026, 11, 23, 14, 5, tzinfo=UTC),
        "raising_agency": "Rochdale Early Help and Safeguarding Hub",
        "receiving_agencies": "Rochdale Children's Social Care, Greater Manchester Police",
        "identifiers": (("Name", CANARY_NAME), ("Date of birth", CANARY_DOB), ("NHS number", CANARY_NHS)),
        "stages": (
            ChildFileStage("Stage 3", "20 November 2026", "24 November 2026", "25 November 2026", "Escalated"),
            ChildFileStage("Stage 4", "25 November 2026", "", "30 November 2026", "Resolved"),
        ),
        "highest_stage": "Stage 4",
        "outcome": "Decision changed (decision-changed)",
        "agreed_outcome": "Strategy discussion held",
        "agreed_actions": "Stage 3: manager to review",
        "closed_by": "Sam Spoc, Single Point of Contact (SPOC), Rochdale Children's Social Care",
        "closed_at": "30 November 2026 at 10:15",
        "verify_url": "https://portal.example/verify",
    }
    return ChildFileContext(**{**base, **changes})  # type: ignore[arg-type]


def _pages(pdf: bytes) -> list[str]:
    return [re.sub(r"\s+", " ", p.extract_text()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def test_the_summary_is_one_marked_page_with_the_identifiers_in_the_content_only() -> None:
    pdf = render_child_file(_context())
    (text,) = _pages(pdf)
    assert text.count("OFFICIAL-SENSITIVE") == 2 and "Page 1 of 1" in text
    for shown in (CANARY_NAME, CANARY_DOB, CANARY_NHS, "Stage 4", "Decision changed (decision-changed)", "Sam Spoc"):
        assert shown in text
    assert "https://portal.example/verify" in text and "version 5" in text
    info = pypdf.PdfReader(io.BytesIO(pdf)).metadata or {}
    assert info.get("/Title") == "Summary for the child's file ROC-2026-0042"
    for canary in CANARIES:
        assert canary.encode() not in pdf.split(b"stream", 1)[0]
        assert all(canary not in str(value) for value in info.values())


def test_a_very_long_closure_still_fits_one_page() -> None:
    many = tuple(ChildFileStage(f"Stage {n}", "1 December 2026", "", "2 December 2026", "Escalated") for n in range(9))
    pdf = render_child_file(
        _context(agreed_outcome=LONG, agreed_actions=LONG + "\n" + HOSTILE, stages=many, closed_by="x" * 3000)
    )
    (text,) = _pages(pdf)
    assert "(continued in the notice's signed record)" in text and "Stage 8" in text


def test_excerpt_cuts_at_a_word_and_says_where_the_rest_is() -> None:
    assert excerpt("short") == "short"
    cut = excerpt("word " * 500, limit=20)
    assert cut == "word word word word … (continued in the notice's signed record)"


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, bytes]:
    key, cert = generate_self_signed()
    return PdfSigner(key, cert).sign(render_child_file(_context())), cert


def test_the_signed_summary_verifies_and_is_still_one_page(signed: tuple[bytes, bytes]) -> None:
    pdf, cert = signed
    assert verify_signed_pdf(pdf, cert) and len(_pages(pdf)) == 1


@needs_pdfsig
def test_pdfsig_accepts_the_summary(signed: tuple[bytes, bytes], tmp_path: Path) -> None:
    assert "Signature Validation: Signature is Valid." in run_pdfsig(signed[0], tmp_path)
