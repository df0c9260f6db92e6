"""portal.services.administration on its own: scoped to the administrator's partnership, refusing by name."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.domain.models import Agency, Role, User
from portal.services import administration
from portal.services.errors import NotPermittedError, RuleBrokenError, UserNotFoundError
from portal.web.database import session_factory
from portal.web.runtime import portal_services
from tests.helpers import Accounts


def test_only_an_active_administrator_may_list_users(app: Flask, accounts: Accounts) -> None:
    bm = accounts.make(Role.BUSINESS_MANAGER)
    admin = accounts.make(Role.ADMIN)
    with session_factory(app)() as db:
        with pytest.raises(NotPermittedError):
            administration.list_users(db, db.get(User, bm.id), administration.UserFilters())
        actor = db.get(User, admin.id)
        actor.is_active = False
        with pytest.raises(NotPermittedError):
            administration.list_users(db, actor, administration.UserFilters())


def test_filters_combine_and_stay_inside_the_partnership(app: Flask, accounts: Accounts) -> None:
    admin = accounts.make(Role.ADMIN, name="Ada")
    accounts.make(Role.SPOC, agency="Greater Manchester Police", name="Gill Police")
    accounts.make(Role.SPOC, agency="Rochdale Children's Social Care", name="Carl Care")
    accounts.make(Role.SPOC, partnership="bolton", name="Bolton Spoc")
    with session_factory(app)() as db:
        actor = db.get(User, admin.id)
        gmp = db.query(Agency).filter_by(partnership_id=actor.partnership_id, name="Greater Manchester Police").one()
        page = administration.list_users(db, actor, administration.UserFilters(role="spoc"))
        assert [r.name for r in page.rows] == ["Carl Care", "Gill Police"]
        page = administration.list_users(db, actor, administration.UserFilters(role="spoc", agency_id=gmp.id))
        assert [r.name for r in page.rows] == ["Gill Police"]
        # A page past the end shows the last page rather than nothing.
        page = administration.list_users(db, actor, administration.UserFilters(page=99))
        assert page.page == 1 and page.total == 3


def test_changes_to_another_partnerships_user_are_refused_as_not_found(app: Flask, accounts: Accounts) -> None:
    admin = accounts.make(Role.ADMIN)
    other = accounts.make(Role.PRACTITIONER, partnership="bolton")
    services = portal_services(app)
    with session_factory(app)() as db:
        actor = db.get(User, admin.id)
        for change in (
            administration.deactivate_user,
            administration.reactivate_user,
            administration.reset_two_factor,
        ):
            with pytest.raises(UserNotFoundError):
                change(db, services, actor, other.id)
        with pytest.raises(UserNotFoundError):
            administration.change_role(db, services, actor, other.id, role="spoc", agency_id=None)
    with session_factory(app)() as db:
        assert db.get(User, other.id).is_active


def test_an_agency_of_another_partnership_is_refused(app: Flask, accounts: Accounts) -> None:
    admin = accounts.make(Role.ADMIN)
    target = accounts.make(Role.PRACTITIONER)
    services = portal_services(app)
    with session_factory(app)() as db:
        bolton_agency = db.query(Agency).join(Agency.partnership).filter_by(slug="bolton").first()
        with pytest.raises(RuleBrokenError) as refused:
            administration.change_role(
                db, services, db.get(User, admin.id), target.id, role="practitioner", agency_id=bolton_agency.id
            )
        assert refused.value.field == "agency"
        with pytest.raises(RuleBrokenError):
            administration.change_role(db, services, db.get(User, admin.id), target.id, role="root", agency_id=None)


def test_reactivating_an_active_account_records_nothing(app: Flask, accounts: Accounts) -> None:
    admin = accounts.make(Role.ADMIN)
    target = accounts.make(Role.PRACTITIONER)
    with session_factory(app)() as db:
        actor = db.get(User, admin.id)
        assert administration.reactivate_user(db, portal_services(app), actor, target.id) is False
        history = administration.user_history(db, actor, db.get(User, target.id))
        assert history.total == 0
