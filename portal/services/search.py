"""Finding a child's notices without decrypting every notice: blind indexes (docs/threats.md#properties: 8, 9).

A notice's NHS number, and its surname with date of birth, are normalised, hashed with HMAC-SHA256 under
the keyring's blind-index key (never an encryption key) and truncated to INDEX_BITS bits. The truncation is
deliberate: with the planned population each value is shared by two or more notices on average, so a copy
of the table shows which notices *might* concern the same child, never which do. Search therefore finds
candidates by index value and confirms each by decrypting its answers; only notices the searcher may read
are decrypted at all. There is no index of the date of birth alone: its range is small enough (a few
thousand values) to enumerate even under a key. The CHECK on notice_blind_index.kind enforces that.

Which answers are indexed comes from each form's NoticeFormDefinition: a form whose identifier_fields name
``nhs_number`` has it indexed, and one naming ``child_name`` and ``child_dob`` has the surname (the last word
of the child's name) with the date of birth indexed. A form that names its identifiers otherwise is not
searchable until it uses those names.

Rotation (property 9), the dual-column pattern with a key version per row in place of a column per version:
``keys rotate-blind-index`` adds a new key version to the keyring and makes it active; from then on every
worker (it re-reads the keyring file when it changes) writes rows under both versions and searches both;
the command backfills the new version's rows for older notices in batches, one transaction each, resumable;
``--finish`` backfills anything left, deletes the old version's rows and removes the old key.
"""

from __future__ import annotations

import functools
import hmac
import math
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import and_, delete, distinct, exists, func, insert, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from portal.domain.models import (
    DataKey,
    Notice,
    NoticeAnswer,
    NoticeBlindIndex,
    NoticeRecipient,
    NoticeStatus,
    Role,
    User,
)
from portal.domain.nhs_number import nhs_number_digits, nhs_number_is_valid
from portal.domain.policy import may
from portal.infrastructure.crypto import (
    DecryptionError,
    KeyRing,
    KeyringError,
    add_blind_index_key,
    load_keys,
    retire_blind_index_keys,
)
from portal.infrastructure.db import rows_matched, with_retries
from portal.partnerships import notice_definition
from portal.services import audit, record, vault
from portal.services.runtime import PortalServices

NHS_NUMBER = "nhs_number"
SURNAME_DOB = "surname_dob"
KINDS = (NHS_NUMBER, SURNAME_DOB)
# The answer names a form's identifier_fields must use for the notice to be searchable.
NAME_FIELD, DOB_FIELD, NHS_FIELD = "child_name", "child_dob", "nhs_number"

# Notices the portal is planned to hold at once across every partnership (five partnerships, a few hundred
# notices a year each, kept six years after closure or to the child's 25th birthday). The truncation is
# chosen so that this many notices share each index value two or more at a time (CipherSweet's planner).
PLANNED_POPULATION = 10_000
MIN_CANDIDATES = 2


def plan_bits(population: int, min_candidates: int = MIN_CANDIDATES) -> int:
    """The most bits an index may keep so that `population` values fill each of the 2**bits buckets with at
    least `min_candidates` on average."""
    return max(1, math.floor(math.log2(population / min_candidates)))


# The size of a key version whose size the keyring does not record (every version made before sizing).
# A rotation chooses the new version's size from the number of notices (bits_for) and records it beside the
# key: values are matched per version, so each version keeps its own size (docs/blind-index-sizing.md).
INDEX_BITS = plan_bits(PLANNED_POPULATION)


def bits_for(notices: int, min_candidates: int = MIN_CANDIDATES) -> int:
    """The size for a new key version over this many indexed notices: each value shared by `min_candidates`
    notices or more on average today (more as the table grows, until the next rotation re-sizes it)."""
    return min(31, plan_bits(max(notices, min_candidates), min_candidates))


def version_bits(keyring: KeyRing) -> tuple[int, dict[int, bytes], dict[int, int]]:
    """(active version, {version: key}, {version: bits}) with every version's size filled in."""
    active, keys, recorded = keyring.blind_index_versions()
    return active, keys, {v: recorded.get(v, INDEX_BITS) for v in keys}


Progress = Callable[[str], None]


