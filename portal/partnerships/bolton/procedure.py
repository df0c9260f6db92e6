"""Bolton (BSCP): "Resolving Differences and Escalation Process" (seed 003, launched September 2022).

Citations are ``[003:line]`` in the seed file; PROPOSAL marks readings the seed does not state (✱ or
[inferred]; docs/procedures.md#conventions). The RPDE form is linked, not reproduced [003:70], so its
sections are the ✱ proposal of docs/procedures.md#bolton-rpde-form (Agency A's section, Agency B's response).
"""

from __future__ import annotations

from portal.domain.procedure import (
    BUSINESS_UNIT,
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
    AgreedDate,
    Notify,
    Procedure,
    Stage,
    WithinWorkingDays,
)

PROCEDURE = Procedure(
    partnership_slug="bolton",
    version="bolton-2022-09",  # [003:7] "LAUNCH: SEPTEMBER 2022"
    legacy=False,
    title="Resolving Differences and Escalation Process",  # [003:5]
    stages=(
        Stage(
            code="prevention-early-resolution",
            # [003:65]; [003:62] misspells it "prevention/earl resolution".
            name="Prevention/Early Resolution",
            formal=False,
            who_acts="Practitioner A contacts practitioner B to discuss the issue and seek resolution",  # [003:65]
            form_section=None,  # [003:65] recorded by each practitioner on the child's record
            deadline=NO_DEADLINE,
            notify=(),
            final=False,
            may_escalate=RAISER_ONLY,  # [003:66] "If not resolved, move to Informal Resolution"
            recipients_from="Practitioner B",
        ),
        Stage(
            code="informal-resolution",
            name="Informal Resolution",  # [003:67]
            formal=False,
            who_acts=(
                "Practitioner A's manager contacts practitioner B's manager, clearly setting out the issue "
                "that needs to be resolved and the desired outcome for the child/ren"  # [003:67]
            ),
            form_section=None,  # [003:67] recorded in accordance with agency policy
            # [003:68] "Agree a timescale for a response from practitioner B's manager"; docs/procedures.md#rule-9.
            deadline=AgreedDate(),
            notify=(),
            final=False,
            may_escalate=RAISER_ONLY,
            # [003:67] the agency's Resolution SPOC gives the manager's details.
            recipients_from="Practitioner B's manager",
        ),
        Stage(
            code="formal-resolution",
            name="Formal Resolution",  # [003:70]
            formal=True,
            who_acts=(
                "Agency A completes the RPDE form and sends it to Agency B's Resolution SPOC and BSCP; "
                "Agency B responds to Agency A and BSCP with the outcome"  # [003:70], [003:73]
            ),
            form_section="RPDE form: Agency A's section, then Agency B's response",  # [003:70], [003:73]
            form_required=True,  # docs/procedures.md#rule-5: the RPDE is required before Formal Resolution
            # [003:73] "Agency B responds ... within 10 working days", counted from the RPDE being sent,
            # which is when the notice enters this stage.
            deadline=WithinWorkingDays(10),
            notify=(
                Notify(RECIPIENT_SPOCS, ON_ENTER),  # [003:70] Agency B's 'Resolution SPOC'
                Notify(BUSINESS_UNIT, ON_ENTER),  # [003:70-71], [003:93] BSCP logs and acknowledges
                Notify(
                    LEAD_PROFESSIONAL_PROMPT,
                    ON_ENTER,
                    note="Where needed, inform the Lead Professional, IRO or relevant others of the escalation.",
                ),  # [003:50]
                Notify(RAISING_PRACTITIONER, ON_RESPONSE),  # [003:73] "responds to Agency A and BSCP"
                Notify(BUSINESS_UNIT, ON_RESPONSE),  # [003:73]
                Notify(BUSINESS_UNIT, ON_OVERDUE),  # [003:97] BSCP follows up late responses
            ),
            final=False,
            may_escalate=EITHER_PARTY,  # [003:77] "either agency can request"
            recipients_from="Agency B's Resolution SPOC",  # [003:70], [003:106]
        ),
        Stage(
            code="partnership-resolution",
            name="Partnership Resolution",  # [003:77]
            formal=True,
            who_acts=(
                "The statutory safeguarding partners bring together an independent panel to look objectively "
                "at the action to date and seek resolution with the agencies involved"  # [003:78]
            ),
            escalated_by="Either agency, via the BSCP Business Unit",  # [003:77]
            form_section="RPDE form, with additional information as requested from BSCP",  # [003:77]
            deadline=NO_DEADLINE,  # the seed sets none
            notify=(
                Notify(BUSINESS_UNIT, ON_ENTER),  # [003:77], [003:98]
                # PROPOSAL: both agencies are told the panel's resolution.
                Notify(RECIPIENT_SPOCS, ON_CLOSE),
                Notify(RAISING_PRACTITIONER, ON_CLOSE),
            ),
            final=True,
            may_escalate=NOBODY,  # [003:79] "Once a resolution is made, there is no further option to escalate."
            recipients_from="The BSCP Business Unit and the statutory safeguarding partners",
        ),
    ),
    entry_stage="formal-resolution",  # [003:87] the RPDE supports Formal and Partnership Resolution
    skips=(),  # docs/procedures.md#rule-4: earlier stages first
    # docs/procedures.md#rule-17. Seed-backed: outcome [003:73], learning to the SEG [003:102-104].
    # PROPOSAL: written confirmation, impact on the child, debrief.
    immediate_risk=(
        "If you have an immediate concern about the safety of a child, usual safeguarding processes should be "
        "used and be the priority."
    ),  # [003:26]
)
