"""`flask --app portal notices …`: the procedure clocks' chaser, run by the mail worker or from cron."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.commands.runtime import require_services
from portal.services import chaser
from portal.web.database import session_factory

group = click.Group("notices", help="Work on notices outside a request.")


@group.command("chase")
@with_appcontext
def chase_command() -> None:
    """Chase every overdue stage once per overdue period: whoever owes the next move and the business unit."""
    with session_factory(current_app)() as db:
        chased = chaser.chase_overdue(db, require_services(), every=current_app.config["CHASE_EVERY_WORKING_DAYS"])
    click.echo(f"Chased {chased} overdue stage(s).")
