"""Reading the SPOC tables out of a partnership's published procedure text."""

from __future__ import annotations

import re
from collections.abc import Sequence


class SeedFormatError(ValueError):
    """A seed document does not have the layout its parser expects."""


EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# UK numbers as the seeds write them: "01706 925 897", "0161 716 3785", "07547409726".
PHONE_RE = re.compile(r"(?<![\d])0\d(?:[ \xa0]*\d){7,11}(?![\d])")
_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")

# Bodies the seeds name that no longer exist under those names (docs/procedures.md#superseded-bodies).
_SUPERSEDED = (
    (re.compile(r"Clinical Commissioning Group|\bCCG\b"), "CCGs were abolished in July 2022 (now ICBs)"),
    (re.compile(r"National Probation Service"), "unified into the Probation Service in 2021"),
    (re.compile(r"\bCRI\b"), "CRI is now Change Grow Live"),
    (re.compile(r"5 Boroughs Partnership"), "5 Boroughs Partnership merged in 2019"),
)


def squash(text: str) -> str:
    """Collapse runs of whitespace (including non-breaking spaces) to one space and trim."""
    return " ".join(text.replace("\xa0", " ").split())


def strip_tags(text: str, replacement: str = " ") -> str:
    """Remove inline HTML tags such as ``<i>`` that survive in the seed text."""
    return _TAG_RE.sub(replacement, text)


def find_phones(text: str) -> list[str]:
    """Return the UK telephone numbers in ``text``, in order, as written but with spaces collapsed."""
    found = []
    for match in PHONE_RE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 10 <= len(digits) <= 11:
            found.append(squash(match.group()))
    return found


def superseded_reason(agency_name: str) -> str | None:
    """Say why an agency name is stale, or return None if it is not known to be."""
    for pattern, reason in _SUPERSEDED:
        if pattern.search(agency_name):
            return reason
    return None


def find_table(text: str, headings: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """Return the header cells and rows of the tab-separated table whose header starts with ``headings``.

    Blank lines and repeats of the header (a table split across pages) are skipped; the first
    non-blank line without a tab ends the table. Cells are whitespace-collapsed and padded to the
    header's width.
    """
    wanted = [squash(h).casefold() for h in headings]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header: list[str] | None = None
    rows: list[list[str]] = []
    for line in lines:
        cells = [squash(cell) for cell in line.split("\t")]
        if header is None:
            if "\t" in line and [c.casefold() for c in cells[: len(wanted)]] == wanted:
                header = [c for c in cells if c]
            continue
        if not line.strip():
            continue
        if "\t" not in line:
            break
        if [c.casefold() for c in cells[: len(header)]] == [h.casefold() for h in header]:
            continue
        if not cells[0]:
            continue
        rows.append((cells + [""] * len(header))[: max(len(header), len(cells))])
    if header is None:
        raise SeedFormatError(f"no table headed {' | '.join(headings)!r} in the seed")
    if not rows:
        raise SeedFormatError(f"the table headed {' | '.join(headings)!r} has no rows")
    return header, rows
