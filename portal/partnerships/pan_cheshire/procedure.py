"""Pan Cheshire: "Procedure for Multi-agency Professional Challenge and Escalation" (seed 001).

Citations are ``[001:line]`` in the seed file; PROPOSAL marks readings the seed does not state (✱ or
[inferred]; docs/procedures.md#conventions). Steps are timed as "Day N" from the day the concern arises
(Day 1); working or calendar days is the ``count_working_days`` setting, working by default because
Step 1 is "within one working day" (our reading, docs/working-days.md#day-n).
"""

from __future__ import annotations

from portal.domain.procedure import (
    BUSINESS_UNIT,
    EITHER_PARTY,
    NOBODY,
    ON_CLOSE,
    ON_ENTER,
    RAISING_PRACTITIONER,
    RECIPIENT_SPOCS,
    DayWindow,
    Notify,
    Procedure,
    Stage,
)

# [001:65], [001:75] "The outcome of the challenge should also be fed back to the practitioner who raised
# the concern": at the end of Steps 2 and 3, whether resolved there or escalated.
_FEEDBACK = Notify(RAISING_PRACTITIONER, ON_CLOSE)

PROCEDURE = Procedure(
    partnership_slug="pan-cheshire",
    version="pan-cheshire-undated",  # the seed carries no date
    legacy=False,
    title="Pan Cheshire Procedure for Multi-agency Professional Challenge and Escalation",  # [001:9]
    stages=(
        Stage(
            code="step-1",
            name="Step 1: Professionals resolving disagreements",  # [001:19], [001:57]
            formal=False,  # [001:59] resolved here, the partnership need not be told
            who_acts="The worker raises the issue with the other agency",  # [001:61], [001:105]
            form_section=None,  # [001:61] recorded within each agency on the child's record
            # [001:61] "within one working day" (Day 1). PROPOSAL: concluded by Day 3, when Step 2 must
            # have started; the seed gives Step 1 no end.
            deadline=DayWindow(start_by=1, conclude_by=3),
            notify=(),
            final=False,
            # [001:107] "professionals must escalate the issue to their line manager": either side.
            may_escalate=EITHER_PARTY,
            recipients_from="The worker in the other agency",
        ),
        Stage(
            code="step-2",
            name="Step 2: Line Manager/Safeguarding Leads",  # [001:21], [001:63]
            formal=False,
            # [001:101]; [001:71] in the Third Sector the lead may be the worker who raised it.
            who_acts=(
                "The line manager or named/designated safeguarding lead discusses the concerns with their "
                "opposite manager in the other agency"
            ),
            form_section=None,  # [001:65] recorded, available to the partnership on request
            deadline=DayWindow(start_by=3, conclude_by=9),  # [001:21], [001:67]
            notify=(_FEEDBACK,),  # [001:65]
            final=False,
            # [001:101] "the professionals must notify their senior manager": either side.
            may_escalate=EITHER_PARTY,
            # [001:69] details from the local Safeguarding Partnership manager.
            recipients_from="The opposite manager or safeguarding lead in the other agency",
        ),
        Stage(
            code="step-3",
            name="Step 3: Safeguarding Partnership representative",  # [001:23], [001:73]
            # PROPOSAL: the seed has no formal/informal split; Appendix A is started here [inferred].
            formal=True,
            who_acts=(
                "The Safeguarding Partnership representative seeks resolution with their equivalent "
                "and may request a meeting with the involved parties"  # [001:75], [001:95]
            ),
            # docs/procedures.md#rule-7: only these may raise Step 3 [001:75].
            escalated_by=(
                "A senior manager (or in the case of schools, the Chair of Governors alongside the Head Teacher)"
            ),
            # PROPOSAL [inferred, docs/procedures.md#pan-cheshire-appendix-a]: Halton's page offers Appendix A
            # "for ... Step 3" while the seed uses it at Step 4 [001:83]; so it is started here and submitted at
            # Step 4.
            form_section="Appendix A (started)",
            form_required=False,
            deadline=DayWindow(start_by=9, conclude_by=14),  # [001:23], [001:77]
            notify=(
                # PROPOSAL: the other agency's representative, routed through the directory.
                Notify(RECIPIENT_SPOCS, ON_ENTER),
                _FEEDBACK,  # [001:75]
            ),
            final=False,
            # [001:97] "the issue should be brought to the Safeguarding Partnership Manager": either side.
            may_escalate=EITHER_PARTY,
            # [001:79] details from the local Safeguarding Partnership manager.
            recipients_from="The Safeguarding Partnership representative of each agency",
        ),
        Stage(
            code="step-4",
            name="Step 4: Statutory Partners",  # [001:25], [001:81]
            formal=True,
            who_acts=(
                "The Statutory Partners of the local Safeguarding Partnership request written representation, "
                "may call a meeting, and make a recommendation"  # [001:83], [001:91]
            ),
            escalated_by="Brought to the Safeguarding Partnership Manager",  # [001:97]; docs/procedures.md#rule-7
            # [001:83] "The form included as Appendix A should be used for submitting the appropriate
            # information to the Safeguarding Partnership"; docs/procedures.md#rule-5: required at Step 4.
            form_section="Appendix A (submitted to the Safeguarding Partnership)",
            form_required=True,
            deadline=DayWindow(start_by=16, conclude_by=21),  # [001:25], [001:85]
            notify=(
                Notify(BUSINESS_UNIT, ON_ENTER),  # [001:97] the Safeguarding Partnership Manager
                # PROPOSAL [docs/procedures.md#pan-cheshire-appendix-a]: the recommendation goes back to both
                # parties and the practitioner who raised the concern.
                Notify(RECIPIENT_SPOCS, ON_CLOSE),
                Notify(RAISING_PRACTITIONER, ON_CLOSE),
            ),
            final=True,  # docs/procedures.md#rule-6: Step 4 produces a recommendation; then close
            may_escalate=NOBODY,
            recipients_from="The Safeguarding Partnership Manager and the Statutory Partners",
        ),
    ),
    # PROPOSAL: the partnership keeps Step 4 records and agencies keep Steps 1-3 [001:55]; the portal's
    # notice is Appendix A, started at Step 3.
    entry_stage="step-3",
    # docs/procedures.md#rule-4: earlier steps first; the seed allows no shortcut.
    skips=(),
    # docs/procedures.md#rule-10 and docs/working-days.md#day-n [inferred]: working days by default; a
    # per-partnership setting.
    count_working_days=True,
    # docs/procedures.md#rule-17. Seed-backed: outcomes recorded [001:47], [001:65], [001:75]. PROPOSAL: the rest.
    immediate_risk=(
        "The safety and wellbeing of the child or young person is paramount, and should they be considered "
        "at significant risk the local authority children's social care front door should be contacted."
    ),  # [001:43]
)
