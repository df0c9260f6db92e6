"""Fault harness (`make faults`): does the portal lose anything when its parts fail?

It starts, all on this machine and all thrown away at the end:

* a private PostgreSQL (initdb into a temporary folder, a Unix socket there, run as an unprivileged user
  when started as root, because initdb refuses root);
* the portal in production mode (`generate-keys --production`, `init --no-demo`, `create-user`), served by
  gunicorn with three sync workers, and the mail worker (`flask --app portal mail-worker`) beside it;
* an SMTP sink (aiosmtpd) in this process that records every message's Message-ID and recipients, and can be
  stopped and started on the same port;
* a load driver: threads each signed in as a practitioner (password page, then TOTP page) raising Rochdale
  notices through the real pages (immediate-risk question, the form, check answers, send).

Then it plays each fault as its own phase, under load: the SMTP server down for minutes; the mail worker killed
with SIGKILL mid-batch while many messages are due; PostgreSQL restarted (`pg_ctl restart -m fast`). After each
phase it waits for the outbox to drain and counts, from the database and the sink: requests sent, 5xx answers,
notices half-saved, mails lost and mails duplicated. It exits 1 if a notice is half-saved, a notice the user was
told was sent is missing, a mail is lost, a mail is duplicated outside the documented window (a worker stopped
between the SMTP server's acceptance and the "sent" mark: portal/infrastructure/mail/worker.py), or any 5xx is
answered outside the PostgreSQL restart (during it, 503 is the portal's own page; 500 is counted apart).

Run: `make faults` (about 10 minutes), `make faults ARGS=--quick` (about 5), or
`.venv/bin/python scripts/faults.py --help`. It reads nothing outside the repository and the folders it makes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import http.client
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pyotp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REPO = Path(__file__).resolve().parent.parent
PRACTITIONER_AGENCY = "Rochdale Early Help and Safeguarding Hub"
RECIPIENT_AGENCIES = ("Rochdale Children's Social Care", "Greater Manchester Police")
SESSION_COOKIE = "__Host-portal_session"  # the production cookie name (portal/web/config.py)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# The mail worker's lease (portal.infrastructure.mail.worker.deliver_due): a killed worker's message waits this long.
LEASE_SECONDS = 120


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def now_utc() -> datetime:
    """The time as the portal stores it: naive UTC (portal.domain.models.UTCDateTime)."""
    return datetime.now(UTC).replace(tzinfo=None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the SMTP sink -------------------------------------------------------------------------------------------


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        parsed = message_from_bytes(data, policy=policy.default)
        self.sink.record(str(parsed["Message-ID"] or ""), tuple(envelope.rcpt_tos))
        # A slow relay: the message is already the server's, but the client has not yet heard so. A worker
        # killed now sends it again (the documented window), which is what this delay lets the harness show.
        await asyncio.sleep(self.sink.accept_delay)
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """Drops its clients' connections when stopped (as tests/smtp_server.py does), so they fail at once."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._servers: list[SMTP] = []

    def factory(self) -> SMTP:
        server = super().factory()
        self._servers.append(server)
        return server

    async def _drop_clients(self) -> None:
        for server in self._servers:
            if isinstance(server.transport, asyncio.Transport):
                server.transport.abort()
        await asyncio.sleep(0)

    def stop(self, no_assert: bool = False) -> None:
        if self._thread is not None and self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self._drop_clients(), self.loop).result(timeout=5)
        super().stop(no_assert)


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps its port across stop() and start() and records each message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: dict[str, list[float]] = {}  # Message-ID -> the times it arrived
        self.recipients: dict[str, tuple[str, ...]] = {}
        self.accept_delay = 0.0
        self.lock = threading.Lock()
        self._controller: _Controller | None = None

    def record(self, message_id: str, rcpt_tos: tuple[str, ...]) -> None:
        with self.lock:
            self.received.setdefault(message_id, []).append(time.time())
            self.recipients[message_id] = rcpt_tos

    def count(self) -> int:
        with self.lock:
            return sum(len(times) for times in self.received.values())

    def snapshot(self) -> dict[str, list[float]]:
        with self.lock:
            return {key: list(times) for key, times in self.received.items()}

    def start(self) -> None:
        if self._controller is None:
            controller = _Controller(
                _Handler(self), hostname="127.0.0.1", port=self.port, server_hostname="sink.test", ready_timeout=10
            )
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()


