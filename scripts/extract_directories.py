#!/usr/bin/env python3
"""Extract each partnership's SPOC directory from its published procedure text into a committed CSV.

Run by hand when a partnership publishes a new procedure; never by the portal or its tests:

    python3 scripts/extract_directories.py SEED_DIR [--today YYYY-MM-DD] [--out DIR]

SEED_DIR holds the procedures as text, one file per partnership named ``NNN_*.txt`` (000 Rochdale,
001 Pan Cheshire, 002 Trafford, 003 Bolton, 004 Halton), kept outside this repository. The script writes
``portal/partnerships/<module>/directory.csv`` for each (``--out`` replaces ``portal/partnerships``).
Review the diff before committing it: the portal reads only the CSVs (``portal.partnerships.directory_data``).

Each parser below reads one layout with regular expressions. Rochdale, Bolton and Halton publish a
contact table; Pan Cheshire and Trafford publish none, so their agencies are proposals with no
contacts (Trafford's business unit gets the TSSP Business Manager mailbox its text names).

``review_by`` is ``--today`` (default: today) for an entry that needs review and a year later for one
that does not. Standard library only, so it runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "portal" / "partnerships"

# The CSV's columns, in order (portal.partnerships.directory_data.COLUMNS reads the same).
COLUMNS = (
    "agency",
    "sender_note",
    "tier",
    "role",
    "name",
    "email",
    "telephone",
    "stages",
    "review_by",
    "needs_review",
    "source",
)
PROPOSAL = "proposal: no published SPOC list"
# An entry the seed gives good details for is looked at again after a year.
REVIEW_INTERVAL = timedelta(days=365)


@dataclass(frozen=True)
class Contact:
    """One directory entry; the portal's role title is ``tier: role`` (either alone if the other is empty)."""

    role: str = ""
    email: str = ""
    telephone: str = ""
    tier: str = ""
    name: str = ""
    # Procedure stage codes the contact serves; empty means any.
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agency:
    name: str
    sender_note: str
    contacts: tuple[Contact, ...]
    # True when the seed's entry is known to be out of date or was proposed without a seed list.
    needs_review: bool
    source: str


class SeedFormatError(ValueError):
    """A seed document does not have the layout its parser expects."""


# -- text helpers ------------------------------------------------------------------------------------

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


# -- Rochdale (seed 000) -----------------------------------------------------------------------------
# "Single Point of Contact (SPOC) List": one row per service, free-text details. A details cell mixes
# mailboxes, telephone numbers, roles and instructions for the sender, e.g. ``note Role-1 email-1
# Role-2 email-2 …`` for Children's Social Care or ``email / phone note`` for most others. The parser
# splits it around the e-mail addresses rather than relying on any one row.

ROCHDALE_SOURCE = (
    "Rochdale, Effective Challenge and Resolving Professional Differences Guidance (seed 000): "
    "Single Point of Contact (SPOC) List"
)
ROCHDALE_DEFAULT_ROLE = "Single point of contact (SPOC)"
ROCHDALE_STAGES = ("stage-1", "stage-2", "stage-3", "stage-4")

# After a mailbox: " / 01706 925 897" or " / Main office number: 0161 723 3880".
_TAIL_RE = re.compile(rf"\s*/\s*(?:[A-Za-z][A-Za-z ]*:\s*)?(?P<phone>{PHONE_RE.pattern})")
# A label that introduces the mailbox, e.g. "Any other escalations:".
_LABEL_RE = re.compile(r"(?P<label>[A-Z][a-z]+(?: [a-z]+)*):\s*$")
# Tags in the seed mark a separate sentence (the <i> school arrangements note).
_BREAK = "\n"
# "Stage 1 Escalations: … Stage 2 Escalations: …" were separate lines before the seed was flattened.
_STAGE_RE = re.compile(r"\s+(?=Stage \d+\b[^:]{0,40}:)")
_STAGE_NUMBER_RE = re.compile(r"\bStage (\d+)\b[^:]{0,40}:")


