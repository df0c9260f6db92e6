"""Trafford (seed 002) publishes no agency contact list; it names only the TSSP Business Manager.

The notice goes up "the management hierarchies of the involved agencies" and a copy goes to the
TSSP Business Manager. The agencies returned here are therefore proposals, because the seed has no
list: they carry no contacts and need review, except the partnership's business unit, whose
Business Manager mailbox is read from the seed.
"""

from __future__ import annotations

import re

from portal.domain.partnership import GENERIC_FRONT_DOOR, AgencySpec, ContactSpec, PartnershipSpec
from portal.partnerships.seed_text import EMAIL_RE, SeedFormatError, squash
from portal.partnerships.trafford.notice import NOTICE
from portal.partnerships.trafford.procedure import PROCEDURE

BUSINESS_UNIT = "Safeguarding Partnership business unit"
BUSINESS_MANAGER_ROLE = "TSSP Business Manager"

_PROPOSED = ("Local authority children's social care", "Health", "Police", "Education")
# "… shared with the TSSP Business Manager tssp@trafford.gov.uk."
_MANAGER_RE = re.compile(rf"{re.escape(BUSINESS_MANAGER_ROLE)}\s+(?P<email>{EMAIL_RE.pattern})")


def parse_directory(seed_text: str) -> list[AgencySpec]:
    """Return the proposed agencies and the business unit with the seed's Business Manager mailbox."""
    text = squash(seed_text)
    manager = _MANAGER_RE.search(text)
    if manager is None:
        raise SeedFormatError(f"no {BUSINESS_MANAGER_ROLE} mailbox in the Trafford seed")
    agencies = [AgencySpec(name=name, sender_note="", contacts=(), needs_review=True) for name in _PROPOSED]
    agencies.append(
        AgencySpec(
            name=BUSINESS_UNIT,
            sender_note=(f"A copy of this escalation notice should be shared with the {BUSINESS_MANAGER_ROLE}."),
            contacts=(ContactSpec(BUSINESS_MANAGER_ROLE, manager.group("email"), None),),
            needs_review=False,
        )
    )
    return agencies


SPEC = PartnershipSpec(
    slug="trafford",
    code="TRA",
    name="Trafford Strategic Safeguarding Partnership",
    seed_prefix="002_",
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    directory_owner="tssp@trafford.gov.uk",
    parse_directory=parse_directory,
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
