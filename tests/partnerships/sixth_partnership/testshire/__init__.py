"""Testshire: a sixth partnership defined only in the tests, in a package laid out as every partnership's is
(spec here; procedure, notice, form and layout beside it)."""

from __future__ import annotations

from pathlib import Path

from portal.domain.partnership import PartnershipSpec
from tests.partnerships.sixth_partnership.testshire.notice import NOTICE
from tests.partnerships.sixth_partnership.testshire.procedure import PROCEDURE

SPEC = PartnershipSpec(
    slug="testshire",
    code="TST",
    name="Testshire Safeguarding Children Partnership",
    is_legacy=False,
    front_door="Testshire front door: 01234 000000",
    directory_owner="partnership@testshire.test",
    directory=Path(__file__).with_name("directory.csv"),
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
