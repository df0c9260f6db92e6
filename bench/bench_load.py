"""Load test: many connections at once against gunicorn in production mode, on a database grown to a size.

    .venv/bin/python bench/bench_load.py [--size 100000] [--connections 64] [--seconds 60] [--workers 4]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432]

What it does, all thrown away at the end:

* a scratch PostgreSQL database on the given server (or the one `bench_scale.py --workdir` kept), grown to --size
  Rochdale notices through the portal's own services (bench_scale's Grower: every field sealed, its blind
  index written, its PDF sealed);
* production keys (`generate-keys --production`) and the portal served by gunicorn with --workers sync
  workers in production mode (`PORTAL_ENV=production`); no mail worker, so mail waits in the outbox;
* people signed in over HTTP through the real password and TOTP pages: practitioners (each with a draft open),
  a SPOC and the business manager;
* --connections threads, each one connection at a time, for --seconds, choosing each request by the mix of
  issue 11: the notice form page 45%, a notice page 45% (an audited read), a list 10% (the business list and
  its filters, the SPOC's home), plus a whole submit journey (form, check answers, send) now and then
  (--submit-share of choices).

It prints, per kind of request and in all: count, errors (any answer but the expected one, or none), p50, p95,
p99 and the maximum, the requests per second served, and where the CPU went (gunicorn, PostgreSQL, this client,
idle). Requests are timed from the client, so queueing behind busy workers counts, as a user would feel it.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

import psycopg  # noqa: E402
import pyotp  # noqa: E402
from bench_scale import AGENCIES, Grower, reuse_signed_pdfs, workspace  # noqa: E402
from bench_submit import percentile, portal_app  # noqa: E402
from faults import CSRF, Browser, answers, free_port  # noqa: E402
from sqlalchemy import select  # noqa: E402

from portal.domain.models import Notice, Role  # noqa: E402
from portal.web.database import session_factory  # noqa: E402
from tests.helpers import Account, Accounts  # noqa: E402
from tests.services.builders import RAISING  # noqa: E402

FORM, READ, LIST, SUBMIT = "form page", "notice page", "list", "submit journey"


def production_env(folder: Path, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PORTAL_ENV": "production",
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_KEY_DIR": str(folder / "keys"),
        "PORTAL_LOG_FILE": str(folder / "portal.log"),
        "PORTAL_BASE_URL": "https://portal.load.invalid",
        "PORTAL_MAILER": "smtp",
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": "9",
    }


class Person:
    """One signed-in person's cookies, shared by the threads that act as them (as tabs of one browser)."""

    def __init__(self, base: str, account: Account) -> None:
        self.base, self.account = base, account
        self.browser = Browser(base)

    def get(self, path: str) -> tuple[int, str, str]:
        answer = Browser.request(self._fresh(), "GET", path)
        return answer.status, answer.location, answer.body

    def post(self, path: str, data: dict[str, object]) -> tuple[int, str, str]:
        answer = Browser.request(self._fresh(), "POST", path, data)
        return answer.status, answer.location, answer.body

    def _fresh(self) -> Browser:
        # Each thread its own Browser holding a copy of the signed-in cookies: the session cookie does not change
        # after sign-in, so copies stay valid.
        fresh = Browser(self.base)
        fresh.cookies = dict(self.browser.cookies)
        return fresh

    def sign_in(self) -> None:
        b = self.browser
        token = CSRF.search(b.request("GET", "/sign-in").body)
        assert token
        a = self.account
        answer = b.request("POST", "/sign-in", {"email": a.email, "password": a.password, "csrf_token": token[1]})
        assert answer.status == 302, answer.status
        token = CSRF.search(b.request("GET", "/sign-in/code").body)
        assert token
        answer = b.request("POST", "/sign-in/code", {"code": pyotp.TOTP(a.totp_secret).now(), "csrf_token": token[1]})
        assert answer.status == 302, (answer.status, answer.body[:300])


def path_of(location: str) -> str:
    return "/" + location.split("://", 1)[-1].split("/", 1)[-1] if "://" in location else location


