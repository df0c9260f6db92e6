"""`flask --app portal accounts …`: reset a user's 2FA or disable an account, ending all their sessions.

The operator running the command is the administrator: each change is audited with no actor id and the
remote address "cli" (like create-user), and the command prints what it did.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.commands.runtime import require_services
from portal.services import accounts
from portal.web.database import session_factory

group = click.Group("accounts", help="Reset 2FA or disable staff accounts (ends all their sessions).")


def _services():  # type: ignore[no-untyped-def]
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
            raise click.ClickException(f"no user with e-mail {accounts.normalise_email(email)}")
        ended = accounts.reset_totp(db, services, None, user, remote_addr="cli")
        click.echo(
            f"Reset 2FA for {user.email}: ended {ended} session(s). "
            "They will set up a new authenticator app the next time they sign in with their password."
        )


@group.command("disable")
@click.argument("email")
@with_appcontext
def disable_command(email: str) -> None:
    """Disable EMAIL's account: they cannot sign in, and every session they have ends now."""
    services = _services()
    with session_factory()() as db:
        user = accounts.find_user_by_email(db, email)
        if user is None:
            raise click.ClickException(f"no user with e-mail {accounts.normalise_email(email)}")
        already = not user.is_active
        ended = accounts.disable_user(db, services, None, user, remote_addr="cli")
        state = "was already disabled" if already else "is now disabled"
        click.echo(f"{user.email} {state}: ended {ended} session(s).")