def parse_rochdale(seed_text: str) -> list[Agency]:
    """Parse the SPOC list into agencies, in seed order."""
    _header, rows = find_table(seed_text, ["Service", "Contact Details"])
    agencies: list[Agency] = []
    for row in rows:
        name, details = row[0], " ".join(row[1:])
        note, contacts = _rochdale_details(details)
        agencies.append(
            Agency(
                name=name,
                sender_note=note,
                contacts=tuple(contacts),
                needs_review=superseded_reason(name) is not None,
                source=ROCHDALE_SOURCE,
            )
        )
    return agencies


def _rochdale_details(details: str) -> tuple[str, list[Contact]]:
    """Split a details cell into the sender note and its contacts."""
    text = _STAGE_RE.sub(f" {_BREAK} ", strip_tags(details, f" {_BREAK} "))
    emails = list(EMAIL_RE.finditer(text))
    if not emails:
        numbers = find_phones(text)
        contacts = [Contact(role=ROCHDALE_DEFAULT_ROLE, telephone=numbers[0])] if numbers else []
        return _note(text), contacts

    # Text before each mailbox (after the previous mailbox and its telephone) names its role.
    leads: list[str] = []
    phones: list[str] = []
    cursor = 0
    for match in emails:
        leads.append(text[cursor : match.start()])
        tail = _TAIL_RE.match(text, match.end())
        if tail:
            phones.append(squash(tail.group("phone")))
            cursor = tail.end()
        else:
            phones.append("")
            cursor = match.end()
    trailing = text[cursor:]

    first_note, first_role, first_tier = _split_first_lead(leads[0], [squash(lead) for lead in leads[1:]])
    heads = [(first_tier, first_role)] + [("", _clean_role(lead)) for lead in leads[1:]]
    contacts = [
        Contact(
            # A mailbox with neither a label nor a role is the service's SPOC.
            tier=tier,
            role=role or ("" if tier else ROCHDALE_DEFAULT_ROLE),
            email=match.group(),
            telephone=phone,
            stages=_labelled_stages(text) if tier else (),
        )
        for (tier, role), match, phone in zip(heads, emails, phones, strict=True)
    ]
    note = "\n".join(part for part in (_note(first_note), _note(trailing)) if part)
    return note, contacts


def _split_first_lead(lead: str, later_roles: list[str]) -> tuple[str, str, str]:
    """Separate a sender note from the role (or the label, returned as a tier) before the first mailbox."""
    # Children's Social Care: the note runs straight into "Head of Service – …", which the later roles share.
    prefix = _common_words(later_roles)
    if prefix:
        starts = list(re.finditer(r"\s+".join(map(re.escape, prefix.split())), lead))
        if starts:
            at = starts[-1].start()
            return lead[:at], _clean_role(lead[at:]), ""
    # Education: "… Any other escalations: Claire.heap@…".
    label = _LABEL_RE.search(lead)
    if label:
        return lead[: label.start()], "", label.group("label")
    return lead, "", ""


def _labelled_stages(text: str) -> tuple[str, ...]:
    """The stages left to a labelled mailbox ("Any other escalations") by the stages the text gives to others.

    Education: "Stage 1 Escalations: School Designated Safeguarding Lead Stage 2 Escalations: School Head
    Teacher …"; so the mailbox takes stages 3 and 4. No stage named in the text means any stage.
    """
    named = {f"stage-{number}" for number in _STAGE_NUMBER_RE.findall(text)}
    if not named:
        return ()
    return tuple(code for code in ROCHDALE_STAGES if code not in named)


def _common_words(roles: list[str]) -> str:
    """Return the whole words every role starts with ("" for fewer than two words)."""
    if not roles:
        return ""
    prefix = os.path.commonprefix(roles)
    if prefix not in roles:
        prefix = prefix.rsplit(" ", 1)[0] if " " in prefix else ""
    return prefix.strip() if len(prefix.split()) >= 2 else ""


def _clean_role(text: str) -> str:
    return squash(text).strip(" /,;:")


def _note(text: str) -> str:
    """Tidy a sender note, keeping the seed's separate sentences on separate lines."""
    parts = (squash(part).strip(" /") for part in text.split(_BREAK))
    return "\n".join(part for part in parts if part)


# -- Pan Cheshire (seed 001): no published list -------------------------------------------------------
# The procedure only refers to agencies generically: the local authority children's social care
# "front door", safeguarding leads in health, police and schools, and the local Safeguarding
# Partnership manager who holds the details of other agencies' leads and representatives.

