"""Who may do what to a notice: pure rules over the records, with no database and no web framework.

Two layers decide. ``NOTICE_RULES`` says which relationships to a notice may attempt an action at all (a
refusal is an audited 404: a URL never confirms that a notice exists). ``allowed_actions`` then applies the
notice's procedure: who may escalate from this stage, whether the stage takes an agreed date, whether the
notice is still open. A user who may not take an action never sees its button, and a request for it is
refused the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.domain.models import Notice, Role, User
from portal.domain.procedure import AudienceKind, Procedure, Stage, When

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# action on a notice -> the relationships to the notice that allow it.
_PARTIES = frozenset({"raised_it", "recipient_spoc", "partnership_business_manager"})
NOTICE_RULES: dict[str, frozenset[str]] = {
    "read": _PARTIES,
    "download": _PARTIES,
    "acknowledge": frozenset({"recipient_spoc", "partnership_business_manager"}),
    "respond": frozenset({"recipient_spoc", "partnership_business_manager"}),
    "agree_due": frozenset({"raised_it", "recipient_spoc"}),
    "escalate": _PARTIES,
    "close": _PARTIES,
    "chase": frozenset({"partnership_business_manager"}),
    # The parties write to each other on the notice while it is open, and attach evidence.
    "message": _PARTIES,
    "attach": _PARTIES,
    # The raiser takes their notice back; the business unit may do it for them.
    "withdraw": frozenset({"raised_it", "partnership_business_manager"}),
}


def relationships(user: User, notice: Notice) -> set[str]:
    """How a user stands to a notice."""
    found: set[str] = set()
    if user.partnership_id != notice.partnership_id or not user.is_active:
        return found
    role = user.role_enum
    if role is Role.PRACTITIONER and notice.raised_by_id == user.id:
        found.add("raised_it")
    if (
        role is Role.SPOC
        and user.agency_id is not None
        and any(r.agency_id == user.agency_id for r in notice.recipients)
    ):
        found.add("recipient_spoc")
    if role is Role.BUSINESS_MANAGER:
        found.add("partnership_business_manager")
    return found


def may(user: User, action: str, notice: Notice) -> bool:
    """Whether the user's relationship to the notice lets them attempt ``action`` at all."""
    return bool(relationships(user, notice) & NOTICE_RULES[action])


def well_formed_id(value: str) -> bool:
    """Whether a URL's id could be one of ours (a UUID); anything else is not found, before any query."""
    return bool(_UUID.fullmatch(value))


def printable_id(value: str) -> str:
    """An id as it may be written to the audit trail: printable ASCII, at most 36 characters."""
    return "".join(ch for ch in value[:36] if 32 < ord(ch) < 127)


def directory_id(value: str | None) -> int | None:
    """A directory row's id from a form answer, or None: only plain ASCII digits count ("²" is a digit to
    str.isdigit but not a number int() takes)."""
    if value and value.isascii() and value.isdecimal() and len(value) <= 18:
        return int(value)
    return None


def responder(stage: Stage) -> str:
    """Return who responds at a stage: "recipient" (the agencies it is sent to) or "business_unit"."""
    kinds = {n.audience.kind for n in stage.notify if n.when is When.ON_ENTER}
    if stage.final and AudienceKind.BUSINESS_UNIT in kinds:
        # The last stage is the partnership's own (an independent advisor, panel or statutory partners):
        # its business unit records the resolution; the agencies are told of it.
        return "business_unit"
    if kinds & {AudienceKind.RECIPIENT_SPOCS, AudienceKind.TIER}:
        return "recipient"
    return "business_unit"


@dataclass(frozen=True)
class Actions:
    """What a user may do to a notice now, under its procedure."""

    acknowledge: bool = False
    respond: bool = False
    agree_due: bool = False
    escalate: bool = False
    close: bool = False
    chase: bool = False
    withdraw: bool = False
    message: bool = False
    attach: bool = False

    @property
    def any(self) -> bool:
        return any(
            (self.acknowledge, self.respond, self.agree_due, self.escalate, self.close, self.chase, self.withdraw)
        )

    def allows(self, action: str) -> bool:
        return bool(getattr(self, action, False))


def parts(user: User, notice: Notice) -> set[str]:
    """The user's parts in the notice: "raiser", "recipient" (of the current stage), "earlier_recipient",
    "business_unit"."""
    found = relationships(user, notice)
    result = set()
    if "raised_it" in found:
        result.add("raiser")
    if "partnership_business_manager" in found:
        result.add("business_unit")
    current = notice.current_stage
    if "recipient_spoc" in found and current is not None:
        if any(r.agency_id == user.agency_id and r.stage == current.stage for r in notice.recipients):
            result.add("recipient")
        elif any(r.agency_id == user.agency_id for r in notice.recipients):
            # An agency the notice went to at an earlier stage is still a party to the disagreement.
            result.add("earlier_recipient")
    return result


def allowed_actions(user: User, notice: Notice, procedure: Procedure) -> Actions:
    """Return the actions open to ``user`` on ``notice`` now, under the procedure it was opened with."""
    current = notice.current_stage
    if not notice.is_open or current is None or current.ended_at is not None:
        return Actions()
    stage = procedure.stage(current.stage)
    held = parts(user, notice)
    answers_here = "recipient" in held if responder(stage) == "recipient" else "business_unit" in held
    parties = {"raiser", "recipient", "earlier_recipient"}
    may_escalate = (
        ("raiser" in held and procedure.can_escalate(stage.code, "raiser"))
        or (bool(held & {"recipient", "earlier_recipient"}) and procedure.can_escalate(stage.code, "recipient"))
        # The business unit moves a notice on for the parties where the procedure routes it through them
        # (Bolton "via the BSCP Business Unit", Pan Cheshire Step 4 "brought to the ... Manager").
        or ("business_unit" in held and bool(stage.may_escalate))
    )
    return Actions(
        acknowledge=current.acknowledged_at is None and (answers_here or "business_unit" in held),
        respond=current.responded_at is None and answers_here,
        agree_due=stage.deadline.takes_agreed_date and bool(held & parties),
        escalate=may_escalate and not stage.final,
        close=bool(held & (parties | {"business_unit"})),
        chase="business_unit" in held and current.due_on is not None,
        withdraw=bool(held & {"raiser", "business_unit"}),
        message=bool(held & (parties | {"business_unit"})),
        attach=bool(held & (parties | {"business_unit"})),
    )
