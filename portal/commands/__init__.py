"""The command line under `flask --app portal`: setting up and running the portal, and one group per area."""

from __future__ import annotations

from flask import Flask

from portal.commands import accounts, audit, directory, honeytoken, invitations, keys, notices, retention, setup


def init_app(app: Flask) -> None:
    """Add every command to the app's command line."""
    for command in setup.COMMANDS:
        app.cli.add_command(command)
    for module in (audit, keys, accounts, directory, honeytoken, notices, retention, invitations):
        app.cli.add_command(module.group)
