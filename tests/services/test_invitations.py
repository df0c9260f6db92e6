"""portal.services.invitations and portal.services.recovery called directly: tokens, binding, expiry, single use,
administrators' resend and revoke, and the password reset's single use."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from portal.commands import setup
from portal.domain.models import (
    Agency,
    DirectoryContact,
    Invitation,
    OutboxMessage,
    Partnership,
    PasswordReset,
    Role,
    User,
    WebSession,
    utcnow,
)
from portal.partnerships.halton.procedure import MANAGER_TIER
from portal.services import invitations, recovery
from portal.services.errors import NotFoundError, RuleBrokenError
from tests.helpers import Accounts, contact_id
from tests.services.builders import RAISING, TARGET, World

PASSWORD = "quiet meadow copper lantern"


def _issue(world: World, agency: str = TARGET, partnership: str = "rochdale") -> invitations.Issued:
    with world.session() as db:
        contact = db.get(DirectoryContact, contact_id(world.app, agency, partnership))
        issued = invitations.issue(
            db,
            world.services,
            email=contact.email,
            partnership_id=contact.agency.partnership_id,
            agency_id=contact.agency_id,
            contact_id=contact.id,
        )
        db.commit()
        db.refresh(issued.invitation)
        db.expunge(issued.invitation)
        return issued


def test_invitation_tokens_are_random_and_stored_only_as_a_hash(app: Flask) -> None:
    world = World(app)
    tokens = [_issue(world).token for _ in range(200)]
    assert len(set(tokens)) == 200
    # 43 URL-safe base64 characters: 256 bits from secrets.token_urlsafe(32).
    assert {len(t) for t in tokens} == {43}
    assert invitations.TOKEN_BYTES * 8 >= 128
    # Character frequencies look uniform over the 64 symbols (a crude check that nothing is constant).
    counts = Counter("".join(t[:42] for t in tokens))
    assert len(counts) == 64
    chi2 = sum((c - len(tokens) * 42 / 64) ** 2 / (len(tokens) * 42 / 64) for c in counts.values())
    assert chi2 < 63 + 6 * math.sqrt(2 * 63)
    with world.session() as db:
        stored = db.scalars(select(Invitation.token_hash)).all()
    assert set(stored) == {invitations.hash_token(t) for t in tokens}
    assert not set(stored) & set(tokens)


def test_an_invitation_is_bound_to_its_address_partnership_agency_and_tier(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    issued = _issue(world)
    with world.session() as db:
        user = invitations.accept(db, world.services, issued.token, name="  Robin   Newcomer ", password=PASSWORD)
        assert user.email == issued.invitation.email
        assert user.role == Role.SPOC.value and user.agency.name == TARGET and user.partnership.slug == "rochdale"
        assert user.name == "Robin Newcomer"
        # No authenticator yet: the user makes their own secret at set-up.
        assert user.totp_secret_ct is None and user.totp_confirmed_at is None
        assert invitations.made_account(db, user.id)

    # Halton routes by tier: its invitation records the contact's tier.
    with world.session() as db:
        contact = db.scalars(
            select(DirectoryContact)
            .join(Agency)
            .join(Partnership)
            .where(Partnership.slug == "halton", DirectoryContact.role_title.startswith(MANAGER_TIER))
        ).first()
        halton = db.scalars(select(Partnership).where(Partnership.slug == "halton")).one()
        assert invitations.contact_tier("halton", halton.procedure_version, contact) == MANAGER_TIER
        rochdale_contact = db.get(DirectoryContact, contact_id(app, TARGET))
        rochdale = db.scalars(select(Partnership).where(Partnership.slug == "rochdale")).one()
        assert invitations.contact_tier("rochdale", rochdale.procedure_version, rochdale_contact) is None


def test_an_invitation_is_used_once(app: Flask) -> None:
    world = World(app)
    issued = _issue(world)
    second = _issue(world)  # a second e-mail to the same address
    with world.session() as db:
        invitations.accept(db, world.services, issued.token, name="Robin", password=PASSWORD)
    for token in (issued.token, second.token):
        with world.session() as db, pytest.raises(invitations.InvitationUnusableError) as refused:
            invitations.accept(db, world.services, token, name="Robin", password=PASSWORD)
        assert refused.value.state is invitations.State.USED
    with world.session() as db:
        assert db.scalar(select(func.count()).select_from(User).where(User.email == issued.invitation.email)) == 1


def test_an_invitation_expires_after_the_configured_days(app: Flask) -> None:
    world = World(app)
    world.services.invitation_days = 3
    issued = _issue(world)
    assert issued.invitation.expires_at - issued.invitation.created_at == timedelta(days=3)
    with world.session() as db:
        db.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
        assert invitations.check(db, issued.token).state is invitations.State.EXPIRED
        with pytest.raises(invitations.InvitationUnusableError):
            invitations.accept(db, world.services, issued.token, name="Robin", password=PASSWORD)


def test_a_mistyped_token_and_a_weak_password_are_refused(app: Flask) -> None:
    world = World(app)
    issued = _issue(world)
    with world.session() as db:
        mistyped = ("B" if issued.token[0] == "A" else "A") + issued.token[1:]
        assert invitations.check(db, mistyped).state is invitations.State.UNKNOWN
        assert invitations.check(db, "x" * 5000).state is invitations.State.UNKNOWN
        with pytest.raises(RuleBrokenError) as weak:
            invitations.accept(db, world.services, issued.token, name="Robin", password="password1234")
        assert weak.value.field == "password"
        with pytest.raises(RuleBrokenError):
            invitations.accept(db, world.services, issued.token, name="   ", password=PASSWORD)
        # Refusals do not use it up.
        assert invitations.check(db, issued.token).state is invitations.State.VALID


def test_administrators_of_the_partnership_resend_and_revoke(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    admin = accounts.make(Role.ADMIN)
    bolton_admin = accounts.make(Role.ADMIN, partnership="bolton")
    practitioner = accounts.make(Role.PRACTITIONER, agency=RAISING)
    issued = _issue(world)
    with world.session() as db:
        for outsider in (bolton_admin, practitioner):
            with pytest.raises(NotFoundError):
                invitations.revoke(db, world.services, outsider.id, issued.invitation.id)
        assert [i.id for i in invitations.pending(db, issued.invitation.partnership_id)] == [issued.invitation.id]
        fresh = invitations.resend(db, world.services, admin.id, issued.invitation.id)
        assert invitations.check(db, issued.token).state is invitations.State.REVOKED
        assert invitations.check(db, fresh.token).state is invitations.State.VALID
        mail = db.scalars(select(OutboxMessage)).one()
        assert mail.to_address == issued.invitation.email and fresh.link in mail.body_text
        invitations.revoke(db, world.services, admin.id, fresh.invitation.id)
        assert invitations.check(db, fresh.token).state is invitations.State.REVOKED
        # A revoked link's page offers no fresh link by itself: only an administrator sends one.
        invitations.request_fresh_link(db, world.services, fresh.token)
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_fresh_links_are_throttled_per_address(app: Flask) -> None:
    world = World(app)
    issued = _issue(world)
    with world.session() as db:
        db.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
        for _ in range(invitations.FRESH_LINK_LIMIT + 2):
            invitations.request_fresh_link(db, world.services, issued.token, remote_addr="198.51.100.9")
        sent = db.scalar(select(func.count()).select_from(OutboxMessage))
    assert sent == invitations.FRESH_LINK_LIMIT


def test_a_password_reset_link_is_used_once_and_ends_every_session(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    account = accounts.make(Role.SPOC)
    with world.session() as db:
        db.add(WebSession(id="a" * 64, user_id=account.id, data={}))
        db.commit()
        recovery.request_password_reset(db, world.services, account.email.upper())
        body = db.scalars(select(OutboxMessage.body_text)).one()
        token = body.split("/sign-in/reset/")[1].split()[0]
        assert recovery.reset_link_usable(db, token)
        user = recovery.reset_password(db, world.services, token, PASSWORD)
        assert world.services.passwords.verify(user.password_hash, PASSWORD)
        assert db.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == account.id)) == 0
        with pytest.raises(recovery.ResetLinkUnusableError):
            recovery.reset_password(db, world.services, token, "another long passphrase")
        assert db.scalars(select(PasswordReset.used_at)).one() is not None


def test_the_command_line_invites_lists_resends_and_revokes(app: Flask) -> None:
    runner = app.test_cli_runner()
    sent = runner.invoke(
        args=["invitations", "send", "--email", "New.Spoc@Example.org", "--partnership", "rochdale", "--agency", TARGET]
    )
    assert sent.exit_code == 0, sent.output
    world = World(app)
    with world.session() as db:
        invitation = db.scalars(select(Invitation)).one()
        assert (invitation.email, invitation.agency.name) == ("new.spoc@example.org", TARGET)
        assert db.scalars(select(OutboxMessage.to_address)).one() == "new.spoc@example.org"
    listed = runner.invoke(args=["invitations", "list", "--partnership", "rochdale"])
    assert invitation.id in listed.output and "new.spoc@example.org" in listed.output
    resent = runner.invoke(args=["invitations", "resend", invitation.id])
    assert resent.exit_code == 0, resent.output
    with world.session() as db:
        newest = invitations.pending(db, invitation.partnership_id)[0]
    assert newest.id != invitation.id
    revoked = runner.invoke(args=["invitations", "revoke", newest.id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    with world.session() as db:
        assert invitations.pending(db, invitation.partnership_id) == []
    wrong = runner.invoke(
        args=["invitations", "send", "--email", "x@example.org", "--partnership", "rochdale", "--agency", "Nowhere"]
    )
    assert wrong.exit_code == 1 and "There is no agency" in wrong.output


def test_the_demo_leaves_an_invitation_in_the_development_mailbox(app: Flask) -> None:
    world = World(app)
    with app.app_context(), world.session() as db:
        setup._create_demo_users(app, db)
    with world.session() as db:
        mail = db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == setup.DEMO_INVITEE)).one()
        assert "/invitation/" in mail.body_text
        invitation = db.scalars(select(Invitation).where(Invitation.email == setup.DEMO_INVITEE)).one()
        assert invitation.agency.name == setup.DEMO_AGENCIES["rochdale"][1]