class SearchError(ValueError):
    """The search terms cannot be searched as given; ``field`` names the input to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class IndexRotationError(RuntimeError):
    """A blind-index key rotation step was refused; the message says why and what to do."""


# -- normalisation ----------------------------------------------------------------------------------------

# Whitespace and every kind of hyphen or dash people (and word processors) type in names.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+")
_APOSTROPHES = re.compile(r"[\u2018\u2019\u02bc\u0060\u00b4]")


def normalise_nhs_number(value: str) -> str:
    """The 10 digits of a valid NHS number ("943 476 5919" -> "9434765919"); SearchError if not valid."""
    digits = nhs_number_digits(unicodedata.normalize("NFKC", value or "").strip())
    if not nhs_number_is_valid(digits):
        raise SearchError("nhs_number", "Enter a valid NHS number: 10 digits, like 943 476 5919")
    return digits


def normalise_surname(value: str) -> str:
    """NFKC, casefold, typographic apostrophes made plain, runs of spaces and hyphens made one space."""
    text = _APOSTROPHES.sub("'", unicodedata.normalize("NFKC", value or "")).casefold()
    return _SEPARATORS.sub(" ", text).strip()


def surname_of(full_name: str) -> str:
    """The surname in a child's full name as the forms take it: the last word ("Mary Smith-Jones" ->
    "smith jones"). Words are split on spaces only, so a double-barrelled surname stays whole."""
    words = unicodedata.normalize("NFKC", full_name or "").split()
    return normalise_surname(words[-1]) if words else ""


def normalise_dob(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else date.fromisoformat(value).isoformat()


def index_value(key: bytes, kind: str, normalised: str, bits: int = INDEX_BITS) -> int:
    """HMAC-SHA256 of the kind and the normalised value under a blind-index key, truncated to `bits` bits."""
    if kind not in KINDS:
        raise ValueError(f"unknown blind-index kind {kind!r}")
    mac = hmac.new(key, b"escalation-portal/blind-index/v1|" + kind.encode() + b"|" + normalised.encode(), "sha256")
    return int.from_bytes(mac.digest()[:4], "big") >> (32 - bits)


def identifiers(form_code: str, answers: dict[str, str]) -> dict[str, str]:
    """The normalised searchable identifiers in a notice's answers, by kind (only those the form holds)."""
    definition = notice_definition(form_code)
    fields = set(definition.identifier_fields) if definition is not None else set()
    found: dict[str, str] = {}
    nhs = answers.get(NHS_FIELD, "") if NHS_FIELD in fields else ""
    if nhs:
        try:
            found[NHS_NUMBER] = normalise_nhs_number(nhs)
        except SearchError:
            pass  # the forms refuse invalid numbers; an old answer that fails is simply not indexed
    if {NAME_FIELD, DOB_FIELD} <= fields:
        surname, dob = surname_of(answers.get(NAME_FIELD, "")), answers.get(DOB_FIELD, "")
        if surname and dob:
            found[SURNAME_DOB] = f"{surname}|{normalise_dob(dob)}"
    return found


def _rows(
    notice_id: str, found: dict[str, str], keys: dict[int, bytes], bits: dict[int, int]
) -> list[dict[str, object]]:
    return [
        {
            "notice_id": notice_id,
            "kind": kind,
            "key_version": version,
            "value": index_value(key, kind, value, bits[version]),
        }
        for version, key in sorted(keys.items())
        for kind, value in sorted(found.items())
    ]


def index_notice(session: Session, keyring: KeyRing, notice: Notice, answers: dict[str, str]) -> int:
    """Add the notice's index rows under every blind-index key version the keyring holds now, to be written
    with the notice's other rows when the caller's transaction flushes; return how many. Called once, when
    the notice is submitted (nothing is executed here: a submit writes all its rows in one round)."""
    _active, keys, bits = version_bits(keyring)
    rows = _rows(notice.id, identifiers(notice.form_code, answers), keys, bits)
    session.add_all(NoticeBlindIndex(**row) for row in rows)
    return len(rows)


def index_keys(keyring: KeyRing, form_code: str, answers: dict[str, str]) -> list[tuple[str, int, int]]:
    """(kind, key version, value) of the index rows these answers have or would have, computed, not read: a
    notice being submitted has its rows only in the session until the submit's one flush."""
    _active, keys, bits = version_bits(keyring)
    return [
        (str(row["kind"]), int(str(row["key_version"])), int(str(row["value"])))
        for row in _rows("", identifiers(form_code, answers), keys, bits)
    ]


