"""Trafford (seed 002) publishes no agency contact list; it names only the TSSP Business Manager.

The notice goes up "the management hierarchies of the involved agencies" and a copy goes to the
TSSP Business Manager. The agencies in ``trafford/directory.csv`` are therefore proposals, because
the seed has no list: they carry no contacts and need review, except the partnership's business
unit, whose Business Manager mailbox the seed gives.
"""

from __future__ import annotations

from portal.partnerships import GENERIC_FRONT_DOOR, PartnershipSpec, directory_csv

SPEC = PartnershipSpec(
    slug="trafford",
    code="TRA",
    name="Trafford Strategic Safeguarding Partnership",
    order=3,
    form_code="trafford-resolution-notice",
    # The seed carries no date.
    procedure_version="trafford-gm-undated",
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    directory_owner="tssp@trafford.gov.uk",
    directory=directory_csv(__name__),
)
