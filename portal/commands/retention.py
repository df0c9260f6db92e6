"""`flask --app portal retention …`: crypto-shred notices past their retention, and legal holds."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.commands.runtime import require_services
from portal.domain.dates import london_today
from portal.services import retention as retention_service
from portal.services.runtime import PortalServices
from portal.web.database import session_factory

group = click.Group(
    "retention",
    help="Destroy notices whose retention period has ended (crypto-shredding), and place or release legal holds.",
)


def _services() -> PortalServices:
    services = current_app.extensions.get("portal.services")
    if services is None:
        raise click.ClickException("keys are not set up; run `flask --app portal init` first")
    return require_services()


def _parse_day(value: str | None) -> date:
    if value is None:
        return london_today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use a date like 2032-04-01") from exc


@group.command("shred")
@click.option("--dry-run", is_flag=True, help="List the notices that are due; change nothing.")
@click.option("--today", default=None, help="Act as if today were this date (YYYY-MM-DD); default: today in England.")
@with_appcontext
def shred_command(dry_run: bool, today: str | None) -> None:
    """Shred every closed notice past its retention date that is not on legal hold.

    For each: its data key is destroyed, its answers, PDFs and search index rows deleted, and the notice
    marked shredded; the de-identified record (reference, agencies, stages, dates) stays for statistics.
    Each notice is one transaction, audited as "notice.shred".

    \b
    Database backups taken before this run can still be opened with the
    current KEK. To make them unreadable, rotate the KEK afterwards:
      keys rotate-kek; restart the workers; keys rewrap; keys retire-kek OLD_KEK_ID
    and keep key-directory backups for less time than database backups.
    """
    day = _parse_day(today)
    report = retention_service.shred_due(
        session_factory(current_app), _services().keyring, today=day, dry_run=dry_run, progress=click.echo
    )
    if dry_run:
        for due in report.due:
            click.echo(f"due: {due.reference} (retention ended {due.retain_until.isoformat()})")
        click.echo(f"Dry run for {day.isoformat()}: {len(report.due)} notices due; nothing was changed.")
    else:
        click.echo(f"Shredded {len(report.shredded)} notices in {report.seconds:.1f} s (as of {day.isoformat()}).")
    if report.held:
        click.echo(f"Kept by a legal hold although past retention: {', '.join(report.held)}")
    if report.shredded:
        click.echo(
            "Next: rotate the KEK so that database backups taken before now cannot be read "
            "(`keys rotate-kek`, restart the workers, `keys rewrap`, `keys retire-kek OLD_KEK_ID`)."
        )
    if report.failed:
        for reference, reason in sorted(report.failed.items()):
            click.echo(f"  {reference}: {reason}", err=True)
        raise click.ClickException(f"{len(report.failed)} notices could not be checked or shredded (listed above)")


@group.command("hold")
@click.argument("reference")
@click.option("--reason", required=True, help="The inquiry or proceedings (never the child's details).")
@click.option("--by", "by", required=True, help="Who authorised the hold.")
@with_appcontext
def hold_command(reference: str, reason: str, by: str) -> None:
    """Put notice REFERENCE on legal hold: it is never shredded while held."""
    with session_factory(current_app)() as db:
        try:
            retention_service.set_legal_hold(db, _services().keyring, reference, reason=reason, by=by)
        except retention_service.RetentionError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{reference} is on legal hold.")


@group.command("release")
@click.argument("reference")
@click.option("--by", "by", required=True, help="Who authorised the release.")
@with_appcontext
def release_command(reference: str, by: str) -> None:
    """Release notice REFERENCE from legal hold; its retention rule applies again at the next run."""
    with session_factory(current_app)() as db:
        try:
            retention_service.clear_legal_hold(db, _services().keyring, reference, by=by)
        except retention_service.RetentionError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{reference} is no longer on legal hold.")
