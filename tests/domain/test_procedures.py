"""The five partnerships' procedure definitions, their clocks (docs/working-days.md) and the registry."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date

import pytest

from portal import partnerships
from portal.domain.partnership import AgencySpec
from portal.domain.procedure import (
    BUSINESS_UNIT,
    CLOSE_REQUIRES_ALL,
    EITHER_PARTY,
    LEAD_PROFESSIONAL_PROMPT,
    NO_DEADLINE,
    NOBODY,
    ON_CLOSE,
    ON_ENTER,
    ON_OVERDUE,
    ON_RESPONSE,
    RAISER_ONLY,
    RAISING_PRACTITIONER,
    RECIPIENT_SPOCS,
    TELEPHONE_CALL_PROMPT,
    TIER,
    AgreedDate,
    AgreedWithinWorkingDays,
    AudienceKind,
    DayWindow,
    DeadlineRuleError,
    NoDeadline,
    Notify,
    Procedure,
    ProcedureDefinitionError,
    Skip,
    Stage,
    UnknownStageError,
    WithinWorkingDays,
)
from portal.partnerships import (
    PARTNERSHIPS,
    PROCEDURES,
    UnknownProcedureError,
    current_procedure,
    notice_definition,
    procedure_for,
    register_procedure,
)
from portal.partnerships.directory_data import read_directory

SLUGS = ("rochdale", "pan-cheshire", "trafford", "bolton", "halton")


def names(slug: str) -> list[str]:
    return [s.name for s in current_procedure(slug).stages]


def directory(slug: str) -> list[AgencySpec]:
    return read_directory(PARTNERSHIPS[slug].directory)


# -- the registry and the partnerships ------------------------------------------------------------------


def test_every_partnership_has_its_current_procedure_under_its_version_string() -> None:
    for slug, spec in PARTNERSHIPS.items():
        procedure = current_procedure(slug)
        assert procedure.key == (slug, spec.procedure_version)
        assert procedure_for(slug, spec.procedure_version) is procedure
        assert procedure.legacy == spec.is_legacy
    assert set(PROCEDURES) == {(slug, spec.procedure_version) for slug, spec in PARTNERSHIPS.items()}


def test_a_built_form_is_raised_at_its_procedures_entry_stage() -> None:
    for slug, spec in PARTNERSHIPS.items():
        definition = notice_definition(spec.form_code)
        if definition is not None:
            assert definition.initial_stage == current_procedure(slug).entry_stage


def test_unknown_partnership_or_version_is_a_key_error_with_a_clear_message() -> None:
    with pytest.raises(KeyError) as unknown_slug:
        current_procedure("wigan")
    assert str(unknown_slug.value).startswith("no procedure is registered for partnership 'wigan'; registered: ")
    with pytest.raises(UnknownProcedureError) as unknown_version:
        procedure_for("halton", "halton-2024")
    assert str(unknown_version.value) == (
        "partnership 'halton' has no procedure version 'halton-2024'; registered versions: halton-2013-09"
    )
    with pytest.raises(UnknownStageError, match="has no stage 'stage-5'; its stages are stage-1, stage-2"):
        current_procedure("rochdale").stage("stage-5")


def test_the_immediate_risk_question_is_asked_on_entering_every_stage() -> None:
    for slug in SLUGS:
        assert all(s.ask_immediate_risk for s in current_procedure(slug).stages), slug


def test_every_procedure_ends_at_one_final_stage_nobody_escalates_from() -> None:
    for slug in SLUGS:
        procedure = current_procedure(slug)
        assert [s.final for s in procedure.stages] == [False] * (len(procedure.stages) - 1) + [True]
        assert procedure.next_stage(procedure.final_stage.code) is None
        assert not procedure.can_escalate(procedure.final_stage.code, "raiser")
        assert not procedure.can_escalate(procedure.final_stage.code, "recipient")
        assert procedure.entry.formal
        assert procedure.close_requires == CLOSE_REQUIRES_ALL


# -- Rochdale (seed 000) ----------------------------------------------------------------------------------


def test_rochdale_stages_are_numbered_as_the_seed_and_3_and_4_are_the_appendix_1_rows() -> None:
    rochdale = current_procedure("rochdale")
    assert names("rochdale") == ["Stage 1", "Stage 2", "Stage 3", "Stage 4"]
    assert [s.formal for s in rochdale.stages] == [False, False, True, True]
    assert rochdale.entry_stage == "stage-3"
    assert "Stage 3 row" in (rochdale.stage("stage-3").form_section or "")
    assert rochdale.stage("stage-3").form_required
    assert "Stage 4 row" in (rochdale.stage("stage-4").form_section or "")
    assert rochdale.skips == ()
    assert all(s.deadline == NO_DEADLINE for s in rochdale.stages)


def test_rochdale_prompts_a_telephone_call_to_gmp_named_as_the_directory_names_it() -> None:
    rochdale = current_procedure("rochdale")
    for code in ("stage-3", "stage-4"):
        (call,) = [n for n in rochdale.stage(code).notify if n.audience == TELEPHONE_CALL_PROMPT]
        assert call.when == ON_ENTER
        assert call.only_for_agency == "Greater Manchester Police"
        assert "telephone call" in call.note
        assert Notify(RECIPIENT_SPOCS, ON_ENTER) in rochdale.stage(code).notify
    agencies = {a.name: a for a in directory("rochdale")}
    assert "telephone call" in agencies["Greater Manchester Police"].sender_note


# -- Pan Cheshire (seed 001) ------------------------------------------------------------------------------

CONCERN = date(2025, 12, 1)  # Mon 1 Dec 2025, docs/working-days.md#worked-examples


def step_dates(procedure: Procedure, code: str) -> tuple[date, date | None]:
    rule = procedure.stage(code).deadline
    assert isinstance(rule, DayWindow)
    start_by = rule.start_by_date(concern_date=CONCERN)
    return start_by, procedure.due_date(code, stage_started=start_by, concern_date=CONCERN)


def test_pan_cheshire_steps_are_named_as_the_seed() -> None:
    assert names("pan-cheshire") == [
        "Step 1: Professionals resolving disagreements",
        "Step 2: Line Manager/Safeguarding Leads",
        "Step 3: Safeguarding Partnership representative",
        "Step 4: Statutory Partners",
    ]


def test_pan_cheshire_day_windows_in_working_days_from_a_concern_on_mon_1_dec_2025() -> None:
    pan = current_procedure("pan-cheshire")
    assert pan.count_working_days
    assert step_dates(pan, "step-2") == (date(2025, 12, 3), date(2025, 12, 11))
    assert step_dates(pan, "step-3") == (date(2025, 12, 11), date(2025, 12, 18))
    # Christmas and Boxing Day fall inside Step 4.
    assert step_dates(pan, "step-4") == (date(2025, 12, 22), date(2025, 12, 31))


def test_pan_cheshire_calendar_days_setting_changes_every_window() -> None:
    calendar_days = dataclasses.replace(current_procedure("pan-cheshire"), count_working_days=False)
    assert step_dates(calendar_days, "step-2") == (date(2025, 12, 3), date(2025, 12, 9))
    # Day 14 is kept on Sunday 14 Dec: moving it would change the partnership's timescale.
    assert step_dates(calendar_days, "step-3") == (date(2025, 12, 9), date(2025, 12, 14))
    assert step_dates(calendar_days, "step-4") == (date(2025, 12, 16), date(2025, 12, 21))
    # The setting is bound into each step's rule, so the stage's own rule agrees with the procedure.
    rule = calendar_days.stage("step-4").deadline
    assert rule.due_date(stage_started=CONCERN, concern_date=CONCERN) == date(2025, 12, 21)


def test_pan_cheshire_feeds_back_to_the_raising_practitioner_after_steps_2_and_3() -> None:
    pan = current_procedure("pan-cheshire")
    for code in ("step-2", "step-3"):
        assert Notify(RAISING_PRACTITIONER, ON_CLOSE) in pan.stage(code).notify
    assert not any(n.audience == RAISING_PRACTITIONER for n in pan.stage("step-1").notify)


def test_pan_cheshire_appendix_a_is_started_at_step_3_and_submitted_at_step_4_by_the_right_people() -> None:
    pan = current_procedure("pan-cheshire")
    step_3, step_4 = pan.stage("step-3"), pan.stage("step-4")
    assert pan.entry_stage == "step-3"
    assert (step_3.form_section, step_3.form_required) == ("Appendix A (started)", False)
    assert (step_4.form_section, step_4.form_required) == (
        "Appendix A (submitted to the Safeguarding Partnership)",
        True,
    )
    assert step_3.escalated_by is not None
    assert "senior manager" in step_3.escalated_by
    assert "Chair of Governors alongside the Head Teacher" in step_3.escalated_by
    assert Notify(BUSINESS_UNIT, ON_ENTER) in step_4.notify
    assert pan.skips == ()


# -- Trafford (seed 002) ----------------------------------------------------------------------------------

STAGE_START = date(2026, 3, 27)  # Fri 27 Mar 2026; Easter falls inside the next 10 working days


def test_trafford_stages_are_named_as_the_flow_chart() -> None:
    assert names("trafford") == [
        "Stage 1: Practitioner – Practitioner",
        "Stage 2: Line manager – Line manager",
        "Stage 3: Formal escalation",
        "Stage 4: Trafford Strategic Safeguarding Partnership",
    ]


def test_trafford_agreed_due_date_is_capped_at_10_working_days_at_every_stage() -> None:
    trafford = current_procedure("trafford")
    for stage in trafford.stages:
        rule = stage.deadline
        assert rule == AgreedWithinWorkingDays(10)
        kwargs = {"stage_started": STAGE_START, "concern_date": STAGE_START}
        assert rule.due_date(**kwargs) == date(2026, 4, 14)  # until agreed, the cap is the due date
        assert rule.due_date(**kwargs, agreed=date(2026, 4, 14)) == date(2026, 4, 14)
        assert rule.due_date(**kwargs, agreed=date(2026, 4, 1)) == date(2026, 4, 1)
        with pytest.raises(DeadlineRuleError) as refused:
            rule.due_date(**kwargs, agreed=date(2026, 4, 15))
        assert str(refused.value) == (
            "An agreed date must be within 10 working days of the stage starting: on or before Tue 14 April 2026"
        )


def test_trafford_check_agreed_refuses_past_the_cap_and_before_the_start() -> None:
    rule = current_procedure("trafford").stage("stage-3").deadline
    rule.check_agreed(stage_started=STAGE_START, agreed=date(2026, 4, 14))
    with pytest.raises(DeadlineRuleError, match=r"on or before Tue 14 April 2026$"):
        rule.check_agreed(stage_started=STAGE_START, agreed=date(2026, 4, 15))
    with pytest.raises(DeadlineRuleError, match=r"^An agreed date must not be before the stage started: on or after"):
        rule.check_agreed(stage_started=STAGE_START, agreed=date(2026, 3, 26))


def test_trafford_may_go_straight_to_stage_3_or_4_only_with_a_reason() -> None:
    trafford = current_procedure("trafford")
    for from_code, to_code in (("stage-1", "stage-3"), ("stage-1", "stage-4"), ("stage-2", "stage-4")):
        skip = trafford.allowed_skip(from_code, to_code)
        assert skip is not None
        assert skip.reason_required
        assert "Go straight to stage 3-4" in skip.note
    assert trafford.allowed_skip("stage-3", "stage-1") is None
    for slug in ("rochdale", "pan-cheshire", "bolton"):
        procedure = current_procedure(slug)
        assert procedure.allowed_skip(procedure.first_stage.code, procedure.final_stage.code) is None


def test_trafford_copies_the_notice_to_the_tssp_business_manager() -> None:
    trafford = current_procedure("trafford")
    stage_3 = trafford.stage("stage-3")
    assert stage_3.form_required
    assert Notify(BUSINESS_UNIT, ON_ENTER) in stage_3.notify
    assert any(n.audience == LEAD_PROFESSIONAL_PROMPT for n in trafford.stage("stage-1").notify)


# -- Bolton (seed 003) ------------------------------------------------------------------------------------


def test_bolton_stages_are_named_as_the_seed() -> None:
    assert names("bolton") == [
        "Prevention/Early Resolution",
        "Informal Resolution",
        "Formal Resolution",
        "Partnership Resolution",
    ]
    assert current_procedure("bolton").entry_stage == "formal-resolution"


def test_bolton_rpde_sent_thu_18_dec_2025_is_due_a_response_tue_6_jan_2026() -> None:
    bolton = current_procedure("bolton")
    sent = date(2025, 12, 18)
    assert bolton.stage("formal-resolution").deadline == WithinWorkingDays(10)
    assert bolton.due_date("formal-resolution", stage_started=sent, concern_date=date(2025, 11, 3)) == date(2026, 1, 6)
    with pytest.raises(DeadlineRuleError, match="set by the procedure"):
        bolton.due_date("formal-resolution", stage_started=sent, concern_date=sent, agreed=date(2026, 1, 2))


def test_bolton_informal_resolution_needs_an_agreed_timescale_without_a_cap() -> None:
    rule = current_procedure("bolton").stage("informal-resolution").deadline
    assert isinstance(rule, AgreedDate)
    start = date(2025, 12, 1)
    assert rule.due_date(stage_started=start, concern_date=start) is None
    assert rule.due_date(stage_started=start, concern_date=start, agreed=date(2026, 2, 27)) == date(2026, 2, 27)


def test_bolton_formal_resolution_notifies_agency_b_and_bscp_which_chases_when_overdue() -> None:
    notify = current_procedure("bolton").stage("formal-resolution").notify
    for expected in (
        Notify(RECIPIENT_SPOCS, ON_ENTER),
        Notify(BUSINESS_UNIT, ON_ENTER),
        Notify(RAISING_PRACTITIONER, ON_RESPONSE),
        Notify(BUSINESS_UNIT, ON_RESPONSE),
        Notify(BUSINESS_UNIT, ON_OVERDUE),
    ):
        assert expected in notify
    assert any(n.audience == LEAD_PROFESSIONAL_PROMPT for n in notify)


def test_bolton_partnership_resolution_is_final_and_either_agency_may_request_it() -> None:
    bolton = current_procedure("bolton")
    assert bolton.next_stage("formal-resolution") == bolton.stage("partnership-resolution")
    assert bolton.can_escalate("formal-resolution", "raiser")
    assert bolton.can_escalate("formal-resolution", "recipient")
    assert not bolton.can_escalate("informal-resolution", "recipient")
    partnership = bolton.stage("partnership-resolution")
    assert partnership.final
    assert partnership.may_escalate == NOBODY
    assert bolton.next_stage("partnership-resolution") is None
    with pytest.raises(ValueError, match="'raiser' or 'recipient'"):
        bolton.can_escalate("formal-resolution", "bscp")  # type: ignore[arg-type]


# -- Halton (seed 004) ------------------------------------------------------------------------------------

HALTON_TIERS = [
    "Manager/Named Professional Safeguarding",
    "Next Level Management",
    "HSCB Representative for Agency",
    "Multi-Agency Safeguarding Children's Unit Manager",
]


def test_halton_is_legacy_with_its_four_tiers_and_no_timers() -> None:
    halton = current_procedure("halton")
    assert halton.legacy
    assert names("halton") == ["Practitioner/case worker level", *HALTON_TIERS]
    assert all(isinstance(s.deadline, NoDeadline) for s in halton.stages)
    assert halton.final_stage.name == "Multi-Agency Safeguarding Children's Unit Manager"
    assert "HSCB Chair" in halton.final_stage.who_acts
    assert "same working day" in halton.immediate_risk


def test_halton_tier_notifications_match_the_directory_tiers() -> None:
    halton = current_procedure("halton")
    role_titles = [c.role_title for agency in directory("halton") for c in agency.contacts]
    for tier in HALTON_TIERS[:3]:
        stage = next(s for s in halton.stages if s.name == tier)
        assert stage.notify == (Notify(TIER(tier), ON_ENTER),)
        assert any(title.startswith(tier) for title in role_titles), tier
    assert halton.final_stage.notify == (Notify(BUSINESS_UNIT, ON_ENTER),)


def test_halton_may_pass_over_next_level_management_and_go_to_mascu_for_policy_issues() -> None:
    halton = current_procedure("halton")
    passing = halton.allowed_skip("manager-named-professional", "hscb-representative")
    assert passing is not None and not passing.reason_required
    policy = halton.allowed_skip("next-level-management", "mascu-manager")
    assert policy is not None and policy.reason_required


# -- a sixth partnership, defined only here ---------------------------------------------------------------


@pytest.fixture
def isolated_registry() -> Iterator[None]:
    """Restore the registry after a test registers its own procedures."""
    saved, saved_current = dict(PROCEDURES), dict(partnerships.CURRENT_VERSIONS)
    yield
    PROCEDURES.clear()
    PROCEDURES.update(saved)
    partnerships.CURRENT_VERSIONS.clear()
    partnerships.CURRENT_VERSIONS.update(saved_current)


def make_testshire(version: str = "testshire-2026", *, final_name: str = "Partnership panel") -> Procedure:
    return Procedure(
        partnership_slug="testshire",
        version=version,
        legacy=False,
        title="Testshire Escalation Procedure",
        stages=(
            Stage(
                code="managers",
                name="Managers",
                formal=True,
                who_acts="The raising practitioner's manager with their counterpart",
                form_section="Testshire notice",
                form_required=True,
                deadline=WithinWorkingDays(5),
                notify=(Notify(RECIPIENT_SPOCS, ON_ENTER), Notify(BUSINESS_UNIT, ON_OVERDUE)),
                final=False,
                may_escalate=EITHER_PARTY,
            ),
            Stage(
                code="panel",
                name=final_name,
                formal=True,
                who_acts="The partnership panel",
                form_section=None,
                deadline=NO_DEADLINE,
                notify=(Notify(BUSINESS_UNIT, ON_ENTER),),
                final=True,
                may_escalate=NOBODY,
            ),
        ),
        entry_stage="managers",
    )


@pytest.mark.usefixtures("isolated_registry")
def test_a_sixth_partnership_is_registered_and_looked_up_without_touching_the_portal() -> None:
    first = register_procedure(make_testshire())
    assert current_procedure("testshire") is first
    assert procedure_for("testshire", "testshire-2026") is first
    assert first.due_date("managers", stage_started=date(2025, 12, 18), concern_date=date(2025, 12, 18)) == date(
        2025, 12, 29
    )
    # A revision is a new version: notices opened under the first keep it.
    revised = register_procedure(make_testshire("testshire-2027", final_name="Independent panel"))
    assert current_procedure("testshire") is revised
    assert procedure_for("testshire", "testshire-2026").final_stage.name == "Partnership panel"
    # Registering the same definition again is harmless; changing a registered version is refused.
    register_procedure(make_testshire())
    with pytest.raises(ProcedureDefinitionError, match="give the revision a new version"):
        register_procedure(make_testshire(final_name="Changed panel"), current=False)


def test_the_sixth_partnership_is_gone_after_its_test() -> None:
    with pytest.raises(UnknownProcedureError):
        current_procedure("testshire")


# -- validation of malformed definitions ------------------------------------------------------------------


def stage(code: str, *, final: bool = False) -> Stage:
    return Stage(
        code=code,
        name=code.title(),
        formal=True,
        who_acts="Someone",
        form_section=None,
        deadline=NO_DEADLINE,
        notify=(),
        final=final,
        may_escalate=NOBODY if final else RAISER_ONLY,
    )


def procedure(*stages: Stage, entry: str = "one", skips: tuple[Skip, ...] = ()) -> Procedure:
    return Procedure(
        partnership_slug="testshire",
        version="testshire-bad",
        legacy=False,
        title="Malformed",
        stages=stages,
        entry_stage=entry,
        skips=skips,
    )


def test_two_final_stages_are_refused() -> None:
    with pytest.raises(ProcedureDefinitionError, match="exactly one stage must be final, found 2: one, two"):
        procedure(stage("one", final=True), stage("two", final=True))


def test_a_backwards_skip_is_refused() -> None:
    with pytest.raises(ProcedureDefinitionError, match="a skip must go forwards over at least one stage"):
        procedure(stage("one"), stage("two"), stage("three", final=True), skips=(Skip("three", "one", True),))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: procedure(stage("one"), stage("two")), "exactly one stage must be final, found 0"),
        (lambda: procedure(stage("one", final=True), stage("two")), "must be the last stage"),
        (lambda: procedure(stage("one"), stage("one", final=True)), "stage codes must be unique, repeated: one"),
        (lambda: procedure(stage("one"), stage("two", final=True), entry="three"), "entry stage 'three'"),
        (
            lambda: procedure(stage("one"), stage("two", final=True), skips=(Skip("one", "two", True),)),
            "a skip must go forwards over at least one stage",
        ),
        (
            lambda: procedure(stage("one"), stage("two", final=True), skips=(Skip("one", "nine", True),)),
            "a skip names 'nine'",
        ),
        (lambda: procedure(), "stages must be a non-empty tuple"),
        (lambda: stage("Stage 1"), "must be a lower-case slug"),
        (lambda: dataclasses.replace(stage("one", final=True), may_escalate=RAISER_ONLY), "nobody may escalate"),
        (lambda: DayWindow(start_by=9, conclude_by=3), "cannot conclude"),
        (lambda: TIER(""), "tier audience needs a tier name"),
        (lambda: Notify(BUSINESS_UNIT, ON_ENTER, only_for_agency="Police"), "not about a receiving agency"),
    ],
)
def test_malformed_definitions_are_refused(build: object, message: str) -> None:
    with pytest.raises(ProcedureDefinitionError, match=message):
        build()  # type: ignore[operator]


def test_a_day_window_outside_a_procedure_refuses_to_guess_working_or_calendar_days() -> None:
    with pytest.raises(ProcedureDefinitionError, match="count_working_days"):
        DayWindow(start_by=3, conclude_by=9).due_date(stage_started=CONCERN, concern_date=CONCERN)


def test_audiences_are_a_closed_set() -> None:
    assert {kind.value for kind in AudienceKind} == {
        "recipient-spocs",
        "business-unit",
        "raising-practitioner",
        "tier",
        "lead-professional-prompt",
        "telephone-call-prompt",
    }
    assert TELEPHONE_CALL_PROMPT.is_prompt and not RECIPIENT_SPOCS.is_prompt
