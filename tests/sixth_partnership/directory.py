"""Testshire's directory: its partnership spec and its (made-up) SPOC list as a directory CSV beside this module."""

from __future__ import annotations

from pathlib import Path

from portal.partnerships import PartnershipSpec

SPEC = PartnershipSpec(
    slug="testshire",
    code="TST",
    name="Testshire Safeguarding Children Partnership",
    order=6,
    form_code="testshire-notice",
    procedure_version="testshire-2026",
    is_legacy=False,
    front_door="Testshire front door: 01234 000000",
    directory_owner="partnership@testshire.test",
    directory=Path(__file__).with_name("directory.csv"),
)