_PAN_CHESHIRE_PROPOSED = (
    (
        "Local authority children's social care",
        "If the child is at significant risk, contact the local authority children's social care front door.",
    ),
    ("Health", ""),
    ("Police", ""),
    (
        "Education",
        "At Step 3, schools escalate through the Chair of Governors alongside the Head Teacher.",
    ),
    (
        "Safeguarding Partnership business unit",
        "Ask your local Safeguarding Partnership manager for the safeguarding lead or Safeguarding "
        "Partnership representative in another agency.",
    ),
)


def parse_pan_cheshire(seed_text: str) -> list[Agency]:
    """Return the proposed agencies, after checking the seed is the Pan Cheshire procedure."""
    if "pan cheshire procedure" not in squash(seed_text).casefold():
        raise SeedFormatError("the seed is not the Pan Cheshire escalation procedure")
    return [
        Agency(name=name, sender_note=note, contacts=(), needs_review=True, source=PROPOSAL)
        for name, note in _PAN_CHESHIRE_PROPOSED
    ]


# -- Trafford (seed 002): no published list, only the TSSP Business Manager --------------------------
# The notice goes up "the management hierarchies of the involved agencies" and a copy goes to the TSSP
# Business Manager: proposed agencies without contacts, and the business unit with the mailbox.

TRAFFORD_BUSINESS_UNIT = "Safeguarding Partnership business unit"
TRAFFORD_BUSINESS_MANAGER = "TSSP Business Manager"
TRAFFORD_SOURCE = (
    "Trafford, Resolving Professional Disagreements/Escalation Notice (seed 002): "
    "introduction, copy to the TSSP Business Manager"
)
_TRAFFORD_PROPOSED = ("Local authority children's social care", "Health", "Police", "Education")
# "… shared with the TSSP Business Manager tssp@trafford.gov.uk."
_MANAGER_RE = re.compile(rf"{re.escape(TRAFFORD_BUSINESS_MANAGER)}\s+(?P<email>{EMAIL_RE.pattern})")
# The notice is used from stage 3 [002:34]; stage 4 is the TSSP's own.
_TRAFFORD_NOTICE_STAGES = ("stage-3", "stage-4")


def parse_trafford(seed_text: str) -> list[Agency]:
    """Return the proposed agencies and the business unit with the seed's Business Manager mailbox."""
    manager = _MANAGER_RE.search(squash(seed_text))
    if manager is None:
        raise SeedFormatError(f"no {TRAFFORD_BUSINESS_MANAGER} mailbox in the Trafford seed")
    agencies = [
        Agency(name=name, sender_note="", contacts=(), needs_review=True, source=PROPOSAL)
        for name in _TRAFFORD_PROPOSED
    ]
    agencies.append(
        Agency(
            name=TRAFFORD_BUSINESS_UNIT,
            sender_note=f"A copy of this escalation notice should be shared with the {TRAFFORD_BUSINESS_MANAGER}.",
            contacts=(
                Contact(role=TRAFFORD_BUSINESS_MANAGER, email=manager.group("email"), stages=_TRAFFORD_NOTICE_STAGES),
            ),
            needs_review=False,
            source=TRAFFORD_SOURCE,
        )
    )
    return agencies


# -- Bolton (seed 003) -------------------------------------------------------------------------------
# Appendix 1, "Resolution Single Points of Contact (SPOC)": Service, Role, Telephone, Email. The table
# is split across two pages, so its header appears twice. A service on several rows is one agency.

BOLTON_SOURCE = (
    "Bolton, Resolving Differences and Escalation Process, September 2022 (seed 003): "
    "Appendix 1, Resolution Single Points of Contact (SPOC)"
)
# Placeholders the seed uses for "no telephone number".
_NO_VALUE = {"", "-", "–", "n/a", "na", "none"}


