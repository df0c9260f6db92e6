"""`flask --app portal audit …`: verify the hash-chained audit log and export its head as an anchor."""

from __future__ import annotations

import json
from typing import IO, Any

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.commands.runtime import require_services
from portal.services import audit
from portal.web.database import session_factory

group = click.Group(
    "audit",
    help=(
        "Check the audit log. `verify` recomputes the HMAC chain; `export-head` prints the chain head, "
        "which must be kept OUTSIDE the database so that a log cut short can be detected."
    ),
)


def _audit_key() -> bytes:
    services = current_app.extensions.get("portal.services")
    if services is None:
        raise click.ClickException("keys are not set up; run `flask --app portal init` first")
    return require_services().keyring.audit_key


def _read_anchor(handle: IO[str]) -> dict[str, Any]:
    try:
        anchor = json.load(handle)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"the anchor file is not JSON: {exc}") from exc
    if not isinstance(anchor, dict):
        raise click.ClickException("the anchor file must hold a JSON object from `audit export-head`")
    return anchor


@group.command("verify")
@with_appcontext
@click.option(
    "--anchor",
    type=click.File("r"),
    default=None,
    help="A head exported earlier by `audit export-head` (read from outside the database): also catches "
    "entries removed from the end of the log.",
)
def verify_command(anchor: IO[str] | None) -> None:
    """Recompute the audit chain; print "ok: N entries, head H" or "BROKEN at seq N" (exit status 1)."""
    key = _audit_key()
    exported = _read_anchor(anchor) if anchor is not None else None
    with session_factory(current_app)() as db:
        try:
            check = audit.verify(db, key, anchor=exported)
        except ValueError as exc:
            raise click.ClickException(f"bad anchor: {exc}") from exc
    if not check.ok:
        click.echo(f"BROKEN at seq {check.first_bad_seq}: {check.reason} ({check.checked} entries verified before it)")
        raise click.exceptions.Exit(1)
    suffix = f", matches the exported head at seq {exported['seq']}" if exported is not None else ""
    click.echo(f"ok: {check.checked} entries, head {check.head_hash}{suffix}")


@group.command("export-head")
@with_appcontext
@click.option(
    "--out",
    type=click.File("w"),
    default="-",
    show_default=True,
    help="Where to write the head JSON (default: standard output).",
)
def export_head_command(out: IO[str]) -> None:
    """Verify the chain, then write its head (seq, hash, at) as JSON.

    Store the result OUTSIDE the database, where whoever can change the database cannot change it: for
    example mail it to the partnership business manager, or write it to append-only or object-locked
    storage. Do this regularly (say hourly) and at every export; `audit verify --anchor FILE` then
    detects entries cut from the end of the log, which the chain alone cannot show. The head is not a
    secret (it is an HMAC), but it is only useful if it cannot be rewritten.
    """
    key = _audit_key()
    with session_factory(current_app)() as db:
        # Read the head first, then verify the chain up to (and past) it: entries appended meanwhile are
        # fine, and the exported head is one that verified.
        head = audit.export_head(db)
        check = audit.verify(db, key, anchor=head)
    if not check.ok:
        # Anchoring a tampered log would bless it: refuse, and say where it breaks.
        click.echo(f"BROKEN at seq {check.first_bad_seq}: {check.reason}; no head exported", err=True)
        raise click.exceptions.Exit(1)
    out.write(json.dumps(head, indent=2) + "\n")
