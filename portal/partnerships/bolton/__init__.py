"""Bolton's "Resolution Single Points of Contact (SPOC)" table (seed 003, Appendix 1).

Four columns: Service, Role, Telephone, Email; ``directory.csv`` keeps one contact per row.
NHS Greater Manchester gives a website, not a mailbox, so its note says so.
"""

from __future__ import annotations

from pathlib import Path

from portal.domain.partnership import GENERIC_FRONT_DOOR, PartnershipSpec
from portal.partnerships.bolton.notice import NOTICE
from portal.partnerships.bolton.procedure import PROCEDURE

SPEC = PartnershipSpec(
    slug="bolton",
    code="BOL",
    name="Bolton Safeguarding Children Partnership",
    # "LAUNCH: SEPTEMBER 2022 REVIEW : APRIL 2025".
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    directory_owner="boltonsafeguardingchildren@bolton.gov.uk",
    directory=Path(__file__).with_name("directory.csv"),
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
