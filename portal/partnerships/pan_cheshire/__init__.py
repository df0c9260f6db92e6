"""Pan Cheshire (seed 001) publishes no agency contact list.

The procedure only refers to agencies generically: the local authority children's social care
"front door", safeguarding leads in health, police and schools, and the local Safeguarding
Partnership manager who holds the details of other agencies' leads and representatives. The
agencies returned here are therefore proposals, because the seed has no list: they carry no
contacts and all need review before the directory is relied on.
"""

from __future__ import annotations

from portal.domain.partnership import GENERIC_FRONT_DOOR, AgencySpec, PartnershipSpec
from portal.partnerships.pan_cheshire.notice import NOTICE
from portal.partnerships.pan_cheshire.procedure import PROCEDURE
from portal.partnerships.seed_text import SeedFormatError, squash

# (name, sender note quoting or paraphrasing the seed's instruction for that agency).
_PROPOSED = (
    (
        "Local authority children's social care",
        "If the child is at significant risk, contact the local authority children's social care front door.",
    ),
    ("Health", ""),
    ("Police", ""),
    (
        "Education",
        "At Step 3, schools escalate through the Chair of Governors alongside the Head Teacher.",
    ),
    (
        "Safeguarding Partnership business unit",
        "Ask your local Safeguarding Partnership manager for the safeguarding lead or Safeguarding "
        "Partnership representative in another agency.",
    ),
)


def parse_directory(seed_text: str) -> list[AgencySpec]:
    """Return the proposed agencies, after checking the seed is the Pan Cheshire procedure."""
    if "pan cheshire procedure" not in squash(seed_text).casefold():
        raise SeedFormatError("the seed is not the Pan Cheshire escalation procedure")
    return [AgencySpec(name=name, sender_note=note, contacts=(), needs_review=True) for name, note in _PROPOSED]


SPEC = PartnershipSpec(
    slug="pan-cheshire",
    code="PCH",
    name="Pan Cheshire Safeguarding Children Partnerships",
    seed_prefix="001_",
    is_legacy=False,
    front_door=GENERIC_FRONT_DOOR,
    # The seed gives a post, not an address: "please contact your local Safeguarding Partnership
    # manager".
    directory_owner="Your local Safeguarding Partnership manager",
    parse_directory=parse_directory,
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