def parse_bolton(seed_text: str) -> list[Agency]:
    """Parse the Resolution SPOC table into agencies, in seed order."""
    _header, rows = find_table(seed_text, ["Service", "Role", "Telephone", "Email"])
    contacts: dict[str, list[Contact]] = {}
    notes: dict[str, list[str]] = {}
    for service, role, telephone, email_cell, *_rest in rows:
        email = EMAIL_RE.fullmatch(email_cell)
        if email is None and email_cell.casefold() not in _NO_VALUE:
            # e.g. NHS Greater Manchester lists "www.gmintegratedcare.org.uk" in the Email column.
            notes.setdefault(service, []).append(
                f"The seed gives a website ({email_cell}), not a mailbox: "
                "telephone, or find the contact's address on the website."
            )
        contacts.setdefault(service, []).append(
            Contact(
                role=role,
                email=email.group() if email else "",
                telephone="" if telephone.casefold() in _NO_VALUE else telephone,
            )
        )
    return [
        Agency(
            name=service,
            sender_note="\n".join(notes.get(service, [])),
            contacts=tuple(service_contacts),
            needs_review=superseded_reason(service) is not None,
            source=BOLTON_SOURCE,
        )
        for service, service_contacts in contacts.items()
    ]


# -- Halton (seed 004, 2013) -------------------------------------------------------------------------
# "APPENDIX A – AGENCY CONTACT DETAILS": three escalation tiers per agency, the header's columns. A cell
# names one or more people, each written as ``Name – post Tel No: … Mob No: … Email: …``. Every person
# is a contact with the tier, so the directory keeps the order of escalation. The role keeps the
# seed's description of the person ("Tracey Overs, Divisional Manager"; the separators vary, and the
# portal's role titles are "tier: description"); the name repeats the person's name where the
# description starts with one. The list dates from 2013 and names individuals throughout, so every
# agency needs review before anyone relies on it.

HALTON_SOURCE = (
    "Halton Safeguarding Children Board, Escalation Policy Resolution Pathways, revised September 2013 "
    "(seed 004): Appendix A, Agency Contact Details"
)
# Appendix A's columns and the Halton procedure's stages of the same names.
HALTON_TIER_STAGES = {
    "Manager/Named Professional Safeguarding": "manager-named-professional",
    "Next Level Management": "next-level-management",
    "HSCB Representative for Agency": "hscb-representative",
}

# Where a person's description ends and their contact details begin.
_DETAILS_RE = re.compile(r"\b(?:Tel|Mob)\.?\s*No\b|\bE-?mail\b", re.IGNORECASE)
# Text allowed between two addresses of the same person: "a@x or b@y".
_SAME_PERSON_RE = re.compile(r"^[\s,;/]*(?:or|and)?[\s,;/]*$", re.IGNORECASE)
# "Marie Fairbrother", "Det/Sgt Paul Hughes", "Melanie Hudson or Karen Dawber".
_PERSON = r"[A-Z][A-Za-z'/.-]*(?: [A-Z][A-Za-z'/.-]*)+"
_PEOPLE = rf"{_PERSON}(?: (?:or|and) {_PERSON})*"
# "Name – post", "Name, post", "Name" alone, or "post -Name" (Warrington's "… Named Safeguarding Nurse -Nicki
# Richardson", whose addresses are hers).
_NAMED_RE = re.compile(
    rf"(?P<name>{_PEOPLE})(?:\s*[–-]\s*|,\s*)\S.*|(?P<only>{_PEOPLE})|.*\S\s+[–-]\s*(?P<last>{_PERSON})"
)


def parse_halton(seed_text: str) -> list[Agency]:
    """Parse Appendix A into agencies, each with its tiers' contacts in escalation order."""
    header, rows = find_table(seed_text, ["AGENCY"])
    tiers = header[1:]
    agencies: list[Agency] = []
    for row in rows:
        contacts: list[Contact] = []
        for tier, cell in zip(tiers, row[1:], strict=False):
            contacts.extend(_halton_tier(tier, cell))
        agencies.append(
            Agency(name=row[0], sender_note="", contacts=tuple(contacts), needs_review=True, source=HALTON_SOURCE)
        )
    return agencies


def _halton_tier(tier: str, cell: str) -> list[Contact]:
    """Return one contact per e-mail address in a tier's cell (none for an empty cell)."""
    if not cell:
        return []
    stages = (HALTON_TIER_STAGES[tier],) if tier in HALTON_TIER_STAGES else ()
    contacts: list[Contact] = []
    for person, emails in _people(cell):
        described = _DETAILS_RE.split(person, maxsplit=1)[0]
        description = squash(described).strip(" ,;:-–")
        phones = find_phones(person)
        telephone = phones[0] if phones else ""
        for email in [*emails] or [""]:
            contacts.append(
                Contact(
                    tier=tier,
                    role=description,
                    name=_person_name(description),
                    email=email,
                    telephone=telephone,
                    stages=stages,
                )
            )
    return contacts


