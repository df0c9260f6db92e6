"""Blind-index search (docs/threats.md#properties: 8 and 9): it finds the right notices, leaks little, never indexes the
date of birth alone, and its key rotates with search results identical before, during and after."""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from portal.domain.models import (
    AuditEvent,
    DataKey,
    Notice,
    NoticeAnswer,
    NoticeBlindIndex,
    Partnership,
    Role,
    SafetyCheck,
    User,
    new_id,
    utcnow,
)
from portal.domain.nhs_number import nhs_number_is_valid
from portal.infrastructure.crypto import KEYRING_FILE, KeyRing, KeyringError, add_blind_index_key, load_keys
from portal.infrastructure.db import make_engine
from portal.services import search, vault
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import (
    CANARY_NAME,
    CANARY_NHS,
    Accounts,
    appendix1_answers,
    contact_id,
    csrf_from,
    errors_on,
    raise_notice,
    sign_in,
)

log = logging.getLogger(__name__)
CSC = "Rochdale Children's Social Care"
HUB = "Rochdale Early Help and Safeguarding Hub"
GMP = "Greater Manchester Police"
CANARY_DOB = date(2016, 2, 29)


@pytest.fixture
def key_dir(key_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's keys: the rotation test rewrites the keyring."""
    target = tmp_path / "keys"
    shutil.copytree(key_dir, target)
    return target


def valid_nhs_number(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(10**8, 10**9)}"
        for check in range(10):
            if nhs_number_is_valid(digits + str(check)):
                return digits + str(check)


# -- normalisation ----------------------------------------------------------------------------------------


def test_normalisation_makes_the_same_child_index_the_same() -> None:
    key = b"k" * 32

    def nhs(value: str) -> int:
        return search.index_value(key, search.NHS_NUMBER, search.normalise_nhs_number(value))

    assert nhs("943 476 5919") == nhs("9434765919") == nhs("943-476-5919") == nhs(" ９４３ ４７６ ５９１９ ")
    for invalid in ("943 476 5918", "943 476 591", "94347659190", "abc", "0000000001"):
        with pytest.raises(search.SearchError):
            search.normalise_nhs_number(invalid)

    # NFKC + casefold: full-width letters, composed and decomposed accents, ß, typographic apostrophes, dashes.
    assert search.normalise_surname("ＳＭＩＴＨ") == search.normalise_surname("smith") == "smith"
    assert search.normalise_surname("Zoe\u0308") == search.normalise_surname("ZO\u00cb") == "zo\u00eb"
    assert search.normalise_surname("STRASSE") == search.normalise_surname("Straße")
    assert search.normalise_surname("O\u2019Neil") == search.normalise_surname("o'neil")
    for variant in ("Smith-Jones", "Smith - Jones", "Smith\u2010Jones", "smith  jones", "SMITH\u2013JONES"):
        assert search.normalise_surname(variant) == "smith jones", variant
    assert search.surname_of("  Mary   Smith-Jones ") == "smith jones"
    assert search.surname_of(CANARY_NAME) == "canarytest"

    answers = {"child_name": "Mary Smith-Jones", "child_dob": "2016-02-29", "nhs_number": "943 476 5919"}
    assert search.identifiers("rochdale-appendix-1", answers) == {
        "nhs_number": "9434765919",
        "surname_dob": "smith jones|2016-02-29",
    }
    # An optional identifier left out (Trafford) is simply not indexed; so is a form with no such fields.
    assert search.identifiers("trafford-resolution-notice", {"child_name": "Mary Smith", "child_dob": ""}) == {}
    assert search.identifiers("no-such-form", answers) == {}


def test_search_terms_refuse_a_date_of_birth_alone() -> None:
    with pytest.raises(search.SearchError) as problem:
        search.search_terms(nhs_number=None, surname="", dob=CANARY_DOB)
    assert problem.value.field == "surname" and "date of birth alone" in problem.value.message
    with pytest.raises(search.SearchError) as problem:
        search.search_terms(nhs_number="", surname="Smith", dob=None)
    assert problem.value.field == "dob"
    with pytest.raises(search.SearchError) as problem:
        search.search_terms(nhs_number=" ", surname=" - ", dob=None)
    assert problem.value.field == "nhs_number"
    assert search.search_terms(nhs_number="999 000 0018", surname="Canarytest", dob=CANARY_DOB) == {
        "nhs_number": "9990000018",
        "surname_dob": "canarytest|2016-02-29",
    }


# -- schema and keys --------------------------------------------------------------------------------------


def test_there_is_no_index_of_date_of_birth_alone(app: Flask, database_url: str) -> None:
    """Schema test: the only kinds are the NHS number and surname-with-DOB, and the database refuses others."""
    assert search.KINDS == ("nhs_number", "surname_dob")
    engine = make_engine(database_url)
    try:
        inspector = inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("notice_blind_index")}
        assert columns == {"id", "notice_id", "kind", "key_version", "value"}
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                assert "dob" not in column["name"] and "birth" not in column["name"], (table, column["name"])
    finally:
        engine.dispose()
    with pytest.raises(ValueError):
        search.index_value(b"k" * 32, "dob", "2016-02-29")
    notice_id = _seed(app, 1)[0][0]
    for kind in ("dob", "date_of_birth", "surname"):
        with session_factory(app)() as db:
            db.add(NoticeBlindIndex(notice_id=notice_id, kind=kind, key_version=1, value=1))
            with pytest.raises(IntegrityError):
                db.commit()


