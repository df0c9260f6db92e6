"""Setting up and running the portal: init, create-user, generate-keys, mail-worker, send-mail."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import TypedDict

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.commands.runtime import require_services
from portal.domain.models import Agency, DirectoryContact, Partnership, Role, utcnow
from portal.infrastructure import migrate
from portal.infrastructure.crypto import KEYRING_FILE, generate_keyring
from portal.infrastructure.mail import deliver_due, run_worker, transport_from_config
from portal.infrastructure.mail.transport import Transport
from portal.infrastructure.pdf.signing import generate_self_signed
from portal.partnerships.directory_data import DirectoryDataError
from portal.services import accounts, audit, chaser, directory, documents, invitations, sessions
from portal.services.directory import import_partnerships
from portal.services.runtime import build_services
from portal.web.database import session_factory
from portal.web.runtime import app_itself

# PDF versions the mail worker draws in one turn before it delivers mail again (each is about 10 ms).
DRAW_BATCH = 10

# Who the demo invites (issue 9): no account, so following the link is how they get in.
DEMO_INVITEE = "invited-spoc@rochdale.demo.invalid"

# One demo agency per partnership for its practitioner (the raising agency) and its SPOC (the receiving one).
DEMO_AGENCIES = {
    "rochdale": ("Rochdale Early Help and Safeguarding Hub", "Rochdale Children's Social Care"),
    "pan-cheshire": ("Health", "Local authority children's social care"),
    "trafford": ("Health", "Local authority children's social care"),
    "bolton": ("Bolton NHS Foundation Trust", "Children's Social Care and Early Help"),
    "halton": ("Bridgewater Community NHS Trust", "Children's Social Care - Runcorn"),
}


def _write_dev_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def ensure_keys(app: Flask, *, development: bool) -> bool:
    """Create the keyring and a self-signed signing certificate if absent; return True if created."""
    key_dir = Path(app.config["KEY_DIR"])
    created = False
    if not (key_dir / KEYRING_FILE).exists():
        generate_keyring(key_dir, development=development)
        created = True
    if not (key_dir / "signing-key.pem").exists():
        name = "Escalation Portal (development)" if development else "Escalation Portal"
        key_pem, cert_pem = generate_self_signed(name)
        fd = os.open(key_dir / "signing-key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        (key_dir / "signing-cert.pem").write_bytes(cert_pem)
        created = True
    return created


@click.command("init")
@click.option("--demo/--no-demo", default=None, help="Create demo users (default: in development only).")
def init_command(demo: bool | None) -> None:
    """Initialise instance/ idempotently: migrate, keys, partnerships and directories, demo users."""
    app = app_itself()
    development = app.config["ENV"] == "development"
    demo = development if demo is None else demo
    if demo and not development:
        raise click.ClickException("demo users are refused in production")
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if development:
        app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or _write_dev_secret(instance)
        _write_dev_secret(instance)
    migrate.upgrade(app.config["DATABASE_URL"])
    click.echo("Database migrated.")
    if ensure_keys(app, development=development):
        click.echo(f"Keys created in {app.config['KEY_DIR']} (keep them out of database backups).")
    app.extensions["portal.services"] = build_services(app.config)
    with session_factory(app)() as db:
        try:
            report = import_partnerships(db, today=date.today())
        except DirectoryDataError as problem:
            raise click.ClickException(str(problem)) from None
        db.commit()
        click.echo(f"Partnerships and directories loaded from the directory CSVs: {report}.")
        if demo:
            _create_demo_users(app, db)


def _create_demo_users(app: Flask, db: Session) -> None:
    services = require_services(app)
    created = []
    for partnership in db.execute(select(Partnership).order_by(Partnership.id)).scalars():
        raising, receiving = DEMO_AGENCIES.get(partnership.slug, (None, None))
        for role in Role:
            email = f"{role.value.replace('_', '-')}@{partnership.slug}.demo.invalid"
            if accounts.find_user_by_email(db, email) is not None:
                continue
            agency = {Role.PRACTITIONER: raising, Role.SPOC: receiving}.get(role)
            if role in (Role.PRACTITIONER, Role.SPOC) and not _agency_exists(db, partnership.id, agency):
                agency = _first_agency(db, partnership.id)
            account = accounts.create_user(
                db,
                services.keyring,
                services.passwords,
                email=email,
                name=f"Demo {role.label} ({partnership.code})",
                role=role,
                partnership_slug=partnership.slug,
                agency_name=agency,
                job_title=f"Demo {role.label}",
                is_demo=True,
            )
            created.append(account)
            if role is Role.SPOC and agency and not _has_contacts(db, partnership.id, agency):
                # Trafford and Pan Cheshire publish no SPOC list: route the demo SPOC's agency to the demo SPOC.
                directory.add_contact(
                    db,
                    partnership_slug=partnership.slug,
                    agency_name=agency,
                    role_title="Single Point of Contact (demo)",
                    email=email,
                )
    db.commit()
    if not created:
        click.echo("Demo users already exist (their passwords were shown when they were created).")
        return
    click.echo("\nDemo users (shown once; add each TOTP secret to an authenticator app):")
    for account in created:
        click.echo(f"  {account.user.email:<48} password {account.password}  TOTP secret {account.totp_secret}")
    # The demo also shows how people without an account get in: an invitation waiting in the dev mailbox.
    issued = invitations.invite(
        db, services, None, email=DEMO_INVITEE, partnership_slug="rochdale", agency_name=DEMO_AGENCIES["rochdale"][1]
    )
    click.echo(f"\nAn invitation for {issued.invitation.email} is in the development mailbox (/dev/mail).")


def _agency_exists(db: Session, partnership_id: int, name: str | None) -> bool:
    return (
        name is not None
        and db.execute(select(Agency.id).where(Agency.partnership_id == partnership_id, Agency.name == name)).first()
        is not None
    )


def _has_contacts(db: Session, partnership_id: int, name: str) -> bool:
    return (
        db.execute(
            select(DirectoryContact.id)
            .join(Agency)
            .where(Agency.partnership_id == partnership_id, Agency.name == name, DirectoryContact.active.is_(True))
        ).first()
        is not None
    )


def _first_agency(db: Session, partnership_id: int) -> str | None:
    return db.execute(
        select(Agency.name).where(Agency.partnership_id == partnership_id).order_by(Agency.position)
    ).scalar()


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. rochdale.")
@click.option("--agency", default=None, help="Agency name from the directory (practitioners and SPOCs).")
@click.option("--job-title", default="")
@click.option("--telephone", default="")
@click.option("--password-env", default=None, help="Read the password from this environment variable (else generated).")
def create_user_command(
    email: str,
    name: str,
    role: str,
    partnership_slug: str,
    agency: str | None,
    job_title: str,
    telephone: str,
    password_env: str | None,
) -> None:
    """Create a user non-interactively; print the TOTP provisioning URI once."""
    app = app_itself()
    services = require_services(app)
    password = os.environ.get(password_env) if password_env else None
    if password_env and not password:
        raise click.ClickException(f"environment variable {password_env} is empty")
    with session_factory(app)() as db:
        try:
            account = accounts.create_user(
                db,
                services.keyring,
                services.passwords,
                email=email,
                name=name,
                role=Role(role),
                partnership_slug=partnership_slug,
                agency_name=agency,
                job_title=job_title,
                telephone=telephone,
                password=password,
            )
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(
            db,
            services.keyring.audit_key,
            action="admin.user_created",
            outcome="ok",
            object_type="staff_user",
            object_id=str(account.user.id),
            remote_addr="cli",
        )
        db.commit()
    click.echo(f"Created {account.user.email} ({Role(role).label}).")
    if not password_env:
        click.echo(f"Password (shown once): {account.password}")
    click.echo(f"TOTP provisioning URI (shown once): {account.provisioning_uri}")


@click.command("generate-keys")
@click.option("--production", is_flag=True, help="Mark the keys as production keys.")
def generate_keys_command(production: bool) -> None:
    """Create the keyring and signing certificate in the key directory if they do not exist."""
    app = app_itself()
    if ensure_keys(app, development=not production):
        click.echo(f"Keys created in {app.config['KEY_DIR']}.")
    else:
        click.echo("Keys already exist; nothing changed.")


def _transport(app: Flask) -> Transport:
    return transport_from_config(app.config)


class _MailOptions(TypedDict):
    retry_base_seconds: float
    retry_max_seconds: float


def _mail_options(app: Flask) -> _MailOptions:
    return {
        "retry_base_seconds": app.config["MAIL_RETRY_BASE_SECONDS"],
        "retry_max_seconds": app.config["MAIL_RETRY_MAX_SECONDS"],
    }


@click.command("mail-worker")
def mail_worker_command() -> None:
    """Deliver queued e-mail until stopped (SIGTERM or Ctrl-C); several workers may run at once."""
    app = app_itself()
    services = require_services(app)  # refuse now, not at the first chase
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    click.echo(f"Mail worker {worker_id} delivering with the {app.config['MAILER']} mailer.")
    factory = session_factory(app)

    def chase() -> None:
        # The worker's periodic housekeeping: chase overdue stages, and drop sessions nobody will come back to.
        with factory() as db:
            chaser.chase_overdue(db, services, every=app.config["CHASE_EVERY_WORKING_DAYS"])
        with factory() as db:
            purge_sessions(app, db)

    def draw() -> int:
        # PDF versions still to draw (portal.services.documents): a reader who comes first draws their own.
        with factory() as db:
            return documents.issue_pending(db, services, limit=DRAW_BATCH)

    try:
        run_worker(
            factory,
            _transport(app),
            stop=stop,
            poll_seconds=app.config["MAIL_POLL_SECONDS"],
            worker_id=worker_id,
            each_turn=draw,
            each_turn_batch=DRAW_BATCH,
            periodic=chase,
            periodic_seconds=app.config["CHASE_INTERVAL_SECONDS"],
            **_mail_options(app),
        )
    except KeyboardInterrupt:
        stop.set()


def purge_sessions(app: Flask, db: Session) -> int:
    return sessions.purge_expired(
        db,
        idle=timedelta(minutes=app.config["SESSION_IDLE_MINUTES"]),
        absolute=timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"]),
        now=utcnow(),
    )


@click.command("purge-sessions")
def purge_sessions_command() -> None:
    """Delete every session past its idle or absolute timeout (the mail worker also does this as it runs)."""
    app = app_itself()
    with session_factory(app)() as db:
        click.echo(f"Deleted {purge_sessions(app, db)} expired session(s).")


@click.command("send-mail")
def send_mail_command() -> None:
    """Deliver the e-mail that is due now, once, and report."""
    app = app_itself()
    report = deliver_due(
        session_factory(app), _transport(app), worker_id=f"send-mail:{os.getpid()}", **_mail_options(app)
    )
    click.echo(f"Sent {report.sent}, retrying {report.retried}, failed {report.failed}.")


COMMANDS = (
    init_command,
    create_user_command,
    generate_keys_command,
    mail_worker_command,
    send_mail_command,
    purge_sessions_command,
)
