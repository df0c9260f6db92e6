"""Testshire: a sixth partnership defined only in the tests, in a package laid out as every partnership's is
(spec here; procedure, notice, form and layout beside it)."""

from __future__ import annotations

from portal.domain.partnership import AgencySpec, ContactSpec, PartnershipSpec
from portal.partnerships.seed_text import find_table
from tests.sixth_partnership.testshire.notice import NOTICE
from tests.sixth_partnership.testshire.procedure import PROCEDURE

SEED = (
    "Testshire Safeguarding Children Partnership: SPOC list\n"
    "Agency\tRole\tEmail\n"
    "Testshire Health\tNamed Nurse\tnamed.nurse@health.testshire.test\n"
    "Testshire Children's Services\tHead of Service\thead.service@cs.testshire.test\n"
)


def parse_directory(seed_text: str) -> list[AgencySpec]:
    _header, rows = find_table(seed_text, ("Agency", "Role", "Email"))
    return [
        AgencySpec(name=agency, sender_note="", contacts=(ContactSpec(role, email, None),), needs_review=False)
        for agency, role, email, *_ in rows
    ]


SPEC = PartnershipSpec(
    slug="testshire",
    code="TST",
    name="Testshire Safeguarding Children Partnership",
    seed_prefix="999_",
    is_legacy=False,
    front_door="Testshire front door: 01234 000000",
    directory_owner="partnership@testshire.test",
    parse_directory=parse_directory,
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