def test_index_keys_differ_from_encryption_keys(key_dir: Path) -> None:
    """The keyring refuses a blind-index key equal to a KEK or the audit key, in every version."""
    import json

    path = key_dir / KEYRING_FILE
    original = path.read_text()
    document = json.loads(original)
    document["blind_index_key"] = next(iter(document["keks"].values()))
    path.write_text(json.dumps(document))
    with pytest.raises(KeyringError, match="reuses"):
        load_keys(key_dir)
    path.write_text(original)
    version = add_blind_index_key(key_dir)
    keys = load_keys(key_dir)
    assert version == 2 and set(keys.blind_index_keys) == {1, 2} and keys.active_blind_index_version == 2
    assert len({*keys.keks.values(), keys.audit_key, *keys.blind_index_keys.values()}) == len(keys.keks) + 3
    document = json.loads(path.read_text())
    document["blind_index_keys"]["1"] = document["audit_key"]
    path.write_text(json.dumps(document))
    with pytest.raises(KeyringError, match="reuses"):
        load_keys(key_dir)


def test_a_new_key_version_is_sized_for_the_notices_indexed_now() -> None:
    """Each value shared by at least two notices on average today, and by fewer than four: search decrypts
    a handful of candidates at any size, and the anonymity set never drops below two on average."""
    assert [search.bits_for(n) for n in (1, 5, 1_000, 10_000, 100_000, 1_000_000)] == [1, 1, 8, 12, 15, 18]
    for notices in (4, 1_000, 10_000, 100_000, 1_000_000, 10**12):
        per_value = notices / 2 ** search.bits_for(notices)
        assert search.MIN_CANDIDATES <= per_value < 2 * search.MIN_CANDIDATES or search.bits_for(notices) == 31


