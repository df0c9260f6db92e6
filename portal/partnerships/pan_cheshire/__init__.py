"""Pan Cheshire (seed 001) publishes no agency contact list.

The procedure only refers to agencies generically: the local authority children's social care
"front door", safeguarding leads in health, police and schools, and the local Safeguarding
Partnership manager who holds the details of other agencies' leads and representatives. The
agencies in ``directory.csv`` are therefore proposals, because the seed has no list:
they carry no contacts and all need review before the directory is relied on.
"""

from __future__ import annotations

from pathlib import Path

from portal.domain.partnership import GENERIC_FRONT_DOOR, PartnershipSpec
from portal.partnerships.pan_cheshire.notice import NOTICE
from portal.partnerships.pan_cheshire.procedure import PROCEDURE

SPEC = PartnershipSpec(
    slug="pan-cheshire",
    code="PCH",
    name="Pan Cheshire Safeguarding Children Partnerships",
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    # The seed gives a post, not an address: "please contact your local Safeguarding Partnership
    # manager".
    directory_owner="Your local Safeguarding Partnership manager",
    directory=Path(__file__).with_name("directory.csv"),
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
