"""Pan Cheshire (seed 001) publishes no agency contact list.

The procedure only refers to agencies generically: the local authority children's social care
"front door", safeguarding leads in health, police and schools, and the local Safeguarding
Partnership manager who holds the details of other agencies' leads and representatives. The
agencies in ``pan_cheshire/directory.csv`` are therefore proposals, because the seed has no list:
they carry no contacts and all need review before the directory is relied on.
"""

from __future__ import annotations

from portal.partnerships import GENERIC_FRONT_DOOR, PartnershipSpec, directory_csv

SPEC = PartnershipSpec(
    slug="pan-cheshire",
    code="PCH",
    name="Pan Cheshire Safeguarding Children Partnerships",
    order=2,
    form_code="pan-cheshire-appendix-a",
    # The seed carries no date.
    procedure_version="pan-cheshire-undated",
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    # The seed gives a post, not an address: "please contact your local Safeguarding Partnership
    # manager".
    directory_owner="Your local Safeguarding Partnership manager",
    directory=directory_csv(__name__),
)
