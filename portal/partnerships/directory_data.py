"""Read a partnership's directory CSV (``<module>/directory.csv``) into AgencySpecs, checking every row.

The CSVs are extracted from the published procedures by ``scripts/extract_directories.py`` and then
kept by hand. One row per contact, in directory order, header first, UTF-8:

- ``agency``: the agency or service; its rows are consecutive. ``sender_note``, ``review_by`` and
  ``needs_review`` belong to the agency, so all its rows give the same values.
- ``sender_note``: what a sender must know (e.g. GMP: "must include a telephone call"); may span lines.
- ``tier``, ``role``, ``name``: the contact's escalation tier (Halton's Appendix A columns), post and
  person. The portal's role title is ``tier: role`` (either alone when the other is empty); a name is
  put in front of the role (``name – role``) unless the role already contains it, as Halton's do.
- ``email``, ``telephone``: at least one for a contact.
- ``stages``: the procedure stage codes the contact serves, ``;``-separated; empty means any.
- ``review_by``: ISO date when the entry is next checked (empty: the import decides).
- ``needs_review``: ``true`` or ``false``; true for entries known to be stale or proposed without a
  published list.
- ``source``: the published document and table the row came from, or "proposal: no published SPOC list".

An agency without contacts is one row with the contact columns (tier to stages) empty.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from portal.domain.partnership import AgencySpec, ContactSpec

COLUMNS = (
    "agency",
    "sender_note",
    "tier",
    "role",
    "name",
    "email",
    "telephone",
    "stages",
    "review_by",
    "needs_review",
    "source",
)
_CONTACT_COLUMNS = ("tier", "role", "name", "email", "telephone", "stages")

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# UK numbers as the procedures write them: "01706 925 897", "0161 716 3785", "07547409726".
_TELEPHONE_RE = re.compile(r"0[0-9 ]+")
_STAGE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOOLEANS = {"true": True, "false": False}


class DirectoryDataError(ValueError):
    """A directory CSV is missing or has a row the portal cannot load; the message names file and line."""


@dataclass
class _Agency:
    name: str
    line: int
    sender_note: str
    review_by: date | None
    needs_review: bool
    source: str = ""
    contacts: list[ContactSpec] = field(default_factory=list)
    empty_row: bool = False


def read_directory(path: Path) -> list[AgencySpec]:
    """Return the agencies of the directory CSV at ``path`` in file order; DirectoryDataError names a bad row."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return _read(path, handle)
    except FileNotFoundError:
        raise DirectoryDataError(f"{path}: no such directory file") from None
    except UnicodeDecodeError as problem:
        raise DirectoryDataError(f"{path}: not UTF-8 ({problem.reason} at byte {problem.start})") from None
    except csv.Error as problem:
        raise DirectoryDataError(f"{path}: not a readable CSV ({problem})") from None


def _read(path: Path, handle: Iterable[str]) -> list[AgencySpec]:
    reader = csv.reader(handle, strict=True)
    header = next(reader, None)
    if header is None:
        raise DirectoryDataError(f"{path}, line 1: the file is empty; the first line names the columns")
    header = [name.strip() for name in header]
    _check_header(f"{path}, line 1", header)
    agencies: list[_Agency] = []
    line = reader.line_num + 1
    for cells in reader:
        # A quoted note may span lines: a row is named by the line it starts on.
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path}, line {start}"
        if len(cells) != len(header):
            raise DirectoryDataError(f"{where}: {len(cells)} fields, but the header has {len(header)}")
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        _add_row(where, start, row, agencies)
    if not agencies:
        raise DirectoryDataError(f"{path}: no agencies below the header")
    return [
        AgencySpec(
            name=agency.name,
            sender_note=agency.sender_note,
            contacts=tuple(agency.contacts),
            needs_review=agency.needs_review,
            review_by=agency.review_by,
            source=agency.source,
        )
        for agency in agencies
    ]