class Driver:
    def __init__(
        self,
        base: str,
        practitioners: list[Person],
        drafts: dict[str, str],
        readable: dict[str, list[str]],
        bm: Person,
        spoc: Person,
        recipients: tuple[int, int],
        submit_share: float,
    ) -> None:
        self.base, self.practitioners, self.drafts, self.readable = base, practitioners, drafts, readable
        self.bm, self.spoc, self.recipients, self.submit_share = bm, spoc, recipients, submit_share
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.serial = 0

    def timed(self, kind: str, call, expect: int = 200) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            status, location, body = call()
        except OSError:
            status, location, body = 0, "", ""
        elapsed = time.perf_counter() - started
        with self.lock:
            self.samples[kind].append(elapsed)
            if status != expect:
                self.errors[f"{kind}: {status}"] += 1
        return status, location, body

    def one(self, rng: random.Random) -> None:
        roll = rng.random()
        who = rng.choice(self.practitioners)
        if roll < self.submit_share:
            self.submit(who)
        elif roll < self.submit_share + 0.45:
            self.timed(FORM, lambda: who.get(self.drafts[who.account.id]))
        elif roll < self.submit_share + 0.90:
            notice = rng.choice(self.readable[who.account.id])
            self.timed(READ, lambda: who.get(f"/notices/{notice}"))
        else:
            page = rng.choice(
                [
                    (self.bm, "/business/notices"),
                    (self.bm, "/business/notices?due=overdue"),
                    (self.bm, "/business/notices?due=this-week"),
                    (self.spoc, "/"),
                    (who, "/"),
                ]
            )
            self.timed(LIST, lambda: page[0].get(page[1]))

    def submit(self, who: Person) -> None:
        with self.lock:
            self.serial += 1
            serial = self.serial
        started = time.perf_counter()
        ok = False
        try:
            status, _l, body = who.get("/notices/new")
            token = CSRF.search(body)
            if status == 200 and token:
                status, loc, _b = who.post("/notices/new", {"immediate_risk": "no", "csrf_token": token[1]})
                draft = path_of(loc)
                status, _l, body = who.get(draft)
                token = CSRF.search(body)
                if status == 200 and token:
                    status, loc, _b = who.post(draft, {**answers(self.recipients, serial), "csrf_token": token[1]})
                    check = path_of(loc)
                    status, _l, body = who.get(check)
                    token = CSRF.search(body)
                    if status == 200 and token:
                        status, loc, _b = who.post(check, {"csrf_token": token[1]})
                        ok = status == 302 and loc.endswith("/confirmation")
        except OSError:
            ok = False
        with self.lock:
            self.samples[SUBMIT].append(time.perf_counter() - started)
            if not ok:
                self.errors[f"{SUBMIT}: failed"] += 1

    def run(self, connections: int, seconds: float) -> float:
        stop = time.monotonic() + seconds

        def loop(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < stop:
                self.one(rng)

        threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - started


class LockWatch:
    """Samples the server every 50 ms during the run: how many of the portal's connections are waiting for the
    audit chain's append lock (a PostgreSQL advisory lock, portal.services.audit) and how many are working at
    all, so the note can say whether appending reads' audit entries in one chain holds the load back."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE wait_event = 'advisory'), count(*) FILTER (WHERE state = 'active') "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                if row:
                    self.samples.append((int(row[0]), int(row[1])))

    def report(self) -> str:
        if not self.samples:
            return "  audit append lock: not sampled"
        waiting = [w for w, _a in self.samples]
        active = [a for _w, a in self.samples]
        return (
            f"  audit append lock: {statistics.mean(waiting):.2f} connections waiting on average, some waiting in "
            f"{sum(1 for w in waiting if w) / len(waiting):.0%} of {len(waiting)} samples; "
            f"{statistics.mean(active):.2f} connections busy in the database on average"
        )


class CpuWatch:
    """Where the machine's CPU went during the run (Linux /proc): the gunicorn master and workers, the PostgreSQL
    backends serving the bench's database, this load client (all its threads), the rest, and idle. Read before
    changing anything: when gunicorn has the cores, a cheaper request is the only way to a shorter queue."""

    def __init__(self, gunicorn_pid: int, database: str) -> None:
        self.gunicorn_pid, self.database = gunicorn_pid, database
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.before: dict[int, tuple[str, int]] = {}
        self.machine_before: tuple[int, int] = (0, 0)
        self.seconds = 0.0

    def _processes(self) -> dict[int, tuple[str, int]]:
        found: dict[int, tuple[str, int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as raw:
                    command = raw.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            pid, ppid, ticks = int(entry), int(fields[1]), int(fields[11]) + int(fields[12])
            if self.gunicorn_pid in (pid, ppid):
                kind = "gunicorn"
            elif command.startswith("postgres:") and f" {self.database} " in command:
                kind = "PostgreSQL"
            elif pid == os.getpid():
                kind = "this load client"
            else:
                kind = "the rest"
            found[pid] = (kind, ticks)
        return found

    @staticmethod
    def _machine() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
        return sum(ticks), ticks[3] + ticks[4]  # all, idle + iowait

    def __enter__(self) -> CpuWatch:
        if os.path.exists("/proc/stat"):
            self.before, self.machine_before = self._processes(), self._machine()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        if not self.before:
            return
        self.used: dict[str, float] = defaultdict(float)
        for pid, (kind, ticks) in self._processes().items():
            earlier = self.before.get(pid)
            # A process started during the run (a new database connection) spent all its ticks in it.
            self.used[kind] += (ticks - (earlier[1] if earlier and earlier[0] == kind else 0)) / self.hz
        total, idle = self._machine()
        self.idle_share = (idle - self.machine_before[1]) / max(total - self.machine_before[0], 1)

    def report(self) -> str:
        if not self.before:
            return "  CPU: not measured (no /proc)"
        cores = os.cpu_count() or 1
        parts = ", ".join(
            f"{kind} {self.used[kind] / self.seconds:.2f}"
            for kind in sorted(self.used, key=self.used.get, reverse=True)
        )  # type: ignore[arg-type]
        return f"  CPU over the run, in cores of {cores}: {parts}; idle {self.idle_share * cores:.2f}"


def report(driver: Driver, wall: float) -> None:
    total = sum(len(v) for k, v in driver.samples.items() if k != SUBMIT)
    print(f"\n{total} requests in {wall:.1f} s: {total / wall:.0f}/s served (submit journeys counted apart)")
    everything: list[float] = []
    for kind in (FORM, READ, LIST, SUBMIT):
        ms = [s * 1000 for s in driver.samples.get(kind, [])]
        if not ms:
            continue
        if kind != SUBMIT:
            everything += ms
        errors = sum(n for k, n in driver.errors.items() if k.startswith(kind))
        print(
            f"  {kind:<16} n={len(ms):6d} errors {errors:4d}  p50 {statistics.median(ms):8.1f} ms  "
            f"p95 {percentile(ms, 0.95):8.1f} ms  p99 {percentile(ms, 0.99):8.1f} ms  max {max(ms):8.1f} ms"
        )
    if everything:
        errors = sum(n for k, n in driver.errors.items() if not k.startswith(SUBMIT))
        print(
            f"  {'all but submits':<16} n={len(everything):6d} errors {errors:4d}  p50 "
            f"{statistics.median(everything):8.1f} ms  p95 {percentile(everything, 0.95):8.1f} ms  "
            f"p99 {percentile(everything, 0.99):8.1f} ms"
        )
    for key, n in sorted(driver.errors.items()):
        print(f"  error {key} × {n}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--practitioners", type=int, default=16, help="signed-in practitioners sharing the load")
    parser.add_argument("--submit-share", type=float, default=0.02)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", help="a folder bench_scale.py --workdir grew a database in: start from it")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with workspace(args.postgres, args.workdir) as (folder, database_url):
        env = production_env(folder, database_url)
        app = portal_app(folder, database_url)
        reuse_signed_pdfs(app)
        accounts = Accounts(app)
        grower = Grower(app, accounts, rng)
        # The people the load signs in raise their share of the notices too, so each has notices to read.
        load_people = [accounts.make(Role.PRACTITIONER, agency=RAISING) for _ in range(args.practitioners)]
        grower.raisers.extend(a.id for a in load_people)
        started = time.perf_counter()
        grown, seconds = grower.grow_to(args.size)
        print(f"grew {grown} notices in {time.perf_counter() - started:.0f} s", flush=True)
        for account in load_people:
            # On a database grown before (--workdir), these new people have raised nothing yet.
            for _ in range(20):
                grower.raise_one(account.id)
        with app.extensions["portal.engine"].connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        with session_factory(app)() as db:
            raisers = [a.id for a in load_people]
            readable = {
                rid: list(db.execute(select(Notice.id).where(Notice.raised_by_id == rid).limit(200)).scalars())
                for rid in raisers
            }
        bm_account = accounts.make(Role.BUSINESS_MANAGER)
        spoc_account = accounts.make(Role.SPOC, agency=AGENCIES[0])
        recipients = (grower.contacts[0], grower.contacts[1])
        app.extensions["portal.engine"].dispose()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(folder / "gunicorn.log", "ab")  # noqa: SIM115
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
                "portal:create_app()",
            ],
            cwd=ROOT,
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
            people = [Person(base, a) for a in load_people]
            bm, spoc = Person(base, bm_account), Person(base, spoc_account)
            for person in [*people, bm, spoc]:
                person.sign_in()
            drafts: dict[str, str] = {}
            for person in people:
                status, _l, body = person.get("/notices/new")
                token = CSRF.search(body)
                assert status == 200 and token
                status, loc, _b = person.post("/notices/new", {"immediate_risk": "no", "csrf_token": token[1]})
                assert status == 302, status
                drafts[person.account.id] = path_of(loc)
            driver = Driver(base, people, drafts, readable, bm, spoc, recipients, args.submit_share)
            print(
                f"{args.size} notices; gunicorn {args.workers} sync workers (production); {args.connections} "
                f"connections for {args.seconds:.0f} s; mix form 45% / read 45% / list 10%, submits "
                f"{args.submit_share:.0%} of choices",
                flush=True,
            )
            database = database_url.rsplit("/", 1)[-1]
            with LockWatch(database_url) as watch, CpuWatch(web.pid, database) as cpu:
                wall = driver.run(args.connections, args.seconds)
            report(driver, wall)
            print(watch.report())
            print(cpu.report())
        finally:
            web.terminate()
            web.wait(30)
            log.close()


if __name__ == "__main__":
    main()