# -- search -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """A notice found by a search, as the results list shows it: nothing that identifies the child."""

    id: str
    reference: str
    stage: str
    status: str
    raising_agency: str
    receiving_agencies: str


@dataclass
class SearchOutcome:
    results: list[SearchResult]
    # Notices whose index values matched, before the readable ones were decrypted and compared.
    candidates: int = 0
    kinds: tuple[str, ...] = field(default_factory=tuple)


def search_terms(*, nhs_number: str | None, surname: str | None, dob: date | None) -> dict[str, str]:
    """Normalised terms by kind: an NHS number, or a surname with a date of birth (both, if both are given).

    A date of birth alone is refused, and so is a surname alone.
    """
    terms: dict[str, str] = {}
    if nhs_number and nhs_number.strip():
        terms[NHS_NUMBER] = normalise_nhs_number(nhs_number)
    surname_given = bool(surname and normalise_surname(surname))
    if dob is not None and not surname_given:
        raise SearchError("surname", "Enter the child's surname too: you cannot search by date of birth alone")
    if surname_given and dob is None:
        raise SearchError("dob", "Enter the child's date of birth too: you cannot search by surname alone")
    if surname_given and dob is not None:
        terms[SURNAME_DOB] = f"{normalise_surname(surname or '')}|{normalise_dob(dob)}"
    if not terms:
        raise SearchError("nhs_number", "Enter an NHS number, or a surname and date of birth")
    return terms


def _may_search(user: User, notice: Notice) -> bool:
    """Whether a search may reveal that this notice concerns the child: only to someone who may read the
    child's identifiers on it. A business unit that gets the pseudonymous copy (Trafford) may not."""
    if not may(user, "read", notice):
        return False
    definition = notice_definition(notice.form_code)
    return not (definition is not None and definition.pseudonymous_copy and user.role_enum is Role.BUSINESS_MANAGER)


def _result(notice: Notice) -> SearchResult:
    try:
        stage = record.procedure_of(notice).stage(notice.stage).name
    except LookupError:
        stage = notice.stage
    return SearchResult(
        id=notice.id,
        reference=notice.reference,
        stage=stage,
        status=NoticeStatus(notice.status).label,
        raising_agency=notice.raising_agency.name if notice.raising_agency else "",
        receiving_agencies=", ".join(dict.fromkeys(r.agency.name for r in notice.recipients)),
    )


def find_notices(
    session: Session,
    services: PortalServices,
    user: User,
    *,
    nhs_number: str | None = None,
    surname: str | None = None,
    dob: date | None = None,
    remote_addr: str = "",
) -> SearchOutcome:
    """Notices of the user's partnership about the child with these identifiers that the user may read.

    Raises SearchError for terms that cannot be searched. Audits the search (the kinds searched and the
    number found, never the terms) and each notice found.
    """
    terms = search_terms(nhs_number=nhs_number, surname=surname, dob=dob)
    _active, keys, bits = version_bits(services.keyring)
    matched: set[str] | None = None
    for kind, value in terms.items():
        # Every key version the keyring holds: during a rotation a notice may be indexed under either.
        wanted = or_(
            *(
                and_(
                    NoticeBlindIndex.key_version == version,
                    NoticeBlindIndex.value == index_value(key, kind, value, bits[version]),
                )
                for version, key in keys.items()
            )
        )
        ids = set(
            session.execute(
                select(NoticeBlindIndex.notice_id)
                .join(Notice, Notice.id == NoticeBlindIndex.notice_id)
                .where(
                    NoticeBlindIndex.kind == kind,
                    wanted,
                    Notice.partnership_id == user.partnership_id,
                    Notice.shredded_at.is_(None),
                )
            ).scalars()
        )
        matched = ids if matched is None else matched & ids
    # A bait notice (portal.services.honeytoken) is reached by no legitimate path, search included.
    candidates = sorted((matched or set()) - set(getattr(services, "honeytokens", ())))
    notices = session.execute(
        select(Notice)
        .where(Notice.id.in_(candidates))
        .options(
            selectinload(Notice.recipients).selectinload(NoticeRecipient.agency),
            selectinload(Notice.raising_agency),
            selectinload(Notice.partnership),
            selectinload(Notice.answers),
        )
        .order_by(Notice.submitted_at.desc())
    ).scalars()
    found = []
    for notice in notices:
        if not _may_search(user, notice):
            continue
        # Truncated values collide by design: confirm against the notice's own (decrypted) answers.
        held = identifiers(notice.form_code, record.answers(session, services, notice))
        if all(held.get(kind) == value for kind, value in terms.items()):
            found.append(notice)
    kinds = tuple(terms)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.search",
        outcome="ok",
        actor_id=user.id,
        object_type="search",
        object_id=f"{'+'.join(kinds)}: {len(found)} found",
        remote_addr=remote_addr,
    )
    for notice in found:
        # Learning that a notice concerns this child is a read of case data.
        audit.record(
            session,
            services.keyring.audit_key,
            action="notice.search_hit",
            outcome="allowed",
            actor_id=user.id,
            object_type="notice",
            object_id=notice.id,
            remote_addr=remote_addr,
        )
    session.commit()
    return SearchOutcome(results=[_result(n) for n in found], candidates=len(candidates), kinds=kinds)


