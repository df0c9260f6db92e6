"""Halton Safeguarding Children Board: "Escalation Policy Resolution Pathways" (seed 004, 2013, legacy).

Citations are ``[004:line]`` in the seed file (paragraph numbers where it has them); PROPOSAL marks
readings the seed does not state (✱ or [inferred]; docs/procedures.md#conventions). The policy has no form
and no timers; its only clock is the same-working-day rule for immediate risk [004:23]. The tiers
are Appendix A's columns, spelled exactly as the directory import holds them (``TIER`` matches a
contact's role title by that prefix).
"""

from __future__ import annotations

from portal.domain.procedure import (
    BUSINESS_UNIT,
    EITHER_PARTY,
    NO_DEADLINE,
    NOBODY,
    ON_ENTER,
    TIER,
    Notify,
    Procedure,
    Skip,
    Stage,
)

# [004:85] Appendix A's column headings.
MANAGER_TIER = "Manager/Named Professional Safeguarding"
NEXT_LEVEL_TIER = "Next Level Management"
HSCB_TIER = "HSCB Representative for Agency"
MASCU_MANAGER = "Multi-Agency Safeguarding Children's Unit Manager"

# [004:49] 2.5 / [004:81] "At all stages actions/decisions must be recorded in writing and shared".
_RECORD = "A written record of actions and decisions, shared with the parties"

PROCEDURE = Procedure(
    partnership_slug="halton",
    version="halton-2013-09",  # [004:13] "Revised September 2013"
    legacy=True,  # a 2013 Board policy under Working Together 2013 [004:19]
    title="Escalation Policy Resolution Pathways",  # [004:7]
    stages=(
        Stage(
            code="practitioner-level",
            name="Practitioner/case worker level",  # [004:30] 2.1
            formal=False,  # PROPOSAL: the policy has no formal/informal split; this is the workers' own attempt
            who_acts=(
                "The workers identify explicitly what the problem is and what each aims to achieve, and try "
                "to resolve it between them"  # [004:32] 2.2, [004:71]
            ),
            form_section=None,
            deadline=NO_DEADLINE,  # [004:22] 1.4 "as soon as possible"
            notify=(),
            final=False,
            may_escalate=EITHER_PARTY,  # [004:34] 2.4 "referred by each worker to their respective line manager"
            recipients_from="The worker in the other agency",
        ),
        Stage(
            code="manager-named-professional",
            name=MANAGER_TIER,
            # PROPOSAL: every tier with an Appendix A contact is formal in the portal, because a written,
            # shared record is required at all stages [004:81].
            formal=True,
            who_acts=(
                "Each worker's line manager or designated safeguarding professional (schools: the designated "
                "person) discusses the concerns with their opposite manager in the other agency"
            ),  # [004:34] 2.4, [004:73-75]
            form_section=_RECORD,
            deadline=NO_DEADLINE,
            notify=(Notify(TIER(MANAGER_TIER), ON_ENTER),),
            final=False,
            may_escalate=EITHER_PARTY,  # [004:77] "When respective managers are unable to resolve"
            recipients_from=MANAGER_TIER,
        ),
        Stage(
            code="next-level-management",
            # PROPOSAL: a stage only because Appendix A has this column [004:85]; the text goes from the
            # managers straight to the HSCB representative [004:53] 3.1, hence the skip below.
            name=NEXT_LEVEL_TIER,
            formal=True,
            who_acts="The next level of management in each agency",
            form_section=_RECORD,
            deadline=NO_DEADLINE,
            notify=(Notify(TIER(NEXT_LEVEL_TIER), ON_ENTER),),
            final=False,
            may_escalate=EITHER_PARTY,
            recipients_from=NEXT_LEVEL_TIER,
        ),
        Stage(
            code="hscb-representative",
            name=HSCB_TIER,
            formal=True,
            who_acts="The HSCB representative for each agency involved seeks resolution",  # [004:53] 3.1, [004:77]
            form_section=_RECORD,
            deadline=NO_DEADLINE,
            notify=(Notify(TIER(HSCB_TIER), ON_ENTER),),
            final=False,
            may_escalate=EITHER_PARTY,  # [004:79] "Where HSCB representatives are unable to resolve"
            recipients_from=HSCB_TIER,
        ),
        Stage(
            code="mascu-manager",
            name=MASCU_MANAGER,  # [004:54] 3.2, [004:79]
            formal=True,
            who_acts=(
                "The Multi-Agency Safeguarding Children's Unit Manager offers mediation and determines a course "
                "of action, including reporting to the HSCB Chair"  # [004:54] 3.2, [004:79]
            ),
            # [004:49] 2.5: written confirmation of the agreed outcome and how outstanding issues are pursued.
            form_section=_RECORD,
            deadline=NO_DEADLINE,
            # The unit is the board's business unit (portal.partnerships: the directory owner).
            notify=(Notify(BUSINESS_UNIT, ON_ENTER),),
            final=True,  # docs/procedures.md#rule-6
            may_escalate=NOBODY,
            recipients_from=MASCU_MANAGER,
        ),
    ),
    # PROPOSAL: the first tier with Appendix A contacts, where the portal can route the record.
    entry_stage="manager-named-professional",
    skips=(
        # PROPOSAL: 3.1 refers from the managers to the HSCB representative, so the Appendix A "Next Level
        # Management" tier may be passed over without a reason.
        Skip("manager-named-professional", "hscb-representative", reason_required=False),
        # [004:54] 3.2 "the discussion has raised significant policy issues": straight to the MASCU Manager,
        # stating the policy issue. PROPOSAL: read as allowed from any tier below the HSCB representative.
        Skip("manager-named-professional", "mascu-manager", reason_required=True, note="Significant policy issues"),
        Skip("next-level-management", "mascu-manager", reason_required=True, note="Significant policy issues"),
    ),
    # docs/procedures.md#rule-17. Seed-backed: outcome and written confirmation [004:49] 2.5, debrief [004:58] 4.1,
    # learning to the MASCU [004:60] 4.2. PROPOSAL: impact on the child.
    immediate_risk=(
        "When any professional considers a child is at immediate risk of significant harm, then the individual "
        "must ensure their concerns are escalated on the same working day using established safeguarding "
        "procedures."
    ),  # [004:23] 1.5
)
