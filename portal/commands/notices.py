"""`flask --app portal notices …`: the procedure clocks' chaser, run by the mail worker or from cron."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.db import session_factory
from portal.services import stages
from portal.services.runtime import portal_services

group = click.Group("notices", help="Work on notices outside a request.")


@group.command("chase")
@with_appcontext
def chase_command() -> None:
    """Chase every overdue stage once per due date: the responder and the business unit are e-mailed."""
    with session_factory(current_app)() as db:
        chased = stages.chase_overdue(db, portal_services(current_app))
    click.echo(f"Chased {chased} overdue stage(s).")