# -- rotating the blind-index key -------------------------------------------------------------------------


@dataclass
class BackfillReport:
    """What a backfill did: notices indexed under the target version, notices that failed, and time taken."""

    version: int
    indexed: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    finished: bool = True
    added_version: bool = False


def _awaiting(session: Session, version: int, after: str = "", limit: int | None = None) -> list[str]:
    """Notices indexed under another version but not yet under `version`."""
    other = select(NoticeBlindIndex.notice_id).where(NoticeBlindIndex.key_version != version).distinct()
    done = exists().where(NoticeBlindIndex.notice_id == Notice.id, NoticeBlindIndex.key_version == version)
    query = (
        select(Notice.id)
        .where(Notice.id.in_(other), ~done, Notice.shredded_at.is_(None), Notice.id > after)
        .order_by(Notice.id)
    )
    return list(session.execute(query.limit(limit) if limit else query).scalars())


def indexed_notices(session: Session) -> int:
    """Notices that have index rows (under any version): the population a new version is sized for."""
    return int(session.execute(select(func.count(distinct(NoticeBlindIndex.notice_id)))).scalar_one())


def notices_awaiting_backfill(session: Session, version: int) -> int:
    return len(_awaiting(session, version))


def _backfill_batch(
    sessions: sessionmaker[Session],
    keyring: KeyRing,
    version: int,
    key: bytes,
    bits: int,
    after: str,
    limit: int,
    report: BackfillReport,
) -> str | None:
    wanted = (NAME_FIELD, DOB_FIELD, NHS_FIELD)
    with sessions() as session:
        ids = _awaiting(session, version, after, limit)
        if not ids:
            return None
        notices = {
            n.id: n
            for n in session.execute(
                select(Notice.id, Notice.form_code, DataKey.id.label("key_id"), DataKey.kek_id, DataKey.wrapped)
                .join(DataKey, DataKey.id == Notice.data_key_id)
                .where(Notice.id.in_(ids))
            )
        }
        answers: dict[str, dict[str, bytes]] = {i: {} for i in ids}
        for row in session.execute(
            select(NoticeAnswer.notice_id, NoticeAnswer.field_name, NoticeAnswer.value_ct).where(
                NoticeAnswer.notice_id.in_(ids), NoticeAnswer.field_name.in_(wanted)
            )
        ):
            answers[row.notice_id][row.field_name] = row.value_ct
        rows: list[dict[str, object]] = []
        for notice_id in ids:
            n = notices[notice_id]
            try:
                dek = keyring.unwrap(n.key_id, n.kek_id, n.wrapped)
                plain = {
                    name: vault.open_text(dek, ct, table="notice_answer", field=name, row_id=notice_id)
                    for name, ct in answers[notice_id].items()
                }
            except (DecryptionError, KeyringError) as exc:
                report.failed[notice_id] = str(exc)
                continue
            rows += _rows(notice_id, identifiers(n.form_code, plain), {version: key}, {version: bits})
        if rows:
            session.execute(insert(NoticeBlindIndex), rows)
        session.commit()
        report.indexed += len(ids) - len([i for i in ids if i in report.failed])
        return ids[-1]


