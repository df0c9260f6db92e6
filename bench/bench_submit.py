"""Measure the submit path in process beside a bare Flask request, in one run, on one core.

The submit path is the real one: POST the check-answers page, which validates the answers, encrypts them,
stores the notice, keeps its first PDF version (sealed, to be drawn after) and queues the e-mails in one transaction.
A bare Flask app answering "hello" is timed in the same process as the reference.

    .venv/bin/python bench/bench_submit.py [--runs 200] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432]

With --postgres the bench creates a database of its own on that server and drops it afterwards.

The reference figures it compares with, and where its 23 ms target comes from: docs/performance.md#bench.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from portal import create_app
from portal.commands.setup import ensure_keys
from portal.domain.models import Role
from portal.infrastructure import migrate
from portal.services.directory import import_partnerships
from portal.web.database import session_factory
from tests.helpers import Accounts, appendix1_answers, contact_id, csrf_from, errors_on, sign_in


@contextmanager
def scratch_database(server: str | None) -> Iterator[str | None]:
    """A new, empty PostgreSQL database for one bench run (never an existing one), or None for SQLite."""
    if server is None:
        yield None
        return
    url = make_url(server)
    name = f"portal_bench_{os.getpid()}"
    admin = url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(label: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"{label:<44} p50 {statistics.median(ms):7.2f} ms   p90 {percentile(ms, 0.9):7.2f} ms   "
        f"min {min(ms):7.2f} ms   n={len(ms)}"
    )


def bare_flask(runs: int) -> list[float]:
    app = Flask("bare")

    @app.get("/hello")
    def hello() -> str:
        return "hello"

    client = app.test_client()
    for _ in range(50):
        client.get("/hello")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get("/hello")
        samples.append(time.perf_counter() - started)
    return samples


def portal_app(workdir: Path, database_url: str | None) -> Flask:
    keys = workdir / "keys"
    holder = Flask("keys")
    holder.config["KEY_DIR"] = str(keys)
    ensure_keys(holder, development=True)
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    migrate.upgrade(url)
    app = create_app(
        {
            "TESTING": True,
            "ENV": "development",
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "DATABASE_URL": url,
            "KEY_DIR": str(keys),
            "LOG_FILE": str(workdir / "bench.log"),
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 1024,
            "ARGON2_PARALLELISM": 1,
        }
    )
    with session_factory(app)() as db:
        import_partnerships(db, today=date.today())
        db.commit()
    return app


def submit_path(app: Flask, client: FlaskClient, runs: int, warmup: int) -> tuple[list[float], list[float], list[str]]:
    """Time POSTs of the check-answers page (the submit) and, for context, GETs of the form page."""
    answers = appendix1_answers(
        contact_id(app, "Rochdale Children's Social Care"), contact_id(app, "Greater Manchester Police")
    )
    submits, form_pages, notice_ids = [], [], []
    for i in range(runs + warmup):
        page = client.get("/notices/new")
        draft_url = client.post(
            "/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}
        ).headers["Location"]
        started = time.perf_counter()
        page = client.get(draft_url)
        form_time = time.perf_counter() - started
        check_url = client.post(draft_url, data={**answers, "csrf_token": csrf_from(page.text)}).headers["Location"]
        token = csrf_from(client.get(check_url).text)
        started = time.perf_counter()
        response = client.post(check_url, data={"csrf_token": token})
        elapsed = time.perf_counter() - started
        assert response.status_code == 302 and "/confirmation" in response.headers["Location"], response.status_code
        notice_ids.append(response.headers["Location"].split("/notices/")[1].split("/")[0])
        if i >= warmup:
            submits.append(elapsed)
            form_pages.append(form_time)
    return submits, form_pages, notice_ids


def response_loop(
    raiser: FlaskClient, spoc: FlaskClient, notice_ids: list[str], warmup: int
) -> tuple[list[float], list[float]]:
    """Time the SPOC's response and the raiser's escalation (each issues a new signed PDF version)."""
    responds, escalations = [], []
    for i, notice_id in enumerate(notice_ids):
        token = csrf_from(spoc.get(f"/notices/{notice_id}/respond").text)
        started = time.perf_counter()
        response = spoc.post(f"/notices/{notice_id}/respond", data={"response": "Agreed in part", "csrf_token": token})
        respond_time = time.perf_counter() - started
        assert response.status_code == 302, response.status_code
        token = csrf_from(raiser.get(f"/notices/{notice_id}/escalate").text)
        data = {"immediate_risk": "no", "to_stage": "stage-4", "reason": "Still unresolved", "csrf_token": token}
        started = time.perf_counter()
        response = raiser.post(f"/notices/{notice_id}/escalate", data=data)
        escalate_time = time.perf_counter() - started
        assert response.status_code == 302, errors_on(response.text)
        if i >= warmup:
            responds.append(respond_time)
            escalations.append(escalate_time)
    return responds, escalations


def notice_pages(spoc: FlaskClient, notice_ids: list[str], warmup: int) -> list[float]:
    """Time the SPOC's notice page (an audited read: decrypt the answers, list stages, versions and evidence) of
    each notice, escalated by then: what nearly half the load test's requests are."""
    samples = []
    for i, notice_id in enumerate(notice_ids):
        started = time.perf_counter()
        response = spoc.get(f"/notices/{notice_id}")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if i >= warmup:
            samples.append(elapsed)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL; a scratch database is made there")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # one core, as the target is stated
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.postgres) as database_url:
        app = portal_app(Path(tmp), database_url)
        backend = re.sub(r"\+.*", "", app.config["DATABASE_URL"].split(":")[0])
        accounts = Accounts(app)
        raiser, spoc = app.test_client(), app.test_client()
        sign_in(raiser, app, accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub"))
        sign_in(spoc, app, accounts.make(Role.SPOC, agency="Rochdale Children's Social Care"))
        submits, form_pages, notice_ids = submit_path(app, raiser, args.runs, args.warmup)
        responds, escalations = response_loop(raiser, spoc, notice_ids, args.warmup)
        reads = notice_pages(spoc, notice_ids, args.warmup)
        bare = bare_flask(args.runs * 5)
        app.extensions["portal.engine"].dispose()
    print(f"database: {backend}; one core; {args.runs} submissions after {args.warmup} warm-up")
    print(summary("bare Flask GET /hello (reference)", bare))
    print(summary("GET Appendix 1 form page", form_pages))
    print(summary("POST submit (validate→encrypt→store→queue)", submits))
    print(summary("POST respond (encrypt→record→version 2→queue)", responds))
    print(summary("POST escalate (stage 3→4, recipients, version 3, mail)", escalations))
    print(summary("GET notice page, SPOC (audited read)", reads))
    ratio = statistics.median(submits) / statistics.median(bare)
    print(f"submit p50 / bare p50 = {ratio:.0f}x; target submit p50 <= 23 ms")


if __name__ == "__main__":
    main()
