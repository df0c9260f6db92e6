"""Grow a PostgreSQL database through the portal's own services and time every list page at each size.

    .venv/bin/python bench/bench_scale.py [--sizes 1000,10000,100000] [--runs 30]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432] [--render-pdfs] [--workdir DIR]

The database is the bench's own (created on the server, dropped afterwards), unless --workdir names a folder to
keep: then the keys stay there and the database (`portal_bench_kept`) stays on the server, so a later run, or
bench_load.py with the same --workdir, starts from the notices already grown (growing 100,000 takes an hour or
more on the shared two-core machine). Delete both by hand when done: the folder, and `DROP DATABASE
portal_bench_kept`. Notices are raised the honest
way: a safety check, a draft and `raising.submit_notice` for each, so every answer is sealed under the
notice's own data key, its blind indexes written, its stage entered, its mail queued and its PDF sealed
and stored, all by the portal's code. The one shortcut, unless --render-pdfs: the PDF of each notice is
rendered and signed once per partnership and the signed bytes reused, still sealed under each notice's key
by the same `vault.seal_bytes` call (render and sign are the bench_submit figures; they do not change with
the size of the table).

All notices are Rochdale's (the business unit's list is then the whole table: the worst case), raised by 50
practitioners (one practitioner's home holds about 2%) and sent to one of eight agencies, each child with
its own random valid NHS number. At each size the script prints p50/p95 of each page, in process through
the Flask test client, beside a bare Flask request timed in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
from bench_submit import bare_flask, percentile, portal_app, scratch_database  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import delete, func, make_url, select  # noqa: E402

from portal.domain.models import AttemptClaim, Notice, Role, User  # noqa: E402
from portal.domain.nhs_number import nhs_number_is_valid  # noqa: E402
from portal.infrastructure import pdf  # noqa: E402
from portal.services import raising  # noqa: E402
from portal.web.database import session_factory  # noqa: E402
from portal.web.runtime import portal_services  # noqa: E402
from tests.helpers import Accounts, contact_id, csrf_from, sign_in  # noqa: E402
from tests.services.builders import RAISING, rochdale_answers  # noqa: E402

AGENCIES = (
    "Rochdale Children's Social Care",
    "Rochdale Safeguarding Children Unit",
    "Pennine Care Foundation Trust",
    "Rochdale Care Organisation",
    "Greater Manchester Police",
    "Adult Care",
    "Rochdale Boroughwide Housing",
    "National Probation Service",
)
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Khan")
PRACTITIONERS = 50


KEPT_DATABASE = "portal_bench_kept"


@contextlib.contextmanager
def workspace(server: str, workdir: str | None) -> Iterator[tuple[Path, str]]:
    """A folder for keys and logs and a database URL: thrown away at the end, or kept in --workdir."""
    if workdir is None:
        with tempfile.TemporaryDirectory() as tmp, scratch_database(server) as url:
            assert url is not None
            production_keys(Path(tmp))
            yield Path(tmp), url
        return
    folder = Path(workdir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    url = make_url(server)
    admin = url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (KEPT_DATABASE,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{KEPT_DATABASE}"')
    production_keys(folder)
    yield folder, url.set(database=KEPT_DATABASE).render_as_string(hide_password=False)


def production_keys(folder: Path) -> None:
    """Production keys (so gunicorn in production mode accepts them), made once per folder."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", "generate-keys", "--production"],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PORTAL_ENV": "development",
            "PORTAL_KEY_DIR": str(folder / "keys"),
        },
        check=True,
        capture_output=True,
    )


def valid_nhs_number(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(10**8, 10**9)}"
        for check in range(10):
            if nhs_number_is_valid(digits + str(check)):
                return digits + str(check)