# -- PostgreSQL ----------------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The newest PostgreSQL server's bin folder (Debian keeps them in /usr/lib/postgresql/<version>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SystemExit("the fault harness needs the PostgreSQL server (initdb, pg_ctl): apt-get install postgresql")


class Postgres:
    """A private PostgreSQL in a temporary folder, reachable only through its Unix socket there."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="portal-faults-pg-"))
        self.data = self.folder / "data"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as postgres (or nobody) in a folder it owns.
            user = "postgres" if _user_exists("postgres") else "nobody"
            entry = pwd.getpwnam(user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self.prefix = ["runuser", "-u", user, "--"]
        self.started = False

    @property
    def _start(self) -> list[str]:
        # Only `pg_ctl restart` remembers the options; a plain start must be given them again.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses='' -c max_connections=200"
        return [
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        ]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@/portal?host={self.folder}&port={self.port}"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(host=str(self.folder), port=self.port, user="postgres", dbname="portal", autocommit=True)

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, stdout=subprocess.DEVNULL, cwd=self.folder)

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self._run(*self._start)
        self.started = True
        self._run(str(self.bin / "createdb"), "-h", str(self.folder), "-p", str(self.port), "-U", "postgres", "portal")

    def restart(self, down_seconds: float = 0) -> float:
        """Restart with `pg_ctl restart -m fast` (it keeps the options), or stop, stay down a while and start;
        return how long the server was unavailable."""
        began = time.monotonic()
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w"]
        if down_seconds <= 0:
            self._run(*pg_ctl, "-m", "fast", "restart")
        else:
            self._run(*pg_ctl, "-m", "fast", "stop")
            time.sleep(down_seconds)
            self._run(*self._start)
        return time.monotonic() - began

    def remove(self) -> None:
        if self.started:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def scalar(db: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# -- the portal's processes ----------------------------------------------------------------------------------


class Portal:
    """The portal configured for production against the private database and the sink."""

    def __init__(self, database: Postgres, sink: SmtpSink) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="portal-faults-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PORTAL_ENV": "production",
            "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
            "PORTAL_DATABASE_URL": database.url,
            "PORTAL_KEY_DIR": str(self.folder / "keys"),
            "PORTAL_LOG_FILE": str(self.folder / "portal.log"),
            "PORTAL_BASE_URL": "https://portal.faults.invalid",
            "PORTAL_MAILER": "smtp",
            "PORTAL_SMTP_HOST": "127.0.0.1",
            "PORTAL_SMTP_PORT": str(sink.port),
            "PORTAL_SMTP_TIMEOUT_SECONDS": "5",
            "PORTAL_MAIL_RETRY_BASE_SECONDS": "1",
            "PORTAL_MAIL_RETRY_MAX_SECONDS": "5",
            "PORTAL_MAIL_POLL_SECONDS": "0.5",
        }
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_pids: list[int] = []

    def flask(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "portal", *args],
            cwd=REPO,
            env=env or self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"flask {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def initialise(self) -> None:
        # The production app refuses to start without its keys, so the keys are made by a development app
        # (`--production` still marks them production keys); everything after runs in production mode.
        self.flask("generate-keys", "--production", env={**self.env, "PORTAL_ENV": "development"})
        self.flask("init", "--no-demo")

    def create_practitioner(self, email: str, password: str) -> str:
        """Create a practitioner; return the TOTP secret from the provisioning URI."""
        out = self.flask(
            "create-user",
            "--email",
            email,
            "--name",
            "Fault Harness",
            "--role",
            "practitioner",
            "--partnership",
            "rochdale",
            "--agency",
            PRACTITIONER_AGENCY,
            "--job-title",
            "Health Visitor",
            "--password-env",
            "FAULTS_PASSWORD",
            env={**self.env, "FAULTS_PASSWORD": password},
        )
        uri = next(line.split(": ", 1)[1] for line in out.splitlines() if "otpauth://" in line)
        return urllib.parse.parse_qs(urllib.parse.urlsplit(uri.strip()).query)["secret"][0]

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with open(self.folder / log, "ab") as out:
            return subprocess.Popen(
                args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start_web(self) -> None:
        self.web = self._spawn(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "3",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "portal:create_app()",
            ],
            "gunicorn.log",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if Browser(self.base).request("GET", "/sign-in").status == 200:
                    return
            if self.web.poll() is not None:
                break
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not start:\n{self.tail('gunicorn.log')}")

    def start_worker(self) -> None:
        self.worker = self._spawn([sys.executable, "-m", "flask", "--app", "portal", "mail-worker"], "worker.log")
        self.worker_pids.append(self.worker.pid)

    def stop_worker(self, sig: int = signal.SIGTERM) -> int:
        """Stop the mail worker with sig (SIGTERM lets it finish the message in hand); return its pid."""
        assert self.worker is not None
        worker, self.worker = self.worker, None
        worker.send_signal(sig)
        worker.wait(timeout=60)
        return worker.pid

    def stop(self) -> None:
        for process in (self.worker, self.web):
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

    def tail(self, log: str, lines: int = 40) -> str:
        path = self.folder / log
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def errors_logged(self) -> tuple[int, list[str]]:
        """(ERROR lines saying the database was unavailable, every other ERROR line and gunicorn traceback)."""
        expected, other = 0, []
        path = self.folder / "portal.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        for line in lines:
            if " ERROR " not in line:
                continue
            if "database unavailable" in line or "session store unavailable" in line:
                expected += 1
            else:
                other.append(line)
        path = self.folder / "gunicorn.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        for number, line in enumerate(lines):
            if "Error handling request" in line or line.startswith("Traceback"):
                other += lines[number : number + 30]
        return expected, other

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# -- the load driver -----------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    location: str
    body: str


class Browser:
    """One person's cookies over plain HTTP to gunicorn (the portal's production cookie is sent back as is)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict[str, Any] | None = None) -> Answer:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if method == "POST":
            body = urllib.parse.urlencode(data or {}, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                value = rest.split(";", 1)[0]
                if "max-age=0" in header.lower().replace(" ", "") or not value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            return Answer(response.status, response.getheader("Location") or "", response.read().decode())
        finally:
            connection.close()


@dataclass
class Tally:
    """What the load driver saw in one phase."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    no_answer: int = 0
    journeys: int = 0
    confirmed: list[str] = field(default_factory=list)
    abandoned: Counter[str] = field(default_factory=Counter)
    # "500 POST /notices/drafts/<id>/check": which step each 5xx answered.
    server_error_steps: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int | None) -> None:
        with self.lock:
            self.requests += 1
            if status is None:
                self.no_answer += 1
            else:
                self.statuses[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)


class JourneyError(Exception):
    """A step of the raise journey got an answer no retry would change."""


def nhs_number() -> str:
    """A random NHS number in the 999 range (valid check digit, never issued)."""
    while True:
        digits = [9, 9, 9, *(secrets.randbelow(10) for _ in range(6))]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check == 11:
            check = 0
        if check != 10:
            text = "".join(map(str, [*digits, check]))
            return f"{text[:3]} {text[3:6]} {text[6:]}"


def answers(recipients: tuple[int, int], serial: int) -> dict[str, Any]:
    """A complete Rochdale Appendix 1 about a made-up child (no real person)."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    return {
        "date_of_notification": [str(today.day), str(today.month), str(today.year)],
        "child_name": f"Faultharness Child{serial}",
        "child_dob": ["14", "3", "2017"],
        "nhs_number": nhs_number(),
        "p_number": f"P{serial:06d}",
        "completed_by_name": "Fault Harness",
        "completed_by_role": "Health Visitor",
        "completed_by_agency_team": "Early Help, North Team",
        "completed_by_contact": "01706 000000",
        "sent_to_1": str(recipients[0]),
        "sent_to_2": str(recipients[1]),
        "summary_of_disagreement": "The referral was declined although the threshold is met.",
        "informal_challenge_evidence": "Stage 1 call on 3 Nov; stage 2 managers met on 10 Nov; no agreement.",
        "desired_outcome": "A strategy discussion is held this week.",
    }


