"""Halton's 2013 "APPENDIX A – AGENCY CONTACT DETAILS" (seed 004): three escalation tiers per agency.

The tiers are the header's columns ("Manager/Named Professional Safeguarding", "Next Level
Management", "HSCB Representative for Agency"). In ``directory.csv`` every person named in a
cell is a contact with its tier, so a contact's role title starts with the tier and the directory
keeps the order of escalation. The list dates from 2013 and names individuals throughout, so every
agency needs review before anyone relies on it.
"""

from __future__ import annotations

from pathlib import Path

from portal.domain.partnership import GENERIC_FRONT_DOOR, PartnershipSpec
from portal.partnerships.halton.notice import NOTICE
from portal.partnerships.halton.procedure import PROCEDURE

SPEC = PartnershipSpec(
    slug="halton",
    code="HAL",
    name="Halton Safeguarding Children Board",
    # "Revised September 2013".
    is_legacy=True,
    front_door=GENERIC_FRONT_DOOR,
    # The seed names a post, not an address, as the owner of escalations and learning.
    directory_owner="Multi-Agency Safeguarding Children's Unit Manager",
    directory=Path(__file__).with_name("directory.csv"),
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
