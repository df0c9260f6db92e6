"""Testshire's directory import: its partnership spec and the parser for its (made-up) seed's SPOC table."""

from __future__ import annotations

from portal.partnerships import AgencySpec, ContactSpec, PartnershipSpec, find_table

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
    form_code="testshire-notice",
    procedure_version="testshire-2026",
    is_legacy=False,
    front_door="Testshire front door: 01234 000000",
    directory_owner="partnership@testshire.test",
    parse_directory=parse_directory,
)