def _person_name(description: str) -> str:
    """The person a description names ("Tracey Overs, Divisional Manager" → "Tracey Overs"), or ""."""
    match = _NAMED_RE.fullmatch(description)
    if match is None:
        return ""
    return match.group("name") or match.group("only") or match.group("last")


def _people(cell: str) -> list[tuple[str, list[str]]]:
    """Split a cell into (person's text, their e-mail addresses); a person ends after their last address."""
    people: list[tuple[str, list[str]]] = []
    start = 0
    emails: list[str] = []
    previous_end = 0
    for match in EMAIL_RE.finditer(cell):
        if emails and not _SAME_PERSON_RE.match(cell[previous_end : match.start()]):
            people.append((cell[start:previous_end], emails))
            start, emails = previous_end, []
        emails.append(match.group())
        previous_end = match.end()
    if emails:
        people.append((cell[start:previous_end], emails))
    rest = cell[previous_end:] if emails else cell
    if squash(rest).strip(" ,;"):
        # Someone named with a telephone number but no address.
        people.append((rest, []))
    return people


# -- output ------------------------------------------------------------------------------------------

# (module under portal/partnerships, seed file prefix, parser), in the partnerships' order.
PARSERS: tuple[tuple[str, str, Callable[[str], list[Agency]]], ...] = (
    ("rochdale", "000_", parse_rochdale),
    ("pan_cheshire", "001_", parse_pan_cheshire),
    ("trafford", "002_", parse_trafford),
    ("bolton", "003_", parse_bolton),
    ("halton", "004_", parse_halton),
)


def csv_rows(agencies: Sequence[Agency], today: date) -> list[dict[str, str]]:
    """One row per contact (one with empty contact columns for an agency without any), in directory order."""
    rows: list[dict[str, str]] = []
    for agency in agencies:
        review_by = today if agency.needs_review else today + REVIEW_INTERVAL
        common = {
            "agency": agency.name,
            "sender_note": agency.sender_note,
            "review_by": review_by.isoformat(),
            "needs_review": "true" if agency.needs_review else "false",
            "source": agency.source,
        }
        for contact in agency.contacts or (None,):
            contact_columns = (
                {
                    "tier": contact.tier,
                    "role": contact.role,
                    "name": contact.name,
                    "email": contact.email,
                    "telephone": contact.telephone,
                    "stages": ";".join(contact.stages),
                }
                if contact
                else dict.fromkeys(("tier", "role", "name", "email", "telephone", "stages"), "")
            )
            rows.append({column: {**common, **contact_columns}[column] for column in COLUMNS})
    return rows


def write_csv(path: Path, rows: Sequence[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def seed_file(seed_dir: Path, prefix: str) -> Path:
    matches = sorted(seed_dir.glob(f"{prefix}*.txt"))
    if len(matches) != 1:
        found = ", ".join(path.name for path in matches) or "none"
        raise SystemExit(f"expected one seed {seed_dir / (prefix + '*.txt')}, found {found}")
    return matches[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        usage="%(prog)s SEED_DIR [--today YYYY-MM-DD] [--out DIR]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("seed_dir", type=Path, help="folder of the procedures' texts (NNN_*.txt)")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today(), help="review dates start here")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of the partnership modules")
    args = parser.parse_args(argv)
    if not args.seed_dir.is_dir():
        parser.error(f"{args.seed_dir} is not a folder")
    # Parse every seed before writing anything, so a bad seed leaves the CSVs as they were.
    parsed = []
    for module, prefix, parse in PARSERS:
        path = seed_file(args.seed_dir, prefix)
        try:
            parsed.append((module, parse(path.read_text(encoding="utf-8"))))
        except SeedFormatError as problem:
            raise SystemExit(f"{path}: {problem}") from None
    for module, agencies in parsed:
        target = args.out / module / "directory.csv"
        rows = csv_rows(agencies, args.today)
        write_csv(target, rows)
        print(f"{target}: {len(agencies)} agencies, {len(rows)} rows")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
