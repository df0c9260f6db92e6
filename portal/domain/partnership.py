"""A partnership as the portal knows it: its reference code, its procedure, its notice form, its directory and
how long its records are kept. Each partnership's package (``portal/partnerships/<name>/``) declares one
``PartnershipSpec``; ``portal.partnerships`` lists them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from portal.domain.notice_definition import NoticeDefinition
from portal.domain.procedure import Procedure
from portal.domain.retention_rules import DEFAULT, RetentionRule

GENERIC_FRONT_DOOR = (
    "Contact your local authority children's social care front door to make a child protection "
    "referral. If a child is in immediate danger, call 999."
)


@dataclass(frozen=True)
class ContactSpec:
    """One directory entry for an agency: a role (or named post) and how to reach it."""

    role_title: str
    email: str | None
    telephone: str | None
    # Procedure stage codes the contact serves; empty means any. Kept in the data, not in the database.
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgencySpec:
    """An agency or service as a partnership's published directory lists it."""

    name: str
    sender_note: str
    contacts: tuple[ContactSpec, ...]
    # True when the published entry is known to be out of date or was proposed without a published list.
    needs_review: bool
    # When the entry is next checked; None lets the import choose (today, or in a year if no review is needed).
    review_by: date | None = None
    # The published document (and table) the entry comes from: the CSV's source column. Provenance, not
    # content: two readings of the same directory from different files are the same directory.
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class PartnershipSpec:
    """A partnership, its procedure (and the versions it replaced), its notice and its directory."""

    slug: str
    # Reference prefix, e.g. "ROC" in ROC-2026-0001.
    code: str
    name: str
    is_legacy: bool
    front_door: str
    directory_owner: str
    # The partnership's directory: a CSV extracted once from its published procedure
    # (scripts/extract_directories.py), committed beside its package and loaded by `init`.
    directory: Path
    procedure: Procedure
    notice: NoticeDefinition
    # The package the partnership lives in: its form (web) and PDF layout are found there (portal.partnerships.part).
    package: str
    # Earlier versions of the procedure, kept so notices opened under them keep their stages and clocks.
    superseded: tuple[Procedure, ...] = ()
    # How long a closed notice is kept before it is crypto-shredded (docs/retention.md).
    retention: RetentionRule = field(default=DEFAULT)

    @property
    def form_code(self) -> str:
        return self.notice.code

    @property
    def procedure_version(self) -> str:
        return self.procedure.version
