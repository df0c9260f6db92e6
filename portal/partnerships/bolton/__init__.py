"""Bolton's "Resolution Single Points of Contact (SPOC)" table (seed 003, Appendix 1).

Four columns: Service, Role, Telephone, Email. The table is split across two pages, so its header
appears twice. A service that appears on several rows becomes one agency with several contacts.
"""

from __future__ import annotations

from portal.domain.partnership import GENERIC_FRONT_DOOR, AgencySpec, ContactSpec, PartnershipSpec
from portal.partnerships.bolton.notice import NOTICE
from portal.partnerships.bolton.procedure import PROCEDURE
from portal.partnerships.seed_text import EMAIL_RE, find_table, superseded_reason

# Placeholders the seed uses for "no telephone number".
_NO_VALUE = {"", "-", "–", "n/a", "na", "none"}


def parse_directory(seed_text: str) -> list[AgencySpec]:
    """Parse the Resolution SPOC table into agencies, in seed order."""
    _header, rows = find_table(seed_text, ["Service", "Role", "Telephone", "Email"])
    contacts: dict[str, list[ContactSpec]] = {}
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
            ContactSpec(
                role_title=role,
                email=email.group() if email else None,
                telephone=None if telephone.casefold() in _NO_VALUE else telephone,
            )
        )
    return [
        AgencySpec(
            name=service,
            sender_note="\n".join(notes.get(service, [])),
            contacts=tuple(service_contacts),
            needs_review=superseded_reason(service) is not None,
        )
        for service, service_contacts in contacts.items()
    ]


SPEC = PartnershipSpec(
    slug="bolton",
    code="BOL",
    name="Bolton Safeguarding Children Partnership",
    seed_prefix="003_",
    # "LAUNCH: SEPTEMBER 2022 REVIEW : APRIL 2025".
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    directory_owner="boltonsafeguardingchildren@bolton.gov.uk",
    parse_directory=parse_directory,
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
