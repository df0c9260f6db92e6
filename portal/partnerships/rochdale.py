"""Rochdale (seed 000): the "Single Point of Contact (SPOC) List", one row per service.

Its directory is ``rochdale/directory.csv``, extracted by ``scripts/extract_directories.py``: a
service's mailboxes, telephone numbers and roles, with the instructions for senders as its note.
"""

from __future__ import annotations

from portal.partnerships import PartnershipSpec, directory_csv

SPEC = PartnershipSpec(
    slug="rochdale",
    code="ROC",
    name="Rochdale Borough Safeguarding Children Partnership",
    order=1,
    form_code="rochdale-appendix-1",
    # The seed carries no date. Its SPOC list still names HMR CCG (abolished July 2022) and the
    # National Probation Service (unified 2021), so 2021 is an estimate, not a printed date.
    procedure_version="rochdale-gm-2021",
    is_legacy=False,
    front_door="Rochdale Early Help and Safeguarding Hub (EHASH): 01706 925 879",
    directory_owner="RBSB.admin@rochdale.gov.uk",
    directory=directory_csv(__name__),
)