class Practitioner:
    """One load thread: a signed-in practitioner raising notices until told to stop."""

    RETRIES = 8  # a person pressing "try again" on the 503 page while the database restarts

    def __init__(self, base: str, email: str, password: str, secret: str, recipients: tuple[int, int]) -> None:
        self.browser = Browser(base)
        self.email, self.password, self.secret = email, password, secret
        self.recipients = recipients
        self.tally = Tally()

    def step(self, method: str, path: str, data: dict[str, Any] | None = None, expect: int = 200) -> Answer:
        """One request, repeated while the answer is a 5xx or none at all, as a person would."""
        for attempt in range(self.RETRIES):
            try:
                answer = self.browser.request(method, path, data)
            except OSError:
                self.tally.count(None)
            else:
                self.tally.count(answer.status)
                if answer.status >= 500:
                    with self.tally.lock:
                        self.tally.server_error_steps[f"{answer.status} {method} {_shape(path)}"] += 1
                if answer.status == expect:
                    return answer
                if answer.status < 500:
                    raise JourneyError(f"{method} {_shape(path)} answered {answer.status}")
            time.sleep(min(0.5 * 2**attempt, 4))
        raise JourneyError(f"{method} {_shape(path)} kept failing")

    def csrf(self, path: str) -> str:
        match = CSRF.search(self.step("GET", path).body)
        if match is None:
            raise JourneyError(f"no CSRF token on {_shape(path)}")
        return match.group(1)

    def sign_in(self) -> None:
        token = self.csrf("/sign-in")
        answer = self.step(
            "POST", "/sign-in", {"email": self.email, "password": self.password, "csrf_token": token}, 302
        )
        if not answer.location.endswith("/sign-in/code"):
            raise JourneyError("the password was not accepted")
        token = self.csrf("/sign-in/code")
        self.step("POST", "/sign-in/code", {"code": pyotp.TOTP(self.secret).now(), "csrf_token": token}, 302)

    def raise_notice(self, serial: int) -> str:
        """Walk the raise journey; return the id of the notice the portal confirmed."""
        token = self.csrf("/notices/new")
        draft = _path(self.step("POST", "/notices/new", {"immediate_risk": "no", "csrf_token": token}, 302))
        token = self.csrf(draft)
        check = _path(self.step("POST", draft, {**answers(self.recipients, serial), "csrf_token": token}, 302))
        token = self.csrf(check)
        confirmation = _path(self.step("POST", check, {"csrf_token": token}, 302))
        if not confirmation.endswith("/confirmation"):
            raise JourneyError("sending did not lead to the confirmation")
        self.step("GET", confirmation)
        return confirmation.split("/")[2]

    def run(self, stop: threading.Event, serials: Iterator[int]) -> None:
        while not stop.is_set():
            tally = self.tally
            with tally.lock:
                tally.journeys += 1
            try:
                notice_id = self.raise_notice(next(serials))
            except JourneyError as problem:
                with tally.lock:
                    tally.abandoned[str(problem)] += 1
            else:
                with tally.lock:
                    tally.confirmed.append(notice_id)


