"""The five partnerships the portal serves, and the shapes their seed SPOC directories are parsed into.

Each partnership has its own module with a ``parse_directory(seed_text)`` that reads the real seed
document; ``portal.services.directory`` turns the result into Agency and DirectoryContact rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ContactSpec:
    """One directory entry for an agency: a role (or named post) and how to reach it."""

    role_title: str
    email: str | None
    telephone: str | None


@dataclass(frozen=True)
class AgencySpec:
    """An agency or service as a seed lists it."""

    name: str
    sender_note: str
    contacts: tuple[ContactSpec, ...]
    # True when the seed's entry is known to be out of date or was proposed without a seed list.
    needs_review: bool


@dataclass(frozen=True)
class PartnershipSpec:
    """A partnership, its procedure and the seed document its directory comes from."""

    slug: str
    code: str
    name: str
    seed_prefix: str
    form_code: str
    procedure_version: str
    is_legacy: bool
    front_door: str
    directory_owner: str
    parse_directory: Callable[[str], list[AgencySpec]]


class SeedFormatError(ValueError):
    """A seed document does not have the layout its parser expects."""


EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# UK numbers as the seeds write them: "01706 925 897", "0161 716 3785", "07547409726".
PHONE_RE = re.compile(r"(?<![\d])0\d(?:[ \xa0]*\d){7,11}(?![\d])")
_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")

# Bodies the seeds name that no longer exist under those names (domain.md §5.2 item 5).
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


# The parsers import the spec types above, so they are imported only once those exist.
from portal.partnerships import bolton, halton, pan_cheshire, rochdale, trafford  # noqa: E402

_GENERIC_FRONT_DOOR = (
    "Contact your local authority children's social care front door to make a child protection "
    "referral. If a child is in immediate danger, call 999."
)

PARTNERSHIPS: dict[str, PartnershipSpec] = {
    spec.slug: spec
    for spec in (
        PartnershipSpec(
            slug="rochdale",
            code="ROC",
            name="Rochdale Borough Safeguarding Children Partnership",
            seed_prefix="000_",
            form_code="rochdale-appendix-1",
            # The seed carries no date. Its SPOC list still names HMR CCG (abolished July 2022) and the
            # National Probation Service (unified 2021), so 2021 is an estimate, not a printed date.
            procedure_version="rochdale-gm-2021",
            is_legacy=False,
            front_door="Rochdale Early Help and Safeguarding Hub (EHASH): 01706 925 879",
            directory_owner="RBSB.admin@rochdale.gov.uk",
            parse_directory=rochdale.parse_directory,
        ),
        PartnershipSpec(
            slug="pan-cheshire",
            code="PCH",
            name="Pan Cheshire Safeguarding Children Partnerships",
            seed_prefix="001_",
            form_code="pan-cheshire-appendix-a",
            # The seed carries no date.
            procedure_version="pan-cheshire-undated",
            is_legacy=False,
            front_door=_GENERIC_FRONT_DOOR,
            # The seed gives a post, not an address: "please contact your local Safeguarding Partnership
            # manager".
            directory_owner="Your local Safeguarding Partnership manager",
            parse_directory=pan_cheshire.parse_directory,
        ),
        PartnershipSpec(
            slug="trafford",
            code="TRA",
            name="Trafford Strategic Safeguarding Partnership",
            seed_prefix="002_",
            form_code="trafford-resolution-notice",
            # The seed carries no date.
            procedure_version="trafford-gm-undated",
            is_legacy=False,
            front_door=_GENERIC_FRONT_DOOR,
            directory_owner="tssp@trafford.gov.uk",
            parse_directory=trafford.parse_directory,
        ),
        PartnershipSpec(
            slug="bolton",
            code="BOL",
            name="Bolton Safeguarding Children Partnership",
            seed_prefix="003_",
            form_code="bolton-rpde",
            # "LAUNCH: SEPTEMBER 2022 REVIEW : APRIL 2025".
            procedure_version="bolton-2022-09",
            is_legacy=False,
            front_door=_GENERIC_FRONT_DOOR,
            directory_owner="boltonsafeguardingchildren@bolton.gov.uk",
            parse_directory=bolton.parse_directory,
        ),
        PartnershipSpec(
            slug="halton",
            code="HAL",
            name="Halton Safeguarding Children Board",
            seed_prefix="004_",
            form_code="halton-2013-record",
            # "Revised September 2013".
            procedure_version="halton-2013-09",
            is_legacy=True,
            front_door=_GENERIC_FRONT_DOOR,
            # The seed names a post, not an address, as the owner of escalations and learning.
            directory_owner="Multi-Agency Safeguarding Children's Unit Manager",
            parse_directory=halton.parse_directory,
        ),
    )
}

__all__ = [
    "PARTNERSHIPS",
    "AgencySpec",
    "ContactSpec",
    "PartnershipSpec",
    "SeedFormatError",
]
