"""The command line keeps parity with the administration pages: list users, deactivate and reactivate, and
export and import a directory (previewed; applied only with --apply and only when every row is right)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from portal.domain.models import (
    Agency,
    AuditEvent,
    DirectoryContact,
    Invitation,
    OutboxMessage,
    Partnership,
    Role,
    User,
)
from portal.web.database import session_factory
from tests.helpers import Accounts


def _active_rochdale(app: Flask) -> set[tuple[str, str]]:
    with session_factory(app)() as db:
        return {
            (agency, role)
            for agency, role in db.execute(
                select(Agency.name, DirectoryContact.role_title)
                .join(Agency)
                .join(Partnership)
                .where(Partnership.slug == "rochdale", DirectoryContact.active.is_(True))
            ).all()
        }


def test_accounts_list_filters_and_prints_one_user_a_line(app: Flask, accounts: Accounts) -> None:
    accounts.make(Role.SPOC, name="Sam Spoc", email="sam@rochdale.test")
    accounts.make(Role.PRACTITIONER, name="Pat Prac", email="pat@rochdale.test")
    accounts.make(Role.SPOC, partnership="bolton", name="Bo Spoc", email="bo@bolton.test")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "list", "--partnership", "rochdale"])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[0] for line in lines] == ["pat@rochdale.test", "sam@rochdale.test"]
    assert lines[1][2:4] == ["spoc", "rochdale"] and lines[1][5:] == ["active", "no-2fa", "never"]
    result = runner.invoke(args=["accounts", "list", "--role", "spoc"])
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["bo@bolton.test", "sam@rochdale.test"]
    result = runner.invoke(args=["accounts", "list", "--partnership", "nowhere"])
    assert result.exit_code != 0 and "no partnership 'nowhere'" in result.output


def test_accounts_deactivate_and_reactivate(app: Flask, accounts: Accounts) -> None:
    target = accounts.make(Role.PRACTITIONER, email="leaver@rochdale.test")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["accounts", "deactivate", "LEAVER@rochdale.test"])
    assert result.exit_code == 0 and "is now disabled" in result.output
    listed = runner.invoke(args=["accounts", "list", "--inactive"])
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["leaver@rochdale.test"]
    result = runner.invoke(args=["accounts", "reactivate", "leaver@rochdale.test"])
    assert result.exit_code == 0 and "is active again" in result.output
    with session_factory(app)() as db:
        assert db.get(User, target.id).is_active
        actions = [
            tuple(r)
            for r in db.execute(
                select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.remote_addr).where(
                    AuditEvent.object_type == "staff_user", AuditEvent.object_id == str(target.id)
                )
            ).all()
        ]
    assert actions == [("admin.user_disabled", None, "cli"), ("admin.user_reactivated", None, "cli")]


def test_directory_export_then_import_previews_and_applies(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    exported = tmp_path / "rochdale.csv"
    result = runner.invoke(args=["directory", "export", "--partnership", "rochdale", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    assert {(r["agency"], r["role"]) for r in rows if r["role"]} == _active_rochdale(app)

    result = runner.invoke(args=["directory", "import", str(exported), "--partnership", "rochdale"])
    assert result.exit_code == 0 and "0 to add, 0 to change, 0 to deactivate" in result.output

    before = _active_rochdale(app)
    gone = rows.pop(1)
    bad = {**rows[0], "role": "Broken", "email": "broken"}
    rows.insert(1, bad)
    edited = tmp_path / "edited.csv"
    with edited.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(args=["directory", "import", str(edited), "--partnership", "rochdale", "--apply"])
    assert result.exit_code == 1
    assert "line 3: Email address 'broken' is not in the correct format" in result.output
    assert "nothing applied" in result.output
    assert _active_rochdale(app) == before

    rows.remove(bad)
    with edited.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    preview = runner.invoke(args=["directory", "import", str(edited), "--partnership", "rochdale"])
    assert f"deactivated: {gone['agency']}: {gone['role']}" in preview.output
    assert _active_rochdale(app) == before
    applied = runner.invoke(args=["directory", "import", str(edited), "--partnership", "rochdale", "--apply"])
    assert applied.exit_code == 0 and "Applied: 0 to add, 0 to change, 1 to deactivate" in applied.output
    assert _active_rochdale(app) == before - {(gone["agency"], gone["role"])}


def test_accounts_invite_and_send_password_reset_queue_their_mail(app: Flask, accounts: Accounts) -> None:
    accounts.make(Role.PRACTITIONER, email="known@rochdale.test")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "accounts",
            "invite",
            "New.Spoc@rochdale.test",
            "--partnership",
            "rochdale",
            "--agency",
            "greater manchester police",
        ]
    )
    assert result.exit_code == 0, result.output
    refused = runner.invoke(
        args=[
            "accounts",
            "invite",
            "known@rochdale.test",
            "--partnership",
            "rochdale",
            "--agency",
            "Greater Manchester Police",
        ]
    )
    assert refused.exit_code != 0 and "An account already exists" in refused.output
    result = runner.invoke(args=["accounts", "send-password-reset", "known@rochdale.test"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["accounts", "send-password-reset", "nobody@rochdale.test"]).exit_code != 0
    with session_factory(app)() as db:
        invitation = db.execute(select(Invitation)).scalar_one()
        assert (invitation.email, invitation.agency.name) == ("new.spoc@rochdale.test", "Greater Manchester Police")
        bodies = {m.to_address: m.body_text for m in db.execute(select(OutboxMessage)).scalars()}
    assert "/invitation/" in bodies["new.spoc@rochdale.test"]
    assert "/sign-in/reset/" in bodies["known@rochdale.test"]
