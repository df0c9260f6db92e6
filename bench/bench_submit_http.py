"""Submissions per second over HTTP: gunicorn in production mode against PostgreSQL, several connections at once.

    .venv/bin/python bench/bench_submit_http.py [--submissions 120] [--connections 4] [--workers 2]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432] [--code /path/to/another/checkout]

A scratch PostgreSQL database (dropped at the end), production keys, and the portal served by gunicorn with
--workers sync workers (`PORTAL_ENV=production`). Practitioners sign in over HTTP through the real password and
TOTP pages, and --submissions drafts are filled in and brought to "Check your answers" beforehand (not timed).
Then --connections client threads send the final POSTs, each its own connection at a time, and the bench prints
submissions per second (wall clock, from the first POST to the last answer) and the p50/p95 of one submit.

Issue 11's target: at least 60 submissions/s on 2 sync workers (15/s while the reference counter, or SQLite's
write lock, was held across render and sign). The client runs on the same cores as the server, so the figure
describes the whole machine. --code serves another checkout (the code before a change) against the same setup.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_load import Person, path_of, production_env  # noqa: E402
from bench_scale import workspace  # noqa: E402
from bench_submit import percentile, portal_app  # noqa: E402
from faults import CSRF, Browser, answers, free_port  # noqa: E402

from portal.domain.models import DirectoryContact, Role  # noqa: E402
from portal.web.database import session_factory  # noqa: E402
from tests.helpers import Accounts, contact_id  # noqa: E402
from tests.services.builders import RAISING, TARGET  # noqa: E402


def ready_draft(person: Person, recipients: tuple[int, int], serial: int) -> tuple[str, str]:
    """A draft filled in and checked, over HTTP: its check-answers path and the CSRF token its POST needs."""
    status, _l, body = person.get("/notices/new")
    token = CSRF.search(body)
    assert status == 200 and token, status
    status, loc, _b = person.post("/notices/new", {"immediate_risk": "no", "csrf_token": token[1]})
    draft = path_of(loc)
    status, _l, body = person.get(draft)
    token = CSRF.search(body)
    assert status == 200 and token, status
    status, loc, _b = person.post(draft, {**answers(recipients, serial), "csrf_token": token[1]})
    assert status == 302, status
    check = path_of(loc)
    status, _l, body = person.get(check)
    token = CSRF.search(body)
    assert status == 200 and token, status
    return check, token[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=120)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--people", type=int, default=4, help="signed-in practitioners the drafts are shared among")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--code", default=str(ROOT), help="the checkout gunicorn serves (default: this one)")
    args = parser.parse_args()
    code = Path(args.code).resolve()
    with workspace(args.postgres, None) as (folder, database_url):
        env = production_env(folder, database_url) | {"PYTHONPATH": str(code)}
        app = portal_app(folder, database_url)
        accounts = Accounts(app)
        raisers = [accounts.make(Role.PRACTITIONER, agency=RAISING) for _ in range(args.people)]
        # The recipient has an account, as a SPOC in steady use would: no invitation per notice.
        target = contact_id(app, TARGET)
        with session_factory(app)() as db:
            contact = db.get(DirectoryContact, target)
            assert contact is not None and contact.email
            accounts.make(Role.SPOC, agency=TARGET, email=contact.email)
        recipients = (target, contact_id(app, "Greater Manchester Police"))
        app.extensions["portal.engine"].dispose()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(folder / "gunicorn.log", "ab")  # noqa: SIM115
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}"]
            + ["--timeout", "120", "portal:create_app()"],
            cwd=code,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if Browser(base).request("GET", "/sign-in").status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or web.poll() is not None:
                    raise SystemExit((folder / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.3)
            people = [Person(base, a) for a in raisers]
            for person in people:
                person.sign_in()
            prepared = [
                (people[i % len(people)], *ready_draft(people[i % len(people)], recipients, i))
                for i in range(args.submissions)
            ]
            print(f"{len(prepared)} drafts ready at 'Check your answers'", flush=True)

            times: list[float] = []
            failures: list[int] = []
            lock = threading.Lock()
            queue = list(reversed(prepared))

            def sender() -> None:
                while True:
                    with lock:
                        if not queue:
                            return
                        person, check, token = queue.pop()
                    started = time.perf_counter()
                    status, loc, _b = person.post(check, {"csrf_token": token})
                    elapsed = time.perf_counter() - started
                    with lock:
                        times.append(elapsed)
                        if status != 302 or not loc.endswith("/confirmation"):
                            failures.append(status)

            threads = [threading.Thread(target=sender) for _ in range(args.connections)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
        finally:
            web.terminate()
            web.wait(30)
            log.close()
    ms = [t * 1000 for t in times]
    print(
        f"code {code}; gunicorn {args.workers} sync workers (production), PostgreSQL; "
        f"{args.connections} connections; {len(times)} submissions, {len(failures)} failed {sorted(set(failures))}"
    )
    print(
        f"{len(times) / wall:.1f} submissions/s; one submit p50 {statistics.median(ms):.1f} ms, "
        f"p95 {percentile(ms, 0.95):.1f} ms (target >= 60/s)"
    )


if __name__ == "__main__":
    main()
