"""`flask --app portal notices …`: the procedure clocks' chaser and the PDF versions still to draw, both also done
by the mail worker as it runs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.commands.runtime import require_services
from portal.services import chaser, documents
from portal.web.database import session_factory

group = click.Group("notices", help="Work on notices outside a request.")


@group.command("chase")
@with_appcontext
def chase_command() -> None:
    """Chase every overdue stage once per overdue period: whoever owes the next move and the business unit."""
    with session_factory(current_app)() as db:
        chased = chaser.chase_overdue(db, require_services(), every=current_app.config["CHASE_EVERY_WORKING_DAYS"])
    click.echo(f"Chased {chased} overdue stage(s).")


@group.command("issue-pdfs")
@with_appcontext
def issue_pdfs_command() -> None:
    """Draw (render and sign) every PDF version still to draw; the mail worker does this as it runs."""
    services = require_services()
    total = 0
    with session_factory(current_app)() as db:
        while drawn := documents.issue_pending(db, services, limit=50):
            total += drawn
    click.echo(f"Drew {total} PDF version(s).")
