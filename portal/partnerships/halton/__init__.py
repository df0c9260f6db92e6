"""Halton's 2013 "APPENDIX A – AGENCY CONTACT DETAILS" (seed 004): three escalation tiers per agency.

The tiers are the header's columns ("Manager/Named Professional Safeguarding", "Next Level
Management", "HSCB Representative for Agency"). A cell names one or more people, each written as
``Name – post Tel No: … Mob No: … Email: …``. Every person becomes a contact whose role title starts
with the tier, so the directory keeps the order of escalation. The list dates from 2013 and names
individuals throughout, so every agency needs review before anyone relies on it.
"""

from __future__ import annotations

import re

from portal.domain.partnership import GENERIC_FRONT_DOOR, AgencySpec, ContactSpec, PartnershipSpec
from portal.partnerships.halton.notice import NOTICE
from portal.partnerships.halton.procedure import PROCEDURE
from portal.partnerships.seed_text import EMAIL_RE, find_phones, find_table, squash

# Where a person's description ends and their contact details begin.
_DETAILS_RE = re.compile(r"\b(?:Tel|Mob)\.?\s*No\b|\bE-?mail\b", re.IGNORECASE)
# Text allowed between two addresses of the same person: "a@x or b@y".
_SAME_PERSON_RE = re.compile(r"^[\s,;/]*(?:or|and)?[\s,;/]*$", re.IGNORECASE)


def parse_directory(seed_text: str) -> list[AgencySpec]:
    """Parse Appendix A into agencies, each with its tiers' contacts in escalation order."""
    header, rows = find_table(seed_text, ["AGENCY"])
    tiers = header[1:]
    agencies: list[AgencySpec] = []
    for row in rows:
        contacts: list[ContactSpec] = []
        for tier, cell in zip(tiers, row[1:], strict=False):
            contacts.extend(_parse_tier(tier, cell))
        agencies.append(AgencySpec(name=row[0], sender_note="", contacts=tuple(contacts), needs_review=True))
    return agencies


def _parse_tier(tier: str, cell: str) -> list[ContactSpec]:
    """Return one contact per e-mail address in a tier's cell (none for an empty cell)."""
    if not cell:
        return []
    contacts: list[ContactSpec] = []
    for person, emails in _people(cell):
        described = _DETAILS_RE.split(person, maxsplit=1)[0]
        description = squash(described).strip(" ,;:-–")
        phones = find_phones(person)
        role = f"{tier}: {description}" if description else tier
        telephone = phones[0] if phones else None
        addresses: list[str | None] = [*emails] or [None]
        for email in addresses:
            contacts.append(ContactSpec(role_title=role, email=email, telephone=telephone))
    return contacts


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


SPEC = PartnershipSpec(
    slug="halton",
    code="HAL",
    name="Halton Safeguarding Children Board",
    seed_prefix="004_",
    # "Revised September 2013".
    is_legacy=True,
    front_door=GENERIC_FRONT_DOOR,
    # The seed names a post, not an address, as the owner of escalations and learning.
    directory_owner="Multi-Agency Safeguarding Children's Unit Manager",
    parse_directory=parse_directory,
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