def _path(answer: Answer) -> str:
    return urllib.parse.urlsplit(answer.location).path


def _shape(path: str) -> str:
    """A path with its ids blanked, for messages."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", path)


class Load:
    """The load threads; each phase gets a fresh tally."""

    def __init__(self, practitioners: list[Practitioner]) -> None:
        self.practitioners = practitioners
        self._serial = iter(range(1, 10**9))
        self._serial_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _serials(self) -> Iterator[int]:
        while True:
            with self._serial_lock:
                value = next(self._serial)
            yield value

    def start(self) -> None:
        self._stop.clear()
        for practitioner in self.practitioners:
            practitioner.tally = Tally()
            thread = threading.Thread(target=practitioner.run, args=(self._stop, self._serials()), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, wait: float = 300) -> Tally:
        """Let each thread finish the notice in hand (waiting up to ``wait`` s), then sum what they saw."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=wait)
        self._threads = []
        total = Tally()
        for practitioner in self.practitioners:
            tally = practitioner.tally
            total.requests += tally.requests
            total.statuses.update(tally.statuses)
            total.no_answer += tally.no_answer
            total.journeys += tally.journeys
            total.confirmed += tally.confirmed
            total.abandoned.update(tally.abandoned)
            total.server_error_steps.update(tally.server_error_steps)
        return total