def test_truncation_leaves_two_candidates_per_value_for_the_planned_population() -> None:
    """CipherSweet-style planner: the planned population of notices shares each index value two or more at a
    time, so the table cannot tell which notices concern the same child."""
    rng = random.Random(8)
    key = rng.randbytes(32)
    population = search.PLANNED_POPULATION
    bits = search.INDEX_BITS
    assert bits == search.plan_bits(population) and population / 2**bits >= search.MIN_CANDIDATES
    surnames = [f"surname{i}" for i in range(3_000)]
    weights = [1 / (i + 1) for i in range(len(surnames))]  # a few common surnames, a long tail (Zipf)
    by_kind: dict[str, Counter[int]] = {kind: Counter() for kind in search.KINDS}
    for _ in range(population):
        nhs = valid_nhs_number(rng)
        dob = date(2008, 1, 1).toordinal() + rng.randrange(18 * 365)
        surname = rng.choices(surnames, weights)[0]
        by_kind["nhs_number"][search.index_value(key, "nhs_number", nhs)] += 1
        by_kind["surname_dob"][search.index_value(key, "surname_dob", f"{surname}|{date.fromordinal(dob)}")] += 1
    for kind, counts in by_kind.items():
        # For each notice, how many notices share its value (itself included): what a search for it returns.
        sharing = [counts[v] for v in counts for _ in range(counts[v])]
        mean = sum(sharing) / len(sharing)
        alone = sum(1 for n in sharing if n == 1) / len(sharing)
        log.info(
            "%s: %d bits, %d values, %.2f notices per value, %.1f%% alone", kind, bits, len(counts), mean, 100 * alone
        )
        assert mean >= 1 + search.MIN_CANDIDATES, kind
        assert alone < 0.12, kind
        assert max(counts.values()) < 20, kind  # and a search never has many candidates to decrypt


# -- building notices fast --------------------------------------------------------------------------------


def _seed(app: Flask, count: int, *, seed: int = 1) -> list[tuple[str, dict[str, str]]]:
    """Insert Rochdale notices (answers encrypted, index rows under every current key version) in bulk."""
    rng = random.Random(seed)
    keyring = portal_services(app).keyring
    _active, keys, bits = search.version_bits(keyring)
    made = []
    with session_factory(app)() as db:
        partnership = db.execute(select(Partnership).where(Partnership.slug == "rochdale")).scalar_one()
        user = db.execute(select(User).where(User.partnership_id == partnership.id)).scalars().first()
        if user is None:
            Accounts(app).make(Role.PRACTITIONER)
            user = db.execute(select(User).where(User.partnership_id == partnership.id)).scalars().first()
        check = SafetyCheck(user_id=user.id, partnership_id=partnership.id, immediate_risk=False)
        db.add(check)
        db.flush()
        now = utcnow()
        key_rows, notice_rows, answer_rows, index_rows = [], [], [], []
        start = db.execute(select(func.count()).select_from(Notice)).scalar_one()
        for i in range(start, start + count):
            notice_id, key_id = new_id(), new_id()
            dek, wrapped = keyring.new_data_key(key_id)
            # Every fifth child shares a surname and date of birth with the one before: several notices match.
            c = i - 1 if i % 5 == 1 else i
            answers = {
                "child_name": f"Child Surname{c}",
                "child_dob": date(2010, 1, 1 + c % 28).isoformat(),
                "nhs_number": valid_nhs_number(rng),
            }
            key_rows.append({"id": key_id, "kek_id": keyring.active_kek_id, "wrapped": wrapped, "purpose": "notice"})
            notice_rows.append(
                {
                    "id": notice_id,
                    "reference": f"SRCH-{i:06d}",
                    "partnership_id": partnership.id,
                    "form_code": "rochdale-appendix-1",
                    "procedure_version": partnership.procedure_version,
                    "stage": "stage-3",
                    "status": "open",
                    "raised_by_id": user.id,
                    "data_key_id": key_id,
                    "safety_check_id": check.id,
                    "date_of_notification": date(2026, 11, 20),
                    "submitted_at": now,
                    "updated_at": now,
                }
            )
            for name, value in answers.items():
                ct = vault.seal_text(key_id, dek, value, table="notice_answer", field=name, row_id=notice_id)
                answer_rows.append({"notice_id": notice_id, "field_name": name, "value_ct": ct})
            index_rows += search._rows(notice_id, search.identifiers("rochdale-appendix-1", answers), keys, bits)
            made.append((notice_id, answers))
        db.execute(insert(DataKey), key_rows)
        db.execute(insert(Notice), notice_rows)
        db.execute(insert(NoticeAnswer), answer_rows)
        db.execute(insert(NoticeBlindIndex), index_rows)
        db.commit()
    return made


