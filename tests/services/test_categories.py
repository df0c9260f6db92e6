"""Categories and outcomes that reports count: stored as plain codes beside the encrypted answers."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from portal import partnerships
from portal.domain.categories import COMMON_LABELS, OUTCOMES, CodeList, CodeListError
from portal.domain.models import LearningItem, Notice, NoticeAnswer, NoticeCategory, Role
from portal.services import directory, raising, transitions
from portal.services.errors import RuleBrokenError
from tests.helpers import CANARY_NAME, CANARY_NARRATIVE, Accounts
from tests.services.builders import World

CSC = "Local authority children's social care"
CLOSURE = {
    "agreed_outcome": "The plan was reviewed",
    "written_confirmation": "Confirmed by e-mail",
    "impact_on_child": "The child's plan is back on track",
    "debrief": "yes",
    "learning": "Core group attendance needs a reminder to all agencies",
}


def trafford_answers(contact: int, **overrides: str) -> dict[str, str]:
    answers = {
        "completed_by_name": "Sam Nurse",
        "completed_by_role": "School Nurse",
        "completed_by_agency_team": "Health",
        "completed_by_email": "sam.nurse@nhs.test",
        "date_of_notification": "2026-03-27",
        "escalation_with": str(contact),
        "child_name": CANARY_NAME,
        "level_of_need": "child-in-need",
        "concern": "not-attending",
        "informal_stages_held": "both",
        "raise_at_stage": "stage-3",
        "problem": CANARY_NARRATIVE,
        "informal_challenge_evidence": "Met twice",
        "desired_outcome": "A review",
    }
    answers.update(overrides)
    return answers


def raise_trafford(world: World, accounts: Accounts, **overrides: str) -> tuple[str, object]:
    with world.session() as db:
        contact = directory.add_contact(
            db, partnership_slug="trafford", agency_name=CSC, role_title="Team Manager", email="spoc@trafford.test"
        )
        db.commit()
        contact_id = contact.id
    raiser = accounts.make(Role.PRACTITIONER, partnership="trafford", agency="Health")
    draft = world.draft(raiser)
    with world.session() as db:
        user = world.user(db, raiser)
        notice = raising.submit_notice(db, world.services, user, draft, trafford_answers(contact_id, **overrides))
        return notice.id, accounts.make(Role.BUSINESS_MANAGER, partnership="trafford")


def test_every_code_list_maps_each_code_to_a_common_theme_or_is_a_level() -> None:
    lists = {(spec.slug, cl.field): cl for spec in partnerships.REGISTRY for cl in spec.notice.code_lists}
    assert set(lists) == {
        ("trafford", "level_of_need"),
        ("trafford", "concern"),
        ("bolton", "reason"),
        ("bolton", "framework_level"),
        ("halton", "disagreement_area"),
    }
    assert lists[("bolton", "framework_level")].common is None
    for (slug, field), code_list in lists.items():
        notice = partnerships.spec_for(slug).notice
        # Asked on the form as a choice, with the same codes and labels.
        assert notice.choice_labels[field] == code_list.labels
        if code_list.common is not None:
            assert set(code_list.common.values()) <= set(COMMON_LABELS)
    assert lists[("bolton", "reason")].common_for("referral-criteria") == "referral-not-accepted"
    assert lists[("halton", "disagreement_area")].common_for("roles-and-responsibilities") == "roles-responsibilities"


def test_a_code_list_that_maps_only_some_codes_is_refused() -> None:
    with pytest.raises(CodeListError):
        CodeList("x", "X", (("a", "A"), ("b", "B")), common={"a": "other"})
    with pytest.raises(CodeListError):
        CodeList("x", "X", (("a", "A"),), common={"a": "no-such-theme"})


def test_raising_stores_the_codes_plain_and_closing_stores_the_outcome(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice_id, bm = raise_trafford(world, accounts)
    with world.session() as db:
        rows = db.execute(select(NoticeCategory).where(NoticeCategory.notice_id == notice_id)).scalars().all()
        assert {(r.list_field, r.code, r.common_code) for r in rows} == {
            ("level_of_need", "child-in-need", "plan-progress"),
            ("concern", "not-attending", "attendance-engagement"),
            # Each common theme once, for the regional count.
            ("theme:plan-progress", "plan-progress", "plan-progress"),
            ("theme:attendance-engagement", "attendance-engagement", "attendance-engagement"),
        }
        # The answers themselves stay encrypted: no plaintext code in the answer table.
        blobs = db.execute(select(NoticeAnswer.value_ct).where(NoticeAnswer.notice_id == notice_id)).scalars()
        assert not any(b"not-attending" in blob for blob in blobs)
        notice = db.get(Notice, notice_id)
        assert notice is not None and notice.opened_on == world.services.today()
        assert notice.outcome_code is None

    with world.session() as db:
        closed = transitions.close(
            db, world.services, world.user(db, bm), notice_id, closure=CLOSURE, outcome="decision-changed"
        )
        assert (closed.outcome_code, closed.debrief_held, closed.learning_flagged) == ("decision-changed", True, True)
        assert closed.closed_on == world.services.today()
        assert closed.stages[-1].ended_on == world.services.today()
        item = db.execute(select(LearningItem).where(LearningItem.notice_id == notice_id)).scalar_one()
        assert (item.status, item.partnership_id) == ("new", closed.partnership_id)


@pytest.mark.parametrize("outcome", [None, "", "made-up"])
def test_closing_without_a_known_outcome_is_refused(app: Flask, accounts: Accounts, outcome: str | None) -> None:
    world = World(app)
    notice_id, bm = raise_trafford(world, accounts)
    with world.session() as db, pytest.raises(RuleBrokenError) as refused:
        transitions.close(db, world.services, world.user(db, bm), notice_id, closure=CLOSURE, outcome=outcome)
    assert refused.value.field == "outcome_code"
    with world.session() as db:
        notice = db.get(Notice, notice_id)
        assert notice is not None and notice.is_open


def test_no_learning_and_no_debrief_open_no_learning_item(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice_id, bm = raise_trafford(world, accounts)
    closure = {**CLOSURE, "debrief": "no", "learning": "No general issues identified"}
    with world.session() as db:
        closed = transitions.close(
            db, world.services, world.user(db, bm), notice_id, closure=closure, outcome=OUTCOMES[0][0]
        )
        assert (closed.debrief_held, closed.learning_flagged) == (False, False)
        assert db.execute(select(LearningItem)).first() is None


def test_a_code_not_on_the_list_is_not_counted(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    notice_id, _ = raise_trafford(world, accounts, concern="")
    with world.session() as db:
        fields = db.execute(select(NoticeCategory.list_field).where(NoticeCategory.notice_id == notice_id)).scalars()
        assert sorted(fields) == ["level_of_need", "theme:plan-progress"]


def test_two_codes_mapping_to_one_theme_count_the_notice_once(app: Flask, accounts: Accounts) -> None:
    world = World(app)
    # Both map to "Thresholds and level of need".
    notice_id, _ = raise_trafford(world, accounts, level_of_need="referral-enquiry", concern="not-recognising-need")
    with world.session() as db:
        fields = db.execute(select(NoticeCategory.list_field).where(NoticeCategory.notice_id == notice_id)).scalars()
        assert sorted(fields) == ["concern", "level_of_need", "theme:thresholds"]