# -- counting ------------------------------------------------------------------------------------------------

# Everything one submission writes in its one transaction (portal.services.raising.submit_notice), per notice.
SIGNATURE_SQL = """
SELECT n.id,
  (SELECT count(*) FROM notice_answer x WHERE x.notice_id = n.id),
  (SELECT count(*) FROM notice_document x WHERE x.notice_id = n.id),
  (SELECT count(*) FROM notice_stage x WHERE x.notice_id = n.id),
  (SELECT count(*) FROM notice_recipient x WHERE x.notice_id = n.id),
  (SELECT count(*) FROM notice_blind_index x WHERE x.notice_id = n.id),
  (SELECT count(*) FROM notice_event x WHERE x.notice_id = n.id AND x.kind = 'raised'),
  (SELECT count(*) FROM outbox_message x WHERE x.notice_id = n.id),
  (SELECT count(*) FROM audit_event x WHERE x.object_id = n.id AND x.action = 'notice.submit'),
  (SELECT count(*) FROM safety_check x WHERE x.id = n.safety_check_id AND x.notice_id = n.id),
  (SELECT count(*) FROM notice_draft x WHERE x.id = n.id)
FROM notice n WHERE n.submitted_at >= %s AND n.submitted_at < %s
"""
SIGNATURE_PARTS = (
    "answers",
    "PDFs",
    "stages",
    "recipients",
    "index rows",
    "raised event",
    "outbox rows",
    "audit entry",
    "safety check link",
    "draft left",
)


@dataclass
class Fault:
    """One phase's figures."""

    name: str
    tally: Tally
    notices: int = 0
    half_saved: list[str] = field(default_factory=list)
    confirmed_missing: int = 0
    mails: int = 0
    undelivered: int = 0
    lost: int = 0
    duplicated: int = 0
    explained: int = 0
    notes: list[str] = field(default_factory=list)
    allows_5xx: bool = False

    @property
    def failed(self) -> bool:
        unexplained = self.duplicated - self.explained
        server_errors = 0 if self.allows_5xx else self.tally.server_errors + self.tally.no_answer
        return bool(self.half_saved or self.confirmed_missing or self.lost or unexplained or server_errors)


