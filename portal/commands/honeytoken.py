"""`flask --app portal honeytoken plant --partnership SLUG`: plant a bait notice (docs/threats.md#property-25)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.commands.runtime import require_services
from portal.services import honeytoken
from portal.web.database import session_factory

group = click.Group("honeytoken", help="Bait notices that raise an alarm when anyone reaches them.")


@group.command("plant")
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. rochdale.")
@with_appcontext
def plant_command(partnership_slug: str) -> None:
    """Plant one bait notice; restart the web workers so they watch for it."""
    with session_factory(current_app)() as db:
        notice_id = honeytoken.plant(db, require_services(), Path(current_app.config["KEY_DIR"]), partnership_slug)
    # The id goes to the key directory only; printing it would put it in shell history and logs.
    click.echo(
        f"Planted a bait notice under {partnership_slug}; its id is in the key directory. Restart the web workers."
    )
    del notice_id
