"""Trafford (TSSP): "Resolving Professional Disagreements/Escalation Notice" (seed 002).

Citations are ``[002:line]`` in the seed file; PROPOSAL marks readings the seed does not state (✱ or
[inferred]; docs/procedures.md#conventions). The flow chart's boxes survive as scrambled lines 27-45; each
stage's name joins the chart's "Stage N" with its box. "Timescales should be agreed at each stage
... Each stage should not exceed 10 working days" [002:49] gives every stage an agreed due date,
refused beyond 10 working days from the stage starting (docs/procedures.md#rule-8).
"""

from __future__ import annotations

from portal.domain.procedure import (
    BUSINESS_UNIT,
    LEAD_PROFESSIONAL_PROMPT,
    NOBODY,
    ON_ENTER,
    RAISER_ONLY,
    RECIPIENT_SPOCS,
    AgreedWithinWorkingDays,
    Notify,
    Procedure,
    Skip,
    Stage,
)

_AGREED = AgreedWithinWorkingDays(cap=10)  # [002:49]
_STRAIGHT_TO_3_4 = "Go straight to stage 3-4 if resolution requires this level of response."  # [002:29]

PROCEDURE = Procedure(
    partnership_slug="trafford",
    version="trafford-gm-undated",  # the seed carries no date
    legacy=False,
    title="Resolving Professional Disagreements/Escalation Notice",  # [002:1]
    stages=(
        Stage(
            code="stage-1",
            name="Stage 1: Practitioner – Practitioner",  # [002:33], [002:44]
            formal=False,  # [002:23] informally, before initiating the formal process
            who_acts=(
                "Disagreement raised by practitioner either in writing or verbally, discussing it with their "
                "designated lead for safeguarding"  # [002:45], [002:48]
            ),
            form_section=None,  # [002:53] "A clear record should be kept by everyone at all stages"
            deadline=_AGREED,
            # [002:45]
            notify=(
                Notify(LEAD_PROFESSIONAL_PROMPT, ON_ENTER, note="Inform the lead professional/ chair at this stage."),
            ),
            final=False,
            may_escalate=RAISER_ONLY,
            recipients_from="The other practitioner",
        ),
        Stage(
            code="stage-2",
            name="Stage 2: Line manager – Line manager",  # [002:32], [002:38]
            formal=False,
            who_acts=(
                "Escalate to your line manager. Your line manager should contact their equivalent in the "
                "other agency."  # [002:37]
            ),
            form_section=None,
            deadline=_AGREED,
            notify=(),
            final=False,
            may_escalate=RAISER_ONLY,
            recipients_from="The line manager's equivalent in the other agency",
        ),
        Stage(
            code="stage-3",
            name="Stage 3: Formal escalation",  # [002:31], [002:43]
            formal=True,
            who_acts=(
                "The TSSP resolution notice is used and the matter escalated to the next level of management; "
                "formal escalation proceeds through the management hierarchies of the involved agencies"
            ),  # [002:34-35]
            # [002:34] "the TSSP resolution notice (Appendix 1)"; docs/procedures.md#rule-5: required before stage 3.
            form_section="Resolving Professional Disagreements/Escalation Notice",
            form_required=True,
            deadline=_AGREED,
            notify=(
                # PROPOSAL: the seed has no SPOC list; [002:72] "Escalation with which team/agency".
                Notify(RECIPIENT_SPOCS, ON_ENTER),
                # [002:3] "A copy of this escalation notice should be shared with the TSSP Business Manager".
                Notify(BUSINESS_UNIT, ON_ENTER),
                # PROPOSAL: [002:45] asks for this at stage 1; a notice that went straight to stage 3 has not.
                Notify(LEAD_PROFESSIONAL_PROMPT, ON_ENTER, note="Inform the lead professional/ chair."),
            ),
            final=False,
            may_escalate=RAISER_ONLY,
            recipients_from="The next level of management in the other agency",  # [002:34-35]
        ),
        Stage(
            code="stage-4",
            name="Stage 4: Trafford Strategic Safeguarding Partnership",  # [002:30], [002:39]
            formal=True,
            who_acts=(
                "The matter is formally referred to the TSSP, which will utilise the role of the independent "
                "advisor to achieve resolution"  # [002:40], [002:42]
            ),
            # [002:91] filled on referral. Not required on entry: a notice may go straight to stage 4.
            form_section="What were the outcomes of stage 3 and any outstanding issues",
            deadline=_AGREED,  # [002:49] "Each stage"
            notify=(
                Notify(BUSINESS_UNIT, ON_ENTER),  # [002:40] "formally referred to the TSSP"
                Notify(RECIPIENT_SPOCS, ON_ENTER),  # PROPOSAL: the other agency learns of the referral
            ),
            final=True,
            may_escalate=NOBODY,
            recipients_from="The TSSP Business Manager",  # [002:3]
        ),
    ),
    entry_stage="stage-3",  # [002:34] the notice is used from stage 3
    # [002:29] from anywhere before stage 3 straight to stage 3 or 4; docs/procedures.md#rule-4: with a justification.
    skips=(
        Skip("stage-1", "stage-3", reason_required=True, note=_STRAIGHT_TO_3_4),
        Skip("stage-1", "stage-4", reason_required=True, note=_STRAIGHT_TO_3_4),
        Skip("stage-2", "stage-4", reason_required=True, note=_STRAIGHT_TO_3_4),
    ),
    # docs/procedures.md#rule-17. Seed-backed: outcome and debrief [002:94], impact on the child [002:21], learning
    # for the TSSP [002:98]. PROPOSAL: written confirmation between the parties (GM template,
    # docs/procedures.md#gm-template).
)