# -- search over HTTP -------------------------------------------------------------------------------------


def _search(client, data: dict[str, object]):  # type: ignore[no-untyped-def]
    page = client.get("/search")
    assert page.status_code == 200
    return client.post("/search", data={**data, "csrf_token": csrf_from(page.text)})


def _found(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return sorted(a.get_text(strip=True) for a in soup.select("#results table a"))


def _results_text(html: str) -> str:
    results = BeautifulSoup(html, "html.parser").select_one("#results")
    return results.get_text(" ", strip=True) if results else ""


def test_blind_index_search_works_and_leaks_little(app: Flask, accounts: Accounts, caplog) -> None:
    raiser = accounts.make(Role.PRACTITIONER, agency=HUB)
    people = {
        "spoc": accounts.make(Role.SPOC, agency=CSC),
        "spoc2": accounts.make(Role.SPOC, agency=GMP),
        "bm": accounts.make(Role.BUSINESS_MANAGER),
        "bm2": accounts.make(Role.BUSINESS_MANAGER, partnership="bolton"),
        "prac2": accounts.make(Role.PRACTITIONER, agency=HUB),
    }
    client = app.test_client()
    sign_in(client, app, raiser)
    csc = contact_id(app, CSC)
    first_id, first = raise_notice(client, appendix1_answers(csc))
    # The same child, the NHS number typed without spaces and the name in other letter case.
    second_id, second = raise_notice(
        client, appendix1_answers(csc, nhs_number="9990000018", child_name="ZYXQORIA CANARYTEST")
    )
    other_id, other = raise_notice(
        client, appendix1_answers(csc, child_name="Pat Other", child_dob=["1", "3", "2015"], nhs_number="943 476 5919")
    )

    with session_factory(app)() as db:
        rows = db.execute(select(NoticeBlindIndex).order_by(NoticeBlindIndex.notice_id)).scalars().all()
        assert {(r.notice_id, r.kind) for r in rows} == {
            (n, k) for n in (first_id, second_id, other_id) for k in search.KINDS
        }
        by = {(r.notice_id, r.kind): r.value for r in rows}
        assert by[(first_id, "nhs_number")] == by[(second_id, "nhs_number")]
        assert by[(first_id, "surname_dob")] == by[(second_id, "surname_dob")]
        # Keyed, not a plain hash: the value is not any truncation of an unkeyed SHA-256 of the identifier.
        for text in ("9990000018", CANARY_NHS, "canarytest|2016-02-29"):
            digest = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
            assert by[(first_id, "nhs_number")] != digest >> (32 - search.INDEX_BITS)
            assert by[(first_id, "surname_dob")] != digest >> (32 - search.INDEX_BITS)
        # A planted collision (truncation makes them; here on purpose): a candidate, never a result.
        db.execute(
            NoticeBlindIndex.__table__.update()
            .where(NoticeBlindIndex.notice_id == other_id, NoticeBlindIndex.kind == "nhs_number")
            .values(value=by[(first_id, "nhs_number")])
        )
        db.commit()

    caplog.set_level("DEBUG")
    by_nhs = _search(client, {"nhs_number": "999 000 0018"})
    assert by_nhs.status_code == 200 and by_nhs.headers.get("Location") is None
    assert _found(by_nhs.text) == sorted([first, second])
    # The results list never shows the child's details.
    shown = _results_text(by_nhs.text)
    assert "2 notices found" in shown
    for secret in (CANARY_NAME, "Canarytest", "999 000 0018", "9990000018", "2016", "February"):
        assert secret.lower() not in shown.lower(), secret
    with session_factory(app)() as db:
        outcome = search.find_notices(db, portal_services(app), db.get(User, raiser.id), nhs_number=CANARY_NHS)
        assert outcome.candidates == 3 and sorted(r.reference for r in outcome.results) == sorted([first, second])
        db.execute(
            NoticeBlindIndex.__table__.update()
            .where(NoticeBlindIndex.notice_id == other_id, NoticeBlindIndex.kind == "nhs_number")
            .values(value=by[(other_id, "nhs_number")])
        )
        db.commit()

    by_name = _search(client, {"surname": "  canaryTEST ", "dob": ["29", "2", "2016"]})
    assert _found(by_name.text) == sorted([first, second])
    both = _search(client, {"nhs_number": "943 476 5919", "surname": "Other", "dob": ["1", "3", "2015"]})
    assert _found(both.text) == [other]
    mismatch = _search(client, {"nhs_number": "943 476 5919", "surname": "Canarytest", "dob": ["29", "2", "2016"]})
    assert _found(mismatch.text) == [] and "No notices found" in mismatch.text

    # A date of birth alone is refused, with the message beside the field to fix.
    alone = _search(client, {"dob": ["29", "2", "2016"]})
    assert alone.status_code == 200 and _found(alone.text) == []
    assert errors_on(alone.text) == ["Enter the child's surname too: you cannot search by date of birth alone"]
    soup = BeautifulSoup(alone.text, "html.parser")
    assert "date of birth alone" in soup.select_one("#surname-error").get_text()
    invalid = _search(client, {"nhs_number": "943 476 5918"})
    assert errors_on(invalid.text) and _found(invalid.text) == []
    assert errors_on(_search(client, {}).text) == ["Enter an NHS number, or a surname and date of birth"]

    # Only notices the searcher may read: the recipient SPOC and the business unit; nobody else.
    expected = {"spoc": [first, second], "bm": [first, second], "spoc2": [], "bm2": [], "prac2": []}
    for name, account in people.items():
        other_client = app.test_client()
        sign_in(other_client, app, account)
        assert _found(_search(other_client, {"nhs_number": "9990000018"}).text) == sorted(expected[name]), name

    # Audited: each search with its kinds and count, each notice found; never a term.
    with session_factory(app)() as db:
        events = db.execute(select(AuditEvent).where(AuditEvent.action.like("notice.search%"))).scalars().all()
    searches = [e for e in events if e.action == "notice.search"]
    assert len(searches) == 5 + len(people)  # four over HTTP and one direct call by the raiser
    assert searches[0].actor_id == raiser.id and searches[0].object_id == "nhs_number: 2 found"
    assert {e.object_id for e in events if e.action == "notice.search_hit"} == {first_id, second_id, other_id}
    for event in events:
        for secret in ("9990000018", "999 000 0018", "canarytest", "2016", "943"):
            assert secret not in event.object_id.lower(), event.object_id

    # The terms are in no URL and no log line.
    log_text = Path(app.config["LOG_FILE"]).read_text() if Path(app.config["LOG_FILE"]).exists() else ""
    for secret in ("9990000018", "999 000 0018", "Canarytest", "canarytest", "2016-02-29"):
        assert secret not in caplog.text and secret not in log_text, secret
    form = BeautifulSoup(by_nhs.text, "html.parser").select_one("form[action='/search']")
    assert form is not None and form["method"] == "post"


def test_blind_index_key_rotates_with_dual_columns(app: Flask, accounts: Accounts, key_dir: Path) -> None:
    """Add a new key version, backfill it in batches while search reads both, drop the old one: the results of
    every search are identical before, during and after."""
    count = 1_000
    bm = accounts.make(Role.BUSINESS_MANAGER)
    made = _seed(app, count)
    services = portal_services(app)
    sessions = session_factory(app)
    queries: list[dict[str, object]] = [{"nhs_number": made[i][1]["nhs_number"]} for i in (0, 7, 500, 999)]
    for i in (1, 2, 3, 502, 998):  # twins: several notices share a surname and date of birth
        name, dob = made[i][1]["child_name"], date.fromisoformat(made[i][1]["child_dob"])
        queries.append({"surname": name.split()[-1], "dob": dob})

    def results() -> list[list[str]]:
        with sessions() as db:
            user = db.get(User, bm.id)
            return [sorted(r.reference for r in search.find_notices(db, services, user, **q).results) for q in queries]

    before = results()
    assert all(before) and any(len(r) > 1 for r in before), before

    # Start: a new active version; stop after two batches (as a kill would).
    report = search.rotate_index_key(sessions, key_dir, batch_size=200, stop_after_batches=2)
    assert report.added_version and report.version == 2 and not report.finished and report.indexed == 400
    # Sized for the notices indexed now: 1,000 notices keep 8 bits (about 4 per value) where version 1,
    # planned for 10,000, kept 12; the size is recorded beside the key for every worker to use.
    assert load_keys(key_dir).blind_index_bits == {2: 8}
    # The running app's keyring picked the new version up from the file: it searches and indexes under both.
    assert set(services.keyring.blind_index_keys()[1]) == {1, 2}
    assert results() == before
    late = _seed(app, 3, seed=2)  # notices written during the transition get rows under both versions
    with sessions() as db:
        versions = db.execute(
            select(NoticeBlindIndex.key_version).where(NoticeBlindIndex.notice_id == late[0][0])
        ).scalars()
        assert sorted(set(versions)) == [1, 2]

    started = time.monotonic()
    resumed = search.rotate_index_key(sessions, key_dir, batch_size=200)
    seconds = time.monotonic() - started
    assert not resumed.added_version and resumed.finished and not resumed.failed
    assert resumed.indexed == count - 400
    log.info("backfilled %d notices in %.2f s (%.0f/s)", resumed.indexed, seconds, resumed.indexed / seconds)
    assert results() == before

    finished, deleted, retired = search.finish_index_rotation(sessions, key_dir)
    assert finished.indexed == 0 and deleted == 2 * (count + 3) and retired == [1]
    with pytest.raises(search.IndexRotationError, match="no blind-index key rotation"):
        search.finish_index_rotation(sessions, key_dir)
    with sessions() as db:
        assert set(db.execute(select(NoticeBlindIndex.key_version)).scalars()) == {2}
        assert db.execute(select(func.count()).select_from(NoticeBlindIndex)).scalar_one() == 2 * (count + 3)
        actions = [
            e.action
            for e in db.execute(select(AuditEvent).where(AuditEvent.action.like("keys.blind_index%"))).scalars()
        ]
        assert actions == ["keys.blind_index_key_added", "keys.blind_index_key_retired"]
    keys = load_keys(key_dir)
    assert set(keys.blind_index_keys) == {2} and keys.active_blind_index_version == 2
    assert keys.blind_index_bits == {2: 8}
    with sessions() as db:
        assert db.execute(select(func.max(NoticeBlindIndex.value))).scalar_one() < 2**8
    assert set(services.keyring.blind_index_keys()[1]) == {2}
    assert results() == before
    # A fresh process loads the rotated keyring and finds the same.
    assert KeyRing(load_keys(key_dir)).blind_index_keys()[0] == 2

    # The same again through the command line: version 3.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate-blind-index", "--batch-size", "300", "--bits", "10"])
    assert result.exit_code == 0 and f"Indexed {count + 3} notices under blind-index key version 3" in result.output
    assert "(10 bits)" in result.output and load_keys(key_dir).blind_index_bits == {2: 8, 3: 10}
    assert results() == before
    result = runner.invoke(args=["keys", "rotate-blind-index", "--finish"])
    assert result.exit_code == 0 and "version 3 is the only one" in result.output, result.output
    assert results() == before
    assert runner.invoke(args=["keys", "rotate-blind-index", "--finish"]).exit_code != 0