def backfill(
    sessions: sessionmaker[Session],
    keyring: KeyRing,
    *,
    batch_size: int = 500,
    progress: Progress = lambda _m: None,
    stop_after_batches: int | None = None,
) -> BackfillReport:
    """Index, under the keyring's active version, every notice indexed only under older versions.

    One transaction per batch; a rerun continues with the notices still missing the active version's rows.
    """
    started = time.monotonic()
    version, keys, bits = version_bits(keyring)
    report = BackfillReport(version=version)
    after, batches = "", 0
    while True:
        after_next = with_retries(
            functools.partial(
                _backfill_batch, sessions, keyring, version, keys[version], bits[version], after, batch_size, report
            )
        )
        if after_next is None:
            break
        after, batches = after_next, batches + 1
        progress(f"indexed {report.indexed} notices under blind-index key version {version}")
        if stop_after_batches is not None and batches >= stop_after_batches:
            report.finished = False
            break
    report.seconds = time.monotonic() - started
    return report


def _record(sessions: sessionmaker[Session], keyring: KeyRing, action: str, outcome: str, version: int) -> None:
    with sessions() as session:
        audit.record(
            session,
            keyring.audit_key,
            action=action,
            outcome=outcome,
            object_type="blind_index_key",
            object_id=f"v{version}",
            remote_addr="cli",
        )
        session.commit()


def rotate_index_key(
    sessions: sessionmaker[Session],
    key_dir: Path,
    *,
    batch_size: int = 500,
    progress: Progress = lambda _m: None,
    stop_after_batches: int | None = None,
    bits: int | None = None,
) -> BackfillReport:
    """Start a blind-index key rotation (add a new active version) or, if one is under way, carry on with
    it; backfill the new version's rows. Search uses both versions until ``finish_index_rotation``.

    The new version is sized for the notices indexed now (``bits_for``), unless ``bits`` says otherwise:
    rotating is how the index follows the table's growth (docs/blind-index-sizing.md).
    """
    keys = load_keys(key_dir)
    added = False
    if len(keys.blind_index_keys) == 1:
        if bits is None:
            with sessions() as session:
                bits = bits_for(indexed_notices(session))
        if not 1 <= bits <= 31:
            raise IndexRotationError(f"a blind-index size must be between 1 and 31 bits, not {bits}")
        version = add_blind_index_key(key_dir, bits)
        added = True
        progress(f"added blind-index key version {version} ({bits} bits) to {key_dir} and made it active")
    keyring = KeyRing(load_keys(key_dir))
    if added:
        _record(sessions, keyring, "keys.blind_index_key_added", "ok", keyring.blind_index_keys()[0])
    report = backfill(
        sessions, keyring, batch_size=batch_size, progress=progress, stop_after_batches=stop_after_batches
    )
    report.added_version = added
    return report


def finish_index_rotation(
    sessions: sessionmaker[Session], key_dir: Path, *, batch_size: int = 500, progress: Progress = lambda _m: None
) -> tuple[BackfillReport, int, list[int]]:
    """Backfill anything left, then delete the older versions' rows and remove their keys from the keyring.

    Returns (the last backfill, rows deleted, versions retired). Refuses while a notice still lacks rows
    under the active version (a notice that failed to decrypt: fix it first), so no notice drops out of
    search. Run it once the backfill has finished; a notice submitted by a worker in the moment between its
    last look at the keyring file and the rows' deletion would be left unindexed, so run it at a quiet time.
    """
    keyring = KeyRing(load_keys(key_dir))
    active, keys = keyring.blind_index_keys()
    if len(keys) == 1:
        raise IndexRotationError(f"no blind-index key rotation is under way (version {active} is the only one)")
    report = backfill(sessions, keyring, batch_size=batch_size, progress=progress)
    with sessions() as session:
        left = notices_awaiting_backfill(session, active)
        if left:
            raise IndexRotationError(
                f"{left} notices are not yet indexed under version {active}; run `keys rotate-blind-index` again"
            )
        deleted = rows_matched(session.execute(delete(NoticeBlindIndex).where(NoticeBlindIndex.key_version != active)))
        session.commit()
    retired = retire_blind_index_keys(key_dir)
    _record(sessions, keyring, "keys.blind_index_key_retired", "ok", active)
    return report, deleted or 0, retired


def delete_index_rows(session: Session, notice_ids: Iterable[str]) -> int:
    """Delete the index rows of these notices in the caller's transaction (shredding); return how many."""
    ids = list(notice_ids)
    if not ids:
        return 0
    return rows_matched(session.execute(delete(NoticeBlindIndex).where(NoticeBlindIndex.notice_id.in_(ids)))) or 0