class Harness:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.database = Postgres()
        self.sink = SmtpSink()
        self.portal = Portal(self.database, self.sink)
        self.load: Load | None = None
        self.reference: tuple[int, ...] | None = None
        self.in_flight: set[str] = set()  # Message-IDs claimed but not recorded when a fault struck
        self.results: list[Fault] = []

    # setting up

    def set_up(self) -> None:
        say(f"PostgreSQL {self.database.bin.parent.name} in {self.database.folder} (socket, port {self.database.port})")
        self.database.start()
        self.sink.start()
        say(f"SMTP sink on 127.0.0.1:{self.sink.port}; portal folder {self.portal.folder}")
        self.portal.initialise()
        with self.database.connect() as db:
            rows = db.execute(
                "SELECT min(c.id) FROM directory_contact c JOIN agency a ON a.id = c.agency_id"
                " JOIN partnership p ON p.id = a.partnership_id"
                " WHERE p.slug = 'rochdale' AND a.name = ANY(%s) AND c.active AND c.email IS NOT NULL"
                " GROUP BY a.name ORDER BY a.name",
                (list(RECIPIENT_AGENCIES),),
            ).fetchall()
        recipients = [row[0] for row in rows]
        if len(recipients) != 2:
            raise SystemExit(f"the Rochdale directory lacks {RECIPIENT_AGENCIES}")
        people = []
        for n in range(self.options.threads):
            email, password = f"practitioner{n + 1}@faults.invalid", secrets.token_urlsafe(18)
            secret = self.portal.create_practitioner(email, password)
            people.append(Practitioner(self.portal.base, email, password, secret, (recipients[0], recipients[1])))
        self.portal.start_web()
        self.portal.start_worker()
        for person in people:
            person.sign_in()
        self.load = Load(people)
        say(f"gunicorn (3 sync workers) on {self.portal.base}; mail worker started; {len(people)} practitioners in")

    # helpers

    def pending(self) -> int:
        with self.database.connect() as db:
            return int(scalar(db, "SELECT count(*) FROM outbox_message WHERE status = 'pending'"))

    def claimed(self, worker_pid: int | None = None) -> set[str]:
        """Message-IDs of rows claimed and not yet recorded (by one worker, or by any)."""
        query = "SELECT id FROM outbox_message WHERE status = 'pending' AND claimed_by IS NOT NULL"
        params: tuple[Any, ...] = ()
        if worker_pid is not None:
            query += " AND claimed_by LIKE %s"
            params = (f"%:{worker_pid}",)
        with self.database.connect() as db:
            return {f"<{row}@escalation-portal.invalid>" for (row,) in db.execute(query, params)}

    def drain(self, bound: float) -> None:
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            try:
                if self.pending() == 0:
                    return
            except psycopg.OperationalError:
                pass
            time.sleep(1)
        say(f"  the outbox did not drain within {bound:.0f} s")

    def phase(self, name: str, allows_5xx: bool = False) -> PhaseRun:
        return PhaseRun(self, name, allows_5xx)

    # the faults

    def baseline(self) -> None:
        with self.phase("no fault (baseline)"):
            time.sleep(self.options.settle)

    def smtp_down(self) -> None:
        seconds = self.options.smtp_down_seconds
        with self.phase(f"SMTP down {seconds:.0f} s") as run:
            time.sleep(self.options.settle)
            self.in_flight |= self.claimed()
            self.sink.stop()
            run.fault_at.append(time.time())
            self.in_flight |= self.claimed()
            time.sleep(seconds)
            run.note(f"{self.pending()} messages waiting when the SMTP server came back")
            self.sink.start()
            time.sleep(self.options.settle)

    def kill_worker(self) -> None:
        with self.phase(f"mail worker SIGKILL x{self.options.kills}") as run:
            self.sink.accept_delay = 0.05
            for _ in range(self.options.kills):
                # Hold delivery back so that many messages are due, then kill the worker once it is under way.
                self.portal.stop_worker()
                time.sleep(self.options.backlog_seconds)
                due = self.pending()
                before = self.sink.count()
                self.portal.start_worker()
                assert self.portal.worker is not None
                deadline = time.monotonic() + 60
                while self.sink.count() < before + 3 and time.monotonic() < deadline:
                    time.sleep(0.005)
                pid = self.portal.stop_worker(signal.SIGKILL)
                run.fault_at.append(time.time())
                in_hand = self.claimed(pid)
                self.in_flight |= in_hand
                run.note(f"killed with {due} due, {self.sink.count() - before} sent, {len(in_hand)} in hand")
                time.sleep(1)
                self.portal.start_worker()
            self.sink.accept_delay = 0.0
            time.sleep(self.options.settle)

    def restart_postgres(self) -> None:
        with self.phase(f"PostgreSQL restart x{len(self.options.restarts)}", allows_5xx=True) as run:
            for down in self.options.restarts:
                time.sleep(self.options.settle)
                run.fault_at.append(time.time())
                how = "pg_ctl restart -m fast" if down <= 0 else f"pg_ctl stop -m fast, {down:.0f} s down, start"
                run.note(f"{how}: unavailable {self.database.restart(down):.1f} s")
            time.sleep(self.options.settle)

    # counting

    def count(self, fault: Fault, start: datetime, end: datetime) -> None:
        tally = fault.tally
        with self.database.connect() as db:
            rows = db.execute(SIGNATURE_SQL, (start, end)).fetchall()
            fault.notices = len(rows)
            for row in rows:
                signature = tuple(int(v) for v in row[1:])
                if self.reference is None:
                    self.reference = signature
                if signature != self.reference or 0 in signature[:-1] or signature[-1] != 0:
                    parts = [
                        f"{part} {got} (expected {want})"
                        for part, got, want in zip(SIGNATURE_PARTS, signature, self.reference, strict=True)
                        if got != want
                    ]
                    fault.half_saved.append(f"{row[0][:8]}: {', '.join(parts) or 'an empty part'}")
            # A safety check marked as become a notice that does not exist, or a confirmed notice that does not.
            orphans = scalar(
                db,
                "SELECT count(*) FROM safety_check c WHERE c.notice_id IS NOT NULL"
                " AND c.answered_at >= %s AND c.answered_at < %s"
                " AND NOT EXISTS (SELECT 1 FROM notice n WHERE n.id = c.notice_id)",
                (start, end),
            )
            if orphans:
                fault.half_saved.append(f"{orphans} safety check(s) pointing at no notice")
            present = {row[0] for row in db.execute("SELECT id FROM notice WHERE id = ANY(%s)", (tally.confirmed,))}
            fault.confirmed_missing = len(set(tally.confirmed) - present)
            outbox = db.execute(
                "SELECT id, status FROM outbox_message WHERE created_at >= %s AND created_at < %s", (start, end)
            ).fetchall()
        received = self.sink.snapshot()
        fault.mails = len(outbox)
        for message_id, status in outbox:
            header = f"<{message_id}@escalation-portal.invalid>"
            times = received.get(header, [])
            if status != "sent":
                fault.undelivered += 1
            if not times:
                fault.lost += 1
            elif len(times) > 1:
                fault.duplicated += 1
                if header in self.in_flight:
                    fault.explained += 1


