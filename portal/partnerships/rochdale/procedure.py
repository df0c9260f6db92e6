"""Rochdale: "Effective Challenge and Resolving Professional Differences Guidance" (seed 000).

Citations are ``[000:line]`` in the seed file. The seed is the guidance's principles, the SPOC list
and Appendix 1; its flow chart ("Effective Challenge and Escalation Procedure", line 23) did not
survive. Who acts at stages 1, 2 and 4 is therefore read from Trafford's copy of the same GM template
(seed 002) and marked PROPOSAL, as are the ✱/[inferred] items (docs/procedures.md#conventions). The seed
sets no timescale.
"""

from __future__ import annotations

from portal.domain.procedure import (
    BUSINESS_UNIT,
    NO_DEADLINE,
    NOBODY,
    ON_ENTER,
    RAISER_ONLY,
    RECIPIENT_SPOCS,
    TELEPHONE_CALL_PROMPT,
    Notify,
    Procedure,
    Stage,
)

# [000:35] The agency's name as the SPOC list (and so the directory) spells it, and the seed's rule.
GMP = "Greater Manchester Police"
_GMP_CALL = Notify(
    TELEPHONE_CALL_PROMPT,
    ON_ENTER,
    only_for_agency=GMP,
    note="All escalations to GMP must include a telephone call to ensure the correct officer is being contacted",
)

# The seed gives no timescale for any stage [000]. Trafford's copy of the template caps each stage at
# 10 working days [002:49], but that sentence is not in Rochdale's text, so no timer is imposed here.

PROCEDURE = Procedure(
    partnership_slug="rochdale",
    # The seed carries no date. Its SPOC list still names HMR CCG (abolished July 2022) and the National
    # Probation Service (unified 2021), so 2021 is an estimate, not a printed date.
    version="rochdale-gm-2021",
    legacy=False,
    title="Effective Challenge and Resolving Professional Differences Guidance",  # [000:3]
    stages=(
        Stage(
            code="stage-1",
            # [000:37] "Stage 1 Escalations"; the seed names stages only by number.
            name="Stage 1",
            formal=False,  # [000:17] "resolve any disagreements informally, before initiating the formal process"
            # PROPOSAL: practitioner to practitioner, from the GM template [002:44]; schools [000:37].
            who_acts=(
                "The practitioner with the other practitioner, consulting their safeguarding lead; "
                "schools: the School Designated Safeguarding Lead"
            ),
            form_section=None,  # [000:15] recorded on the child's file
            deadline=NO_DEADLINE,
            notify=(),
            final=False,
            may_escalate=RAISER_ONLY,
            recipients_from="The other practitioner; schools: the School Designated Safeguarding Lead",  # [000:37]
        ),
        Stage(
            code="stage-2",
            name="Stage 2",  # [000:37] "Stage 2 Escalations"
            formal=False,  # [000:62] "the informal challenge that has taken place at stages 1-2"
            # PROPOSAL: line manager to line manager, from the GM template [002:37-38]; schools [000:37].
            who_acts=(
                "The practitioner's line manager with their equivalent in the other agency; "
                "schools: the School Head Teacher (if different to DSL)"
            ),
            form_section=None,  # [000:15]
            deadline=NO_DEADLINE,
            notify=(),
            final=False,
            may_escalate=RAISER_ONLY,
            recipients_from="The equivalent manager; schools: the School Head Teacher (if different to DSL)",
        ),
        Stage(
            code="stage-3",
            name="Stage 3",  # [000:69] Appendix 1 row "Stage 3"
            formal=True,
            # [000:55] "Outcome Resolution Notice Completed by"; [000:17] safeguarding lead consulted throughout.
            who_acts=(
                "The challenging practitioner's agency completes the Outcome Resolution Notice, consulting its "
                "safeguarding lead, and sends it to the other agency's single point of contact"
            ),
            form_section=(
                "Appendix 1 Professional Challenge / Outcome Resolution Notice, with its Stage 3 row "
                "(Date Outcome Resolved; Supporting Evidence)"  # [000:45-69]
            ),
            # docs/procedures.md#rule-5: the notice is required before entering stage 3.
            form_required=True,
            deadline=NO_DEADLINE,
            notify=(
                Notify(RECIPIENT_SPOCS, ON_ENTER),  # [000:60] "Notification has been sent to: 1. 2."
                _GMP_CALL,  # [000:35]
            ),
            final=False,
            may_escalate=RAISER_ONLY,
            # [000:29-41]; [000:37] schools: "Any other escalations" go to the local authority contact.
            recipients_from="The agency's contact in the Single Point of Contact (SPOC) List Rochdale",
        ),
        Stage(
            code="stage-4",
            name="Stage 4",  # [000:70] Appendix 1 row "Stage 4"
            formal=True,
            # PROPOSAL: the seed names no stage 4 body; the GM template refers stage 4 to the partnership
            # [002:40], here the Rochdale Borough Safeguarding Board (RBSB, [000:43]).
            who_acts="The partnership (Rochdale Borough Safeguarding Board)",
            form_section="Appendix 1, Stage 4 row (Date Outcome Resolved; Supporting Evidence)",  # [000:70]
            deadline=NO_DEADLINE,
            notify=(
                Notify(RECIPIENT_SPOCS, ON_ENTER),  # [000:60]
                _GMP_CALL,  # [000:35] "All escalations to GMP"
                Notify(BUSINESS_UNIT, ON_ENTER),  # PROPOSAL: stage 4 is the partnership's [inferred]
            ),
            final=True,
            may_escalate=NOBODY,
            recipients_from="The partnership business unit (RBSB)",
        ),
    ),
    # The Appendix 1 notice is raised at stage 3 (portal.partnerships.rochdale.notice.NOTICE.initial_stage).
    entry_stage="stage-3",
    # No "go straight to stage 3-4" line in this seed (it is Trafford's [002:29]); see the module docstring.
    skips=(),
    # docs/procedures.md#rule-17. Seed-backed: outcome and written confirmation [000:68], impact on the child [000:15].
    # PROPOSAL: debrief and learning (rule 17 applies them portal-wide; the seed does not ask).
)
