"""`flask --app portal invitations …`: invite a SPOC, list pending invitations, resend or revoke one.

Invitations are also sent by the notices themselves, to directory contacts without an account
(portal.services.invitations). The operator running the command is the administrator: each change is audited
with no actor id and the remote address "cli".
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.commands.runtime import require_services
from portal.domain.dates import long_datetime
from portal.domain.models import Partnership
from portal.services import invitations
from portal.services.errors import NotFoundError, RuleBrokenError
from portal.web.database import session_factory

group = click.Group("invitations", help="Invite SPOCs; list, resend or revoke pending invitations.")


@group.command("send")
@click.option("--email", required=True)
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. rochdale.")
@click.option("--agency", required=True, help="Agency name from the directory.")
@with_appcontext
def send_command(email: str, partnership_slug: str, agency: str) -> None:
    """E-mail EMAIL an invitation to be a SPOC of the agency (the link works once)."""
    services = require_services()
    with session_factory()() as db:
        try:
            issued = invitations.invite(
                db,
                services,
                None,
                email=email,
                partnership_slug=partnership_slug,
                agency_name=agency,
                remote_addr="cli",
            )
        except RuleBrokenError as problem:
            raise click.ClickException(problem.message) from None
        click.echo(f"Invitation {issued.invitation.id} e-mailed to {issued.invitation.email}.")


@group.command("list")
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. rochdale.")
@with_appcontext
def list_command(partnership_slug: str) -> None:
    """The partnership's invitations not yet used, revoked or expired (id, address, agency, expiry)."""
    with session_factory()() as db:
        partnership = db.execute(select(Partnership).where(Partnership.slug == partnership_slug)).scalar_one_or_none()
        if partnership is None:
            raise click.ClickException(f"no partnership {partnership_slug!r}")
        for invitation in invitations.pending(db, partnership.id):
            click.echo(
                f"{invitation.id}  {invitation.email}  {invitation.agency.name}  "
                f"expires {long_datetime(invitation.expires_at)}"
            )


@group.command("resend")
@click.argument("invitation_id")
@with_appcontext
def resend_command(invitation_id: str) -> None:
    """Withdraw INVITATION_ID and e-mail a new link, bound the same way, to the same address."""
    services = require_services()
    with session_factory()() as db:
        try:
            issued = invitations.resend(db, services, None, invitation_id, remote_addr="cli")
        except NotFoundError:
            raise click.ClickException(f"no invitation {invitation_id}") from None
        except RuleBrokenError as problem:
            raise click.ClickException(problem.message) from None
        click.echo(f"Invitation {issued.invitation.id} e-mailed to {issued.invitation.email}.")


@group.command("revoke")
@click.argument("invitation_id")
@with_appcontext
def revoke_command(invitation_id: str) -> None:
    """Withdraw INVITATION_ID: its link stops working at once."""
    services = require_services()
    with session_factory()() as db:
        try:
            invitations.revoke(db, services, None, invitation_id, remote_addr="cli")
        except NotFoundError:
            raise click.ClickException(f"no invitation {invitation_id}") from None
        click.echo(f"Invitation {invitation_id} revoked.")
