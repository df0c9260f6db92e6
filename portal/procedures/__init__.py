"""Escalation procedures: one declarative definition per partnership and version.

``PROCEDURES`` maps (partnership slug, version) to a ``Procedure``. A notice stores the version it
was opened under (``Notice.procedure_version``) and is always read back with ``procedure_for``, so a
revised procedure never changes the stages, owners or timers of a notice already open.
``current_procedure`` gives the version new notices are opened under.

Every module in this package except ``base`` is a partnership definition: it is imported here, and
its ``PROCEDURE`` is registered as that partnership's current version. Nothing lists the modules.

Adding a sixth partnership:
1. Write ``portal/procedures/<slug>.py`` with ``PROCEDURE = Procedure(...)``, using the slug and
   ``procedure_version`` of its ``PartnershipSpec``, each stage named in its policy's words. That is
   all this package needs.
2. Add its form module and its directory import, as for the other five.

Revising a partnership's procedure: give the revision a new ``version`` and make it ``PROCEDURE``,
and move the old definition into a ``SUPERSEDED`` tuple in the same module, so notices opened under
it keep it. Code outside the package (a test, a plug-in) calls ``register(procedure)`` instead.
"""

from __future__ import annotations

import importlib
import pkgutil

from portal.procedures.base import (
    Procedure,
    ProcedureDefinitionError,
    Skip,
    Stage,
)

__all__ = [
    "CURRENT_VERSIONS",
    "PROCEDURES",
    "Procedure",
    "ProcedureDefinitionError",
    "Skip",
    "Stage",
    "UnknownProcedureError",
    "current_procedure",
    "procedure_for",
    "register",
]

PROCEDURES: dict[tuple[str, str], Procedure] = {}
# The version new notices are opened under, per partnership slug.
CURRENT_VERSIONS: dict[str, str] = {}

# Modules of this package that are not partnership definitions.
_NOT_DEFINITIONS = frozenset({"base"})


class UnknownProcedureError(KeyError):
    """No procedure is registered for a partnership, or for that version of it."""

    def __str__(self) -> str:
        # KeyError would show the message's repr, quotes and all.
        return str(self.args[0]) if self.args else ""


def register(procedure: Procedure, *, current: bool = True) -> Procedure:
    """Add ``procedure`` to the registry, as its partnership's current version unless ``current`` is False."""
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


def _load_definitions() -> None:
    """Import every definition module in this package and register its procedures."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_DEFINITIONS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        procedure = getattr(module, "PROCEDURE", None)
        if not isinstance(procedure, Procedure):
            raise ProcedureDefinitionError(
                f"{module.__name__} has no PROCEDURE: every module in {__name__} except "
                f"{', '.join(sorted(_NOT_DEFINITIONS))} defines one partnership's procedure"
            )
        if procedure.partnership_slug in CURRENT_VERSIONS:
            raise ProcedureDefinitionError(
                f"{module.__name__} defines {procedure.partnership_slug!r}, which another module already defines"
            )
        for old in getattr(module, "SUPERSEDED", ()):
            if old.partnership_slug != procedure.partnership_slug:
                raise ProcedureDefinitionError(f"{module.__name__}: SUPERSEDED holds another partnership's procedure")
            register(old, current=False)
        register(procedure)


_load_definitions()
