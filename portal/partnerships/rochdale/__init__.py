"""Rochdale (seed 000): the "Single Point of Contact (SPOC) List", one row per service.

Its directory is ``directory.csv``, extracted by ``scripts/extract_directories.py``: a
service's mailboxes, telephone numbers and roles, with the instructions for senders as its note.
"""

from __future__ import annotations

from pathlib import Path

from portal.domain.partnership import PartnershipSpec
from portal.partnerships.rochdale.notice import NOTICE
from portal.partnerships.rochdale.procedure import PROCEDURE

SPEC = PartnershipSpec(
    slug="rochdale",
    code="ROC",
    name="Rochdale Borough Safeguarding Children Partnership",
    is_legacy=False,
    front_door="Rochdale Early Help and Safeguarding Hub (EHASH): 01706 925 879",
    directory_owner="RBSB.admin@rochdale.gov.uk",
    directory=Path(__file__).with_name("directory.csv"),
    procedure=PROCEDURE,
    notice=NOTICE,
    package=__name__,
)
