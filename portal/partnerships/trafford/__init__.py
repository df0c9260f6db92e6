"""Trafford (seed 002) publishes no agency contact list; it names only the TSSP Business Manager.

The notice goes up "the management hierarchies of the involved agencies" and a copy goes to the
TSSP Business Manager. The agencies in ``directory.csv`` are therefore proposals, because
the seed has no list: they carry no contacts and need review, except the partnership's business
unit, whose Business Manager mailbox the seed gives.
"""

from __future__ import annotations

from pathlib import Path

from portal.domain.partnership import GENERIC_FRONT_DOOR, PartnershipSpec
from portal.partnerships.trafford.notice import NOTICE
from portal.partnerships.trafford.procedure import PROCEDURE

SPEC = PartnershipSpec(
    slug="trafford",
    code="TRA",
    name="Trafford Strategic Safeguarding Partnership",
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    directory_owner="tssp@trafford.gov.uk",
    directory=Path(__file__).with_name("directory.csv"),
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
