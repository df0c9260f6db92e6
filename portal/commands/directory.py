"""`flask --app portal directory …`: keep the SPOC directory current: add a contact, export the directory as CSV,
and import a CSV (previewed; applied with --apply only when every row is right), as the browser's directory
pages do (portal.web.views.directory)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.services import directory, directory_admin
from portal.services.errors import RuleBrokenError
from portal.web.database import session_factory
from portal.web.runtime import portal_services

group = click.Group("directory", help="Manage the SPOC directory that notices are routed through.")


@group.command("add-contact")
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. trafford.")
@click.option("--agency", required=True, help="The agency's name as the directory holds it.")
@click.option("--role", "role_title", required=True, help="The role or post, e.g. 'Safeguarding Lead'.")
@click.option("--email", required=True, help="The secure mailbox notices are announced to.")
@click.option("--telephone", default=None)
@with_appcontext
def add_contact_command(partnership_slug: str, agency: str, role_title: str, email: str, telephone: str | None) -> None:
    """Add or reactivate a contact (Trafford and Pan Cheshire publish no SPOC list)."""
    with session_factory(current_app)() as db:
        try:
            contact = directory.add_contact(
                db,
                partnership_slug=partnership_slug,
                agency_name=agency,
                role_title=role_title,
                email=email,
                telephone=telephone,
            )
        except directory.DirectoryError as problem:
            raise click.ClickException(str(problem)) from None
        db.commit()
        click.echo(f"Contact {contact.id} added: {agency}: {role_title}.")


@group.command("export")
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. rochdale.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-", help="File (default: stdout)."
)
@with_appcontext
def export_command(partnership_slug: str, output: str) -> None:
    """Write the partnership's active directory as CSV, in the format `directory import` reads."""
    services = portal_services(current_app)
    with session_factory(current_app)() as db:
        try:
            keeper = directory_admin.operator_for(db, partnership_slug)
        except RuleBrokenError as problem:
            raise click.ClickException(problem.message) from None
        _filename, data = directory_admin.export_csv(db, services, keeper, services.today(), remote_addr="cli")
    with click.open_file(output, "wb") as handle:
        handle.write(data)


@group.command("import")
@click.argument("csv_file", type=click.File("rb"))
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. rochdale.")
@click.option("--apply", "apply_changes", is_flag=True, help="Apply the changes (without it, only preview them).")
@with_appcontext
def import_command(csv_file, partnership_slug: str, apply_changes: bool) -> None:  # type: ignore[no-untyped-def]
    """Preview (or, with --apply, make) the changes a directory CSV brings: contacts added, changed and
    deactivated. Nothing is applied while any row is in error; the exit status is then 1."""
    services = portal_services(current_app)
    data = csv_file.read()
    with session_factory(current_app)() as db:
        try:
            keeper = directory_admin.operator_for(db, partnership_slug)
        except RuleBrokenError as problem:
            raise click.ClickException(problem.message) from None
        plan = directory_admin.plan_import(db, keeper, data, services.today())
        for error in plan.errors:
            click.echo(f"line {error.line}: {error.message}", err=True)
        for change in (*plan.added, *plan.changed, *plan.deactivated):
            detail = f" ({change.detail})" if change.detail else ""
            click.echo(f"{change.kind}: {change.agency}: {change.contact}{detail}")
        summary = (
            f"{len(plan.added)} to add, {len(plan.changed)} to change, {len(plan.deactivated)} to deactivate, "
            f"{plan.unchanged} unchanged"
        )
        if not plan.ok:
            raise click.ClickException(f"{len(plan.errors)} error(s): nothing applied ({summary} once corrected)")
        if not apply_changes:
            click.echo(f"Preview only: {summary}. Run again with --apply to make these changes.")
            return
        directory_admin.apply_import(db, services, keeper, data, plan.digest(), services.today(), remote_addr="cli")
        click.echo(f"Applied: {summary}.")
