"""Bolton's "Resolution Single Points of Contact (SPOC)" table (seed 003, Appendix 1).

Four columns: Service, Role, Telephone, Email; ``bolton/directory.csv`` keeps one contact per row.
NHS Greater Manchester gives a website, not a mailbox, so its note says so.
"""

from __future__ import annotations

from portal.partnerships import GENERIC_FRONT_DOOR, PartnershipSpec, directory_csv

SPEC = PartnershipSpec(
    slug="bolton",
    code="BOL",
    name="Bolton Safeguarding Children Partnership",
    order=4,
    form_code="bolton-rpde",
    # "LAUNCH: SEPTEMBER 2022 REVIEW : APRIL 2025".
    procedure_version="bolton-2022-09",
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    directory_owner="boltonsafeguardingchildren@bolton.gov.uk",
    directory=directory_csv(__name__),
)
