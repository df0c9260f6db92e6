"""`flask --app portal accounts …`: list users; reset a user's 2FA or deactivate an account, ending all their
sessions (the browser's administration pages do the same: portal.web.views.admin).

The operator running the command is the administrator: each change is audited with no actor id and the
remote address "cli" (like create-user), and the command prints what it did.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.commands.runtime import require_services
from portal.domain.dates import long_datetime
from portal.domain.models import Partnership, Role, User, normalise_email
from portal.services import accounts, administration, recovery
from portal.services.errors import RuleBrokenError
from portal.services.runtime import PortalServices
from portal.web.database import session_factory

group = click.Group("accounts", help="List staff accounts; reset 2FA or deactivate them (ends all their sessions).")


def _services() -> PortalServices:
    services = require_services()
    if services is None:
        raise click.ClickException("keys are not set up; run `flask --app portal init` first")
    return services


@group.command("reset-2fa")
@click.argument("email")
@with_appcontext
def reset_2fa_command(email: str) -> None:
    """Clear EMAIL's authenticator secret: they set up a new one at their next sign-in."""
    services = _services()
    with session_factory()() as db:
        user = accounts.find_user_by_email(db, email)
        if user is None:
            raise click.ClickException(f"no user with e-mail {normalise_email(email)}")
        ended = accounts.reset_totp(db, services, None, user, remote_addr="cli")
        click.echo(
            f"Reset 2FA for {user.email}: ended {ended} session(s). "
            "They will set up a new authenticator app the next time they sign in with their password."
        )


@group.command("list")
@click.option("--partnership", "partnership_slug", default=None, help="Only this partnership (slug, e.g. rochdale).")
@click.option("--search", default="", help="Part of a name or e-mail address.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=None)
@click.option("--inactive", is_flag=True, help="Only deactivated accounts.")
@click.option("--no-2fa", "no_2fa", is_flag=True, help="Only accounts with no authenticator set up.")
@with_appcontext
def list_command(partnership_slug: str | None, search: str, role: str | None, inactive: bool, no_2fa: bool) -> None:
    """List staff accounts, one a line, tab-separated: e-mail, name, role, partnership, agency, state, last sign-in."""
    filters = administration.UserFilters(
        search=search, role=role or "", active="no" if inactive else "", two_factor="no" if no_2fa else ""
    )
    with session_factory()() as db:
        try:
            rows = administration.all_users(db, partnership_slug, filters)
        except RuleBrokenError as problem:
            raise click.ClickException(problem.message) from None
        partnerships = dict(db.execute(select(User.id, Partnership.slug).join(Partnership)).all())
    for row in rows:
        state = "active" if row.active else "deactivated"
        two_factor = "2fa" if row.two_factor else "no-2fa"
        last = long_datetime(row.last_sign_in) if row.last_sign_in else "never"
        click.echo(
            "\t".join(
                [row.email, row.name, row.role.value, partnerships[row.id], row.agency or "-", state, two_factor, last]
            )
        )
    click.echo(f"{len(rows)} user(s)", err=True)


@group.command("disable")
@click.argument("email")
@with_appcontext
def disable_command(email: str) -> None:
    """Deactivate EMAIL's account (also `accounts deactivate`): they cannot sign in; their sessions end now."""
    services = _services()
    with session_factory()() as db:
        user = accounts.find_user_by_email(db, email)
        if user is None:
            raise click.ClickException(f"no user with e-mail {normalise_email(email)}")
        already = not user.is_active
        ended = accounts.disable_user(db, services, None, user, remote_addr="cli")
        state = "was already disabled" if already else "is now disabled"
        click.echo(f"{user.email} {state}: ended {ended} session(s).")


group.add_command(disable_command, "deactivate")


@group.command("reactivate")
@click.argument("email")
@with_appcontext
def reactivate_command(email: str) -> None:
    """Let EMAIL sign in again with the password and authenticator they had."""
    services = _services()
    with session_factory()() as db:
        user = accounts.find_user_by_email(db, email)
        if user is None:
            raise click.ClickException(f"no user with e-mail {normalise_email(email)}")
        done = accounts.reactivate_user(db, services, None, user, remote_addr="cli")
        click.echo(f"{user.email} {'is active again' if done else 'was already active'}.")


@group.command("invite")
@click.argument("email")
@click.option("--partnership", "partnership_slug", required=True, help="Partnership slug, e.g. rochdale.")
@click.option("--agency", "agency_name", required=True, help="The agency's name as the directory holds it.")
@with_appcontext
def invite_command(email: str, partnership_slug: str, agency_name: str) -> None:
    """E-mail EMAIL an invitation to set up an account as a SPOC of the agency (single use; it expires)."""
    services = _services()
    with session_factory()() as db:
        try:
            issued = administration.invite(
                db,
                services,
                partnership_slug=partnership_slug,
                agency_name=agency_name,
                email=email,
                remote_addr="cli",
            )
        except RuleBrokenError as problem:
            raise click.ClickException(problem.message) from None
        click.echo(f"Invitation {issued.invitation.id} queued for {issued.invitation.email}.")


@group.command("send-password-reset")
@click.argument("email")
@with_appcontext
def send_password_reset_command(email: str) -> None:
    """E-mail EMAIL a single-use link to choose a new password (their authenticator is still asked for)."""
    services = _services()
    with session_factory()() as db:
        user = accounts.find_user_by_email(db, email)
        if user is None or not user.is_active:
            raise click.ClickException(f"no active account with e-mail {normalise_email(email)}")
        recovery.request_password_reset(db, services, user.email, remote_addr="cli")
        click.echo(f"A password reset link is queued for {user.email}.")
