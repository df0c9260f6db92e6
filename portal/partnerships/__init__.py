"""The partnerships the portal serves: one package each, listed in ``REGISTRY`` at the foot of this module.

A partnership's package holds everything about it: ``__init__.py`` (its ``SPEC``: name, reference code,
front door, directory owner, retention), ``procedure.py`` (its stages in the seed's words), ``notice.py`` (what
its notice form asks and means), ``form.py`` (the form as the browser shows it), ``layout.py`` (its PDF) and its
directory. Adding a partnership is adding its package and one line to ``REGISTRY``.

This module imports only what the domain needs (spec, procedure, notice). The form and the PDF layout belong to
the web and PDF layers, which load them through ``part()`` so that nothing below the web layer imports forms.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from portal.domain.notice_definition import NoticeDefinition
from portal.domain.partnership import PartnershipSpec
from portal.domain.procedure import Procedure, ProcedureDefinitionError
from portal.domain.retention_rules import RetentionRule
from portal.partnerships import bolton, halton, pan_cheshire, rochdale, trafford

__all__ = [
    "CURRENT_VERSIONS",
    "NOTICES",
    "PARTNERSHIPS",
    "PROCEDURES",
    "UnknownProcedureError",
    "current_procedure",
    "notice_definition",
    "part",
    "procedure_for",
    "register",
    "register_procedure",
    "retention_rule",
    "spec_for",
]

# slug -> spec, in registry order (a fresh database numbers the partnerships the same way).
PARTNERSHIPS: dict[str, PartnershipSpec] = {}
# (slug, version) -> procedure: every version a notice may have been opened under.
PROCEDURES: dict[tuple[str, str], Procedure] = {}
# slug -> the version new notices are opened under.
CURRENT_VERSIONS: dict[str, str] = {}
# form code -> what the partnership's notice form asks.
NOTICES: dict[str, NoticeDefinition] = {}


class UnknownProcedureError(KeyError):
    """No procedure is registered for a partnership, or for that version of it."""

    def __str__(self) -> str:
        # KeyError would show the message's repr, quotes and all.
        return str(self.args[0]) if self.args else ""


def register(spec: PartnershipSpec) -> PartnershipSpec:
    """Add a partnership with its procedure (and superseded versions) and its notice form."""
    for other in PARTNERSHIPS.values():
        if other.slug != spec.slug and other.code == spec.code:
            raise ValueError(f"reference code {spec.code!r} is already used by {other.slug!r}")
    if spec.procedure.partnership_slug != spec.slug:
        raise ProcedureDefinitionError(f"{spec.package}: its procedure is for {spec.procedure.partnership_slug!r}")
    for old in spec.superseded:
        if old.partnership_slug != spec.slug:
            raise ProcedureDefinitionError(f"{spec.package}: a superseded procedure is another partnership's")
        register_procedure(old, current=False)
    register_procedure(spec.procedure)
    existing = NOTICES.get(spec.notice.code)
    if existing is not None and existing is not spec.notice:
        raise ValueError(f"form code {spec.notice.code!r} is already registered")
    NOTICES[spec.notice.code] = spec.notice
    PARTNERSHIPS[spec.slug] = spec
    return spec


def register_procedure(procedure: Procedure, *, current: bool = True) -> Procedure:
    """Add a procedure version, as its partnership's current version unless ``current`` is False."""
    if not isinstance(procedure, Procedure):
        raise TypeError(f"expected a Procedure, not {type(procedure).__name__}")
    existing = PROCEDURES.get(procedure.key)
    if existing is not None and existing != procedure:
        # Open notices are bound to the version string: changing its meaning would change them silently.
        raise ProcedureDefinitionError(
            f"{procedure.partnership_slug} version {procedure.version!r} is already registered with a different "
            "definition; give the revision a new version"
        )
    PROCEDURES[procedure.key] = procedure
    if current:
        CURRENT_VERSIONS[procedure.partnership_slug] = procedure.version
    return procedure


def current_procedure(slug: str) -> Procedure:
    """Return the procedure new notices for partnership ``slug`` are opened under."""
    version = CURRENT_VERSIONS.get(slug)
    if version is None:
        known = ", ".join(sorted(CURRENT_VERSIONS)) or "none"
        raise UnknownProcedureError(f"no procedure is registered for partnership {slug!r}; registered: {known}")
    return PROCEDURES[(slug, version)]


def procedure_for(slug: str, version: str) -> Procedure:
    """Return the procedure a notice was opened under, by partnership slug and version."""
    procedure = PROCEDURES.get((slug, version))
    if procedure is None:
        versions = ", ".join(sorted(v for s, v in PROCEDURES if s == slug))
        if not versions:
            raise UnknownProcedureError(f"no procedure is registered for partnership {slug!r}")
        raise UnknownProcedureError(
            f"partnership {slug!r} has no procedure version {version!r}; registered versions: {versions}"
        )
    return procedure


def notice_definition(form_code: str) -> NoticeDefinition | None:
    """Return what a notice form asks, or None for a form the portal does not have."""
    return NOTICES.get(form_code)


def spec_for(slug: str) -> PartnershipSpec:
    return PARTNERSHIPS[slug]


def retention_rule(slug: str) -> RetentionRule:
    """How long the partnership keeps a closed notice."""
    return PARTNERSHIPS[slug].retention


def part(form_code: str, name: str) -> ModuleType:
    """Return a partnership's ``form`` or ``layout`` module, by its notice's form code.

    Loaded by name on first use (a plug-in boundary): the web layer asks for forms and the PDF service for
    layouts, and this registry, which the domain and services import, never imports either.
    """
    if name not in ("form", "layout"):
        raise ValueError(f"a partnership has no part {name!r}")
    for spec in PARTNERSHIPS.values():
        if spec.notice.code == form_code:
            return importlib.import_module(f"{spec.package}.{name}")
    raise LookupError(f"no partnership has the form {form_code!r}")


# The registry: one line per partnership, in the order a fresh database numbers them.
REGISTRY: tuple[PartnershipSpec, ...] = (
    rochdale.SPEC,
    pan_cheshire.SPEC,
    trafford.SPEC,
    bolton.SPEC,
    halton.SPEC,
)

for _spec in REGISTRY:
    register(_spec)