def reuse_signed_pdfs(app: Flask) -> None:
    """Render and sign once per layout, and hand every later notice the same signed bytes to seal."""
    real = pdf.render

    @functools.cache
    def once(layout: object) -> bytes:
        return real(layout, _first_context[layout])  # type: ignore[arg-type]

    _first_context: dict[object, object] = {}

    def render(layout: object, context: object) -> bytes:
        _first_context.setdefault(layout, context)
        return once(layout)

    pdf.render = render  # type: ignore[assignment]
    signer = portal_services(app).signer
    signer.sign = functools.cache(signer.sign)  # type: ignore[method-assign]


class Grower:
    """Raise notices through the services, as the submit page does, one transaction each."""

    def __init__(self, app: Flask, accounts: Accounts, rng: random.Random) -> None:
        self.app, self.rng = app, rng
        self.services = portal_services(app)
        self.raisers = [accounts.make(Role.PRACTITIONER, agency=RAISING).id for _ in range(PRACTITIONERS)]
        self.contacts = [contact_id(app, name) for name in AGENCIES]
        self.nhs_numbers: list[str] = []
        self.sessions = session_factory(app)

    def raise_one(self, raiser: str | None = None) -> None:
        rng = self.rng
        nhs = valid_nhs_number(rng)
        self.nhs_numbers.append(nhs)
        dob = date(2008, 1, 1) + timedelta(days=rng.randrange(6000))
        answers = rochdale_answers(
            rng.choice(self.contacts),
            child_name=f"Child{rng.randrange(10**6)} {rng.choice(SURNAMES)}",
            child_dob=dob.isoformat(),
            nhs_number=nhs,
            date_of_notification=(date(2026, 11, 20) - timedelta(days=rng.randrange(700))).isoformat(),
        )
        with self.sessions() as db:
            user = db.get(User, raiser or rng.choice(self.raisers))
            assert user is not None
            check = raising.record_safety_check(db, self.services, user, immediate_risk=False)
            draft = raising.start_draft(db, self.services, user, check.id)
            raising.submit_notice(db, self.services, user, draft.id, answers)

    def analyze(self) -> None:
        with self.app.extensions["portal.engine"].connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")

    def grow_to(self, size: int) -> tuple[int, float]:
        with self.sessions() as db:
            have = db.execute(select(func.count()).select_from(Notice)).scalar_one()
        started = time.perf_counter()
        for i in range(have, size):
            self.raise_one()
            if (i + 1) % 1000 == 0:
                rate = (i + 1 - have) / (time.perf_counter() - started)
                print(f"  grown to {i + 1} notices ({rate:.0f}/s)", file=sys.stderr, flush=True)
            if (i + 1) % 5000 == 0:
                # What autovacuum would do in production (the bench's server may have it off): without fresh
                # statistics the planner takes a table of thousands for a handful of rows and picks nested
                # loops that made each submit's repeat check 70 ms at 15,000 notices.
                self.analyze()
        return max(0, size - have), time.perf_counter() - started


def timed(runs: int, call: Callable[[], object]) -> list[float]:
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def line(label: str, samples: list[float], bare: float) -> str:
    ms = [s * 1000 for s in samples]
    p50 = statistics.median(ms)
    return (
        f"  {label:<38} p50 {p50:8.2f} ms  p95 {percentile(ms, 0.95):8.2f} ms  ({p50 / bare:6.0f}x bare)  n={len(ms)}"
    )


def get_ok(client: FlaskClient, url: str) -> Callable[[], object]:
    def call() -> object:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.data

    return call