def _check_header(where: str, names: list[str]) -> None:
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise DirectoryDataError(
            f"{where}: unknown column(s) {', '.join(map(repr, unknown))}; the columns are {', '.join(COLUMNS)}"
        )
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise DirectoryDataError(f"{where}: missing column(s) {', '.join(missing)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DirectoryDataError(f"{where}: column(s) {', '.join(repeated)} appear more than once")


def _add_row(where: str, line: int, row: dict[str, str], agencies: list[_Agency]) -> None:
    name = row["agency"]
    if not name:
        raise DirectoryDataError(f"{where}: the agency is empty")
    if not row["source"]:
        raise DirectoryDataError(f"{where}: the source is empty; name the published document the row comes from")
    review_by = _date(where, row["review_by"])
    needs_review = _boolean(where, row["needs_review"])
    contact = _contact(where, row)

    current = agencies[-1] if agencies and agencies[-1].name == name else None
    if current is None:
        earlier = next((agency for agency in agencies if agency.name == name), None)
        if earlier is not None:
            raise DirectoryDataError(
                f"{where}: agency {name!r} already ended at an earlier row (line {earlier.line}); "
                "an agency's rows must be consecutive"
            )
        current = _Agency(name, line, row["sender_note"], review_by, needs_review, row["source"])
        agencies.append(current)
    else:
        for column, value, first in (
            ("sender_note", row["sender_note"], current.sender_note),
            ("review_by", review_by, current.review_by),
            ("needs_review", needs_review, current.needs_review),
        ):
            if value != first:
                raise DirectoryDataError(
                    f"{where}: {column} differs from line {current.line} for agency {name!r}; "
                    "it belongs to the agency, so every row of the agency gives the same"
                )
    if contact is None:
        if current.contacts:
            raise DirectoryDataError(f"{where}: a row without a contact must be its agency's only row ({name!r})")
        if current.empty_row:
            raise DirectoryDataError(f"{where}: agency {name!r} already has a row without a contact")
        current.empty_row = True
        return
    if current.empty_row:
        raise DirectoryDataError(f"{where}: a row without a contact must be its agency's only row ({name!r})")
    current.contacts.append(contact)


def _contact(where: str, row: dict[str, str]) -> ContactSpec | None:
    """The row's contact, or None for an agency's row without one (every contact column empty)."""
    if not any(row[column] for column in _CONTACT_COLUMNS):
        return None
    tier, role, name, email, telephone = (row[c] for c in ("tier", "role", "name", "email", "telephone"))
    if not (tier or role):
        raise DirectoryDataError(f"{where}: a contact needs a tier or a role")
    if not (email or telephone):
        raise DirectoryDataError(f"{where}: a contact needs an email or a telephone")
    if email and not EMAIL_RE.fullmatch(email):
        raise DirectoryDataError(f"{where}: email {email!r} is not an e-mail address")
    if telephone and not (_TELEPHONE_RE.fullmatch(telephone) and 10 <= len(telephone.replace(" ", "")) <= 11):
        raise DirectoryDataError(f"{where}: telephone {telephone!r} is not a UK number (10 or 11 digits from 0)")
    stages = tuple(code.strip() for code in row["stages"].split(";")) if row["stages"] else ()
    bad = [code for code in stages if not _STAGE_RE.fullmatch(code)]
    if bad:
        raise DirectoryDataError(
            f"{where}: stages {row['stages']!r} must be stage codes such as 'stage-3', separated by ';'"
        )
    return ContactSpec(
        role_title=role_title(tier, role, name),
        email=email or None,
        telephone=telephone or None,
        stages=stages,
    )


def role_title(tier: str, role: str, name: str = "") -> str:
    """The portal's role title: ``tier: role``, with ``name – `` before the role unless the role already has it."""
    if name and name not in role:
        role = f"{name} – {role}" if role else name
    return ": ".join(part for part in (tier, role) if part)


def _date(where: str, value: str) -> date | None:
    if not value:
        return None
    try:
        if not _DATE_RE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise DirectoryDataError(f"{where}: review_by {value!r} is not a date (YYYY-MM-DD)") from None


def _boolean(where: str, value: str) -> bool:
    try:
        return _BOOLEANS[value.casefold()]
    except KeyError:
        raise DirectoryDataError(f"{where}: needs_review {value!r} must be true or false") from None
