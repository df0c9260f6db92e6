"""Testshire's procedure: the definition a sixth partnership writes (here a test file, registered by the test)."""

from __future__ import annotations

from portal.domain.procedure import (
    BUSINESS_UNIT,
    EITHER_PARTY,
    NO_DEADLINE,
    NOBODY,
    ON_CLOSE,
    ON_ENTER,
    ON_OVERDUE,
    RAISING_PRACTITIONER,
    RECIPIENT_SPOCS,
    Notify,
    Procedure,
    Stage,
    WithinWorkingDays,
)

PROCEDURE = Procedure(
    partnership_slug="testshire",
    version="testshire-2026",
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
            name="Partnership panel",
            formal=True,
            who_acts="The partnership panel",
            form_section=None,
            deadline=NO_DEADLINE,
            notify=(Notify(BUSINESS_UNIT, ON_ENTER), Notify(RAISING_PRACTITIONER, ON_CLOSE)),
            final=True,
            may_escalate=NOBODY,
        ),
    ),
    entry_stage="managers",
)
