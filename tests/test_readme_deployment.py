"""The README's "Deployment on PostgreSQL with several workers" runs as written, in order, on a fresh database.

Each command of the README's block is run as a subprocess, as an operator would type it, against a PostgreSQL
database made for this test alone. Only the values of the exported variables are the test's (a database, a key
directory, the test's SMTP server); the variable names and every command come from the README itself, so a
command that stops working, or a new one that does not work, fails here.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL
from tests.smtp_server import SmtpCapture

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Deployment on PostgreSQL with several workers"

pytestmark = pytest.mark.postgres_only


def readme_commands() -> list[str]:
    """The section's bash block: continuation lines joined, comments dropped, one command per entry."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        command = line.split("  #", 1)[0].strip()
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fresh_database() -> Iterator[str]:
    assert PG_URL
    url = make_url(PG_URL)
    name = f"portal_readme_{os.getpid()}"
    admin = url.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _environment(export: str, values: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Apply the README's `export` line with the test's values in place of the placeholders."""
    words = shlex.split(export)
    assert words[0] == "export"
    readme = dict(word.split("=", 1) for word in words[1:])
    unknown = set(readme) - set(values) - KEPT_AS_WRITTEN
    assert not unknown, f"the README exports {unknown}: give this test a value for each"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({name: values.get(name, value) for name, value in readme.items()})
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    # This checkout's code, whatever the virtualenv was installed from; its log outside the checkout.
    env["PYTHONPATH"] = str(ROOT)
    env["PORTAL_LOG_FILE"] = str(tmp_path / "portal.log")
    return env


# Values that work in the test as the README writes them.
KEPT_AS_WRITTEN = {"PORTAL_ENV", "PORTAL_BASE_URL", "PORTAL_MAILER", "PORTAL_PROXY_FIX_HOPS"}


def _run(command: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        shlex.split(command), env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"`{command}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _serve_one_request(command: str, env: dict[str, str], cwd: Path) -> None:
    port = _free_port()
    words = [word.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for word in shlex.split(command)]
    assert words != shlex.split(command), "the README's gunicorn line no longer binds 127.0.0.1:8000"
    with subprocess.Popen(
        words, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as server:
        _ask_once(server, port)


def _ask_once(server: subprocess.Popen[str], port: int) -> None:
    try:
        deadline = time.monotonic() + 60
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/sign-in",
            # As the TLS-terminating proxy the README puts in front would send it (PORTAL_PROXY_FIX_HOPS=1).
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
        )
        while True:
            assert server.poll() is None, f"gunicorn stopped:\n{server.stdout.read() if server.stdout else ''}"
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310  # a fixed http://127.0.0.1 address
                    assert response.status == 200
                    assert "Sign in" in response.read().decode("utf-8")
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _start_and_stop_worker(command: str, env: dict[str, str], cwd: Path) -> None:
    with subprocess.Popen(
        shlex.split(command), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as worker:
        assert worker.stdout is not None
        first = worker.stdout.readline()
        assert "Mail worker" in first, f"the mail worker did not start: {first!r}"
        time.sleep(1)
        assert worker.poll() is None, "the mail worker stopped by itself"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0


def test_every_command_of_the_readme_deployment_runs_as_written(
    fresh_database: str, tmp_path: Path, smtp: SmtpCapture
) -> None:
    commands = readme_commands()
    values = {
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        "PORTAL_DATABASE_URL": fresh_database,
        "PORTAL_SMTP_HOST": smtp.host,
        "PORTAL_SMTP_PORT": str(smtp.port),
        # The test's SMTP server speaks plain SMTP on loopback.
        "PORTAL_SMTP_STARTTLS": "false",
        "PORTAL_KEY_DIR": str(tmp_path / "keys"),
    }
    env = _environment(commands[0], values, tmp_path)
    workdir = tmp_path / "operator"
    workdir.mkdir()
    kinds = []
    for command in commands[1:]:
        if command.startswith("gunicorn "):
            _serve_one_request(command, env, workdir)
            kinds.append("web")
        elif command.endswith("mail-worker"):
            _start_and_stop_worker(command, env, workdir)
            kinds.append("mail")
        else:
            _run(command, env, workdir)
    assert kinds == ["web", "mail"], "the README no longer starts the web workers and then a mail worker"
    assert (tmp_path / "keys" / "keyring.json").exists()