class PhaseRun:
    """Runs the load for the length of a `with` block, then drains the outbox and counts."""

    def __init__(self, harness: Harness, name: str, allows_5xx: bool = False) -> None:
        self.harness, self.name, self.allows_5xx = harness, name, allows_5xx
        self.fault_at: list[float] = []
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)
        say(f"  {text}")

    def __enter__(self) -> PhaseRun:
        say(f"== {self.name}")
        self.start = now_utc()
        assert self.harness.load is not None
        self.harness.load.start()
        return self

    def __exit__(self, *exc: object) -> None:
        harness = self.harness
        assert harness.load is not None
        if exc[0] is not None:
            harness.load.stop(wait=5)
            return
        tally = harness.load.stop()
        end = now_utc()
        harness.drain(LEASE_SECONDS + 90)
        fault = Fault(self.name, tally, notes=self.notes, allows_5xx=self.allows_5xx)
        harness.count(fault, self.start, end)
        harness.results.append(fault)
        say(f"  {tally.requests} requests, {fault.notices} notices, {fault.mails} mails")


def report(results: list[Fault]) -> bool:
    columns = (
        ("fault", 26),
        ("requests", 8),
        ("5xx", 5),
        ("503", 5),
        ("500", 5),
        ("no answer", 9),
        ("notices", 7),
        ("half-saved", 10),
        ("confirmed missing", 17),
        ("mails", 6),
        ("lost", 5),
        ("duplicated", 10),
        ("in window", 9),
    )
    say()
    say("  ".join(title.rjust(width) if i else title.ljust(width) for i, (title, width) in enumerate(columns)))
    for fault in results:
        tally = fault.tally
        values = (
            fault.name,
            tally.requests,
            tally.server_errors,
            tally.statuses[503],
            tally.statuses[500],
            tally.no_answer,
            fault.notices,
            len(fault.half_saved),
            fault.confirmed_missing,
            fault.mails,
            fault.lost,
            fault.duplicated,
            fault.explained,
        )
        say(
            "  ".join(
                str(value).rjust(width) if i else str(value).ljust(width)
                for i, (value, (_title, width)) in enumerate(zip(values, columns, strict=True))
            )
        )
    say()
    say("duplicated: the same Message-ID received twice; 'in window' of them were in hand when the SMTP server")
    say("went away or the worker was killed (accepted by the server before 'sent' was recorded: documented).")
    failed = False
    for fault in results:
        problems = [f"half-saved {entry}" for entry in fault.half_saved]
        if fault.tally.abandoned:
            problems += [f"journeys abandoned: {why} x{n}" for why, n in fault.tally.abandoned.items()]
        problems += [f"{step} x{n}" for step, n in sorted(fault.tally.server_error_steps.items())]
        if fault.allows_5xx and fault.tally.statuses[500]:
            problems.append(f"{fault.tally.statuses[500]} answer(s) 500 during the restart, not the portal's 503 page")
        if fault.undelivered:
            problems.append(f"{fault.undelivered} outbox row(s) not marked sent after the drain")
        if problems:
            say(f"{fault.name}:")
            for line in problems[:20]:
                say(f"  {line}")
        if fault.failed:
            failed = True
            say(f"FAIL: {fault.name}")
    return not failed


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller numbers: about 5 minutes instead of 10")
    parser.add_argument(
        "--smtp-down-seconds", type=float, default=None, help="how long SMTP stays down (120; quick 30)"
    )
    parser.add_argument("--threads", type=int, default=None, help="practitioners raising notices at once (6; quick 4)")
    options = parser.parse_args(argv)
    quick = options.quick
    if options.smtp_down_seconds is None:
        options.smtp_down_seconds = 30.0 if quick else 120.0
    if options.threads is None:
        options.threads = 4 if quick else 6
    options.settle = 5.0 if quick else 10.0
    options.backlog_seconds = 8.0 if quick else 20.0
    options.kills = 2 if quick else 3
    # Seconds down between stop and start for each restart (0: `pg_ctl restart -m fast`).
    options.restarts = [0.0] if quick else [0.0, 5.0]

    # `make` stopped, or a terminal closed: still stop and remove everything (the finally below).
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    harness = Harness(options)
    began = time.monotonic()
    ok = False
    try:
        harness.set_up()
        harness.baseline()
        harness.smtp_down()
        harness.kill_worker()
        harness.restart_postgres()
        ok = report(harness.results)
        expected, errors = harness.portal.errors_logged()
        say(f"\nportal.log: {expected} ERROR lines saying the database was unavailable (expected while it restarts)")
        if errors:
            say(f"other ERROR lines and tracebacks ({len(errors)} lines); the first:")
            for line in errors[:60]:
                say(f"  {line[:300]}")
    finally:
        if not ok:
            say("\n-- gunicorn log (tail) --\n" + harness.portal.tail("gunicorn.log", 15))
            say("-- mail worker log (tail) --\n" + harness.portal.tail("worker.log", 15))
        harness.portal.stop()
        harness.sink.stop()
        harness.database.remove()
        harness.portal.remove()
        say(f"\n{'passed' if ok else 'FAILED'} in {time.monotonic() - began:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
