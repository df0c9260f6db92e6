"""The five partnerships the portal serves, and the shapes their SPOC directories are read into.

Each partnership has its own module defining ``SPEC``; its directory is the CSV beside it,
``<module>/directory.csv``, extracted from the published procedure by ``scripts/extract_directories.py``
and read by ``portal.partnerships.directory_data``. ``portal.services.directory`` turns it into Agency and
DirectoryContact rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


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
    """An agency or service as its partnership's directory lists it."""

    name: str
    sender_note: str
    contacts: tuple[ContactSpec, ...]
    # True when the published entry is known to be out of date or was proposed without a published list.
    needs_review: bool
    # When the entry is next checked; None lets the import choose (today, or in a year if no review is needed).
    review_by: date | None = None


@dataclass(frozen=True)
class PartnershipSpec:
    """A partnership, its procedure and the CSV its directory is loaded from."""

    slug: str
    code: str
    name: str
    # Registration order (a fresh database numbers the partnerships in it): 1 Rochdale … 5 Halton.
    order: int
    form_code: str
    procedure_version: str
    is_legacy: bool
    front_door: str
    directory_owner: str
    directory: Path


_PACKAGE_DIR = Path(__file__).resolve().parent


def directory_csv(module_name: str) -> Path:
    """Return ``<module>/directory.csv`` in this package for the partnership module ``module_name`` (``__name__``).

    Found through the package's own folder, so it works from an installed wheel as from a checkout.
    """
    return _PACKAGE_DIR / module_name.rpartition(".")[2] / "directory.csv"


GENERIC_FRONT_DOOR = (
    "Contact your local authority children's social care front door to make a child protection "
    "referral. If a child is in immediate danger, call 999."
)

# Keyed by slug. Every module of this package defines one partnership as ``SPEC`` (with its directory CSV);
# they are found by listing the package, so adding a partnership is adding its module and its CSV. Code
# outside the package (a test, a plug-in) calls register_partnership().
PARTNERSHIPS: dict[str, PartnershipSpec] = {}


def register_partnership(spec: PartnershipSpec) -> PartnershipSpec:
    """Add a partnership; its slug and reference code must be new."""
    for other in PARTNERSHIPS.values():
        if other.slug != spec.slug and other.code == spec.code:
            raise ValueError(f"reference code {spec.code!r} is already used by {other.slug!r}")
    PARTNERSHIPS[spec.slug] = spec
    return spec


def _load_partnerships() -> None:
    import importlib
    import pkgutil

    specs = []
    for info in pkgutil.iter_modules(__path__):
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "SPEC", None)
        if isinstance(spec, PartnershipSpec):
            specs.append(spec)
    # In their explicit order (Rochdale … Halton), so a fresh database numbers them the same way.
    for spec in sorted(specs, key=lambda s: s.order):
        register_partnership(spec)


__all__ = [
    "GENERIC_FRONT_DOOR",
    "PARTNERSHIPS",
    "AgencySpec",
    "ContactSpec",
    "PartnershipSpec",
    "directory_csv",
    "register_partnership",
]

_load_partnerships()