def measure(app: Flask, clients: dict[str, FlaskClient], nhs: str, runs: int) -> list[tuple[str, list[float]]]:
    bm, spoc, practitioner = clients["bm"], clients["spoc"], clients["practitioner"]
    first = bm.get("/business/notices").text
    found = BeautifulSoup(first, "html.parser").select_one("nav.govuk-pagination a[rel=next]")
    second = str(found["href"]) if found else "/business/notices"
    search_page = practitioner.get("/search").text

    def search() -> object:
        response = practitioner.post(
            "/search", data={"nhs_number": nhs, "csrf_token": csrf_from(search_page)}, follow_redirects=True
        )
        assert response.status_code == 200 and "found" in response.text, response.status_code
        return response.data

    results = [
        ("business list, first page", timed(runs, get_ok(bm, "/business/notices"))),
        ("business list, next page", timed(runs, get_ok(bm, second))),
        ("business list, overdue", timed(runs, get_ok(bm, "/business/notices?due=overdue"))),
        ("business list, due this week", timed(runs, get_ok(bm, "/business/notices?due=this-week"))),
        ("SPOC home", timed(runs, get_ok(spoc, "/"))),
        ("practitioner home", timed(runs, get_ok(practitioner, "/"))),
        ("search by NHS number", timed(runs, search)),
    ]
    # The export is capped per user per hour: a few runs, each read to the end (as a server would), then
    # one more under tracemalloc (which slows Python several times) for the peak memory it allocates.
    export = timed(3, get_ok(bm, "/business/notices.csv"))
    tracemalloc.start()
    response = bm.get("/business/notices.csv", buffered=False)
    size = sum(len(chunk) for chunk in response.response)  # read as a server sends it, chunk by chunk
    response.close()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results.append((f"register export ({size / 2**20:.1f} MiB; peak {peak / 2**20:.1f} MiB)", export))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated notice counts, ascending")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--render-pdfs", action="store_true", help="render and sign every notice's PDF")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", help="keep the keys here and the database on the server, to grow once")
    parser.add_argument("--grow-only", action="store_true", help="grow to the largest size and measure nothing")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = random.Random(args.seed)
    with workspace(args.postgres, args.workdir) as (folder, database_url):
        app = portal_app(folder, database_url)
        if not args.render_pdfs:
            reuse_signed_pdfs(app)
        accounts = Accounts(app)
        grower = Grower(app, accounts, rng)
        practitioner = accounts.make(Role.PRACTITIONER, agency=RAISING)
        people = {
            "bm": accounts.make(Role.BUSINESS_MANAGER),
            "spoc": accounts.make(Role.SPOC, agency=AGENCIES[0]),
            "practitioner": practitioner,
        }
        grower.raisers.append(practitioner.id)
        backend = app.config["DATABASE_URL"].split(":")[0]
        print(f"database: {backend}; PDFs {'rendered' if args.render_pdfs else 'rendered once, sealed per notice'}")
        if args.grow_only:
            grown, seconds = grower.grow_to(sizes[-1])
            print(f"grew {grown} notices in {seconds:.0f} s ({grown / max(seconds, 1e-9):.0f}/s)")
            sizes = []
        for size in sizes:
            grown, seconds = grower.grow_to(size)
            grower.analyze()
            bare = statistics.median(bare_flask(args.runs * 20)) * 1000
            grew = f"grew {grown} in {seconds:.0f} s, {grown / seconds:.0f}/s" if grown else "grown by an earlier run"
            print(f"\n{size} notices ({grew})")
            print(f"  {'bare Flask GET /hello (reference)':<38} p50 {bare:8.3f} ms")
            if not grower.nhs_numbers:  # a database grown by an earlier run (--workdir): one more to search for
                grower.raise_one()
            nhs = rng.choice(grower.nhs_numbers)
            # Signed in afresh at each size: growing to the next size can outlast the session's idle timeout.
            clients = {name: app.test_client() for name in people}
            for name, account in people.items():
                sign_in(clients[name], app, account)
            for label, samples in measure(app, clients, nhs, args.runs):
                print(line(label, samples, bare), flush=True)
            # A fresh hour for the next size's exports.
            with session_factory(app)() as db:
                db.execute(delete(AttemptClaim).where(AttemptClaim.scope == "export"))
                db.commit()
        app.extensions["portal.engine"].dispose()


if __name__ == "__main__":
    main()
