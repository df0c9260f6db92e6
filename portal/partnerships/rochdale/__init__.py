"""Rochdale's "Single Point of Contact (SPOC) List" (seed 000): one row per service, free-text details.

A details cell mixes mailboxes, telephone numbers, roles and instructions for the sender, e.g.
``note Role-1 email-1 Role-2 email-2 …`` for Children's Social Care or ``email / phone note`` for
most others. The parser splits it around the e-mail addresses rather than relying on any one row.
"""

from __future__ import annotations

import os
import re

from portal.domain.partnership import AgencySpec, ContactSpec, PartnershipSpec
from portal.partnerships.rochdale.notice import NOTICE
from portal.partnerships.rochdale.procedure import PROCEDURE
from portal.partnerships.seed_text import (
    EMAIL_RE,
    PHONE_RE,
    find_phones,
    find_table,
    squash,
    strip_tags,
    superseded_reason,
)

DEFAULT_ROLE = "Single point of contact (SPOC)"

# After a mailbox: " / 01706 925 897" or " / Main office number: 0161 723 3880".
_TAIL_RE = re.compile(rf"\s*/\s*(?:[A-Za-z][A-Za-z ]*:\s*)?(?P<phone>{PHONE_RE.pattern})")
# A label that introduces the mailbox, e.g. "Any other escalations:".
_LABEL_RE = re.compile(r"(?P<label>[A-Z][a-z]+(?: [a-z]+)*):\s*$")
# Tags in the seed mark a separate sentence (the <i> school arrangements note).
_BREAK = "\n"
# "Stage 1 Escalations: … Stage 2 Escalations: …" were separate lines before the seed was flattened.
_STAGE_RE = re.compile(r"\s+(?=Stage \d+\b[^:]{0,40}:)")


def parse_directory(seed_text: str) -> list[AgencySpec]:
    """Parse the SPOC list into agencies, in seed order."""
    _header, rows = find_table(seed_text, ["Service", "Contact Details"])
    agencies: list[AgencySpec] = []
    for row in rows:
        name, details = row[0], " ".join(row[1:])
        note, contacts = _parse_details(details)
        agencies.append(
            AgencySpec(
                name=name,
                sender_note=note,
                contacts=tuple(contacts),
                needs_review=superseded_reason(name) is not None,
            )
        )
    return agencies


def _parse_details(details: str) -> tuple[str, list[ContactSpec]]:
    """Split a details cell into the sender note and its contacts."""
    text = _STAGE_RE.sub(f" {_BREAK} ", strip_tags(details, f" {_BREAK} "))
    emails = list(EMAIL_RE.finditer(text))
    if not emails:
        numbers = find_phones(text)
        contacts = [ContactSpec(DEFAULT_ROLE, None, numbers[0])] if numbers else []
        return _note(text), contacts

    # Text before each mailbox (after the previous mailbox and its telephone) names its role.
    leads: list[str] = []
    phones: list[str | None] = []
    cursor = 0
    for match in emails:
        leads.append(text[cursor : match.start()])
        tail = _TAIL_RE.match(text, match.end())
        if tail:
            phones.append(squash(tail.group("phone")))
            cursor = tail.end()
        else:
            phones.append(None)
            cursor = match.end()
    trailing = text[cursor:]

    first_note, first_role = _split_first_lead(leads[0], [squash(lead) for lead in leads[1:]])
    roles = [first_role] + [_clean_role(lead) for lead in leads[1:]]
    contacts = [
        ContactSpec(role_title=role or DEFAULT_ROLE, email=match.group(), telephone=phone)
        for role, match, phone in zip(roles, emails, phones, strict=True)
    ]
    note = "\n".join(part for part in (_note(first_note), _note(trailing)) if part)
    return note, contacts


def _split_first_lead(lead: str, later_roles: list[str]) -> tuple[str, str]:
    """Separate a sender note from the role that precedes the first mailbox."""
    # Children's Social Care: the note runs straight into "Head of Service – …", which the later roles share.
    prefix = _common_words(later_roles)
    if prefix:
        starts = list(re.finditer(r"\s+".join(map(re.escape, prefix.split())), lead))
        if starts:
            at = starts[-1].start()
            return lead[:at], _clean_role(lead[at:])
    # Education: "… Any other escalations: Claire.heap@…".
    label = _LABEL_RE.search(lead)
    if label:
        return lead[: label.start()], label.group("label")
    return lead, ""


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


SPEC = PartnershipSpec(
    slug="rochdale",
    code="ROC",
    name="Rochdale Borough Safeguarding Children Partnership",
    seed_prefix="000_",
    is_legacy=False,
    front_door="Rochdale Early Help and Safeguarding Hub (EHASH): 01706 925 879",
    directory_owner="RBSB.admin@rochdale.gov.uk",
    parse_directory=parse_directory,
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
