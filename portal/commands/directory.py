"""`flask --app portal directory …`: keep the SPOC directory current between imports of the directory CSVs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.services import directory
from portal.web.database import session_factory

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
