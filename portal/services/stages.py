"""The notice engine: moves a notice through its procedure's stages.

A notice is read back with the procedure version it was opened under (``procedure_for``), so a revised
procedure never changes the stages, owners or clocks of a notice already open. Every step here is one
transaction owned by the function that takes it: the stage change, the encrypted narrative, the new signed
PDF version, the e-mails (outbox), the timeline entry and the audit entry are committed together or not
at all.

Who may act is decided in two layers: ``portal.access.NOTICE_RULES`` says which relationships to the
notice may attempt an action (a refusal there is an audited 404), and ``allowed_actions`` below applies
the procedure (who may escalate from this stage, whether the stage takes an agreed date, whether the
notice is still open). A user who may not take an action never sees its button, and a request for it is
refused the same way.

Narrative recorded at a stage (a response, a reason for escalating or skipping, a referral's channel)
and at closure is stored like the notice's answers: encrypted per field under the notice's data key, in
``notice_answer`` with the names ``stage_field`` and ``closure_field`` give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload

from portal.access import notice_for, relationships
from portal.mail import queue_mail
from portal.models import (
    Agency,
    DirectoryContact,
    Notice,
    NoticeAnswer,
    NoticeEvent,
    NoticeRecipient,
    NoticeStage,
    Role,
    SafetyCheck,
    User,
    utcnow,
)
from portal.procedures import procedure_for
from portal.procedures.base import (
    AudienceKind,
    DayWindow,
    DeadlineRuleError,
    Procedure,
    Stage,
    When,
    format_date,
)
from portal.services import audit, vault
from portal.services.runtime import PortalServices
from portal.timeutil import london_today
from portal.working_days import ENGLAND_AND_WALES_CALENDAR

# Stage narrative kept per stage, encrypted like the notice's answers.
STAGE_FIELDS = ("response", "agreed_actions", "escalation_reason", "skip_reason", "referral")
OUTCOME_ESCALATED = "escalated"
OUTCOME_RESOLVED = "resolved"
STATUS_OPEN = "sent"
STATUS_CLOSED = "closed"


class StageActionError(Exception):
    """An action the procedure does not allow now (the view answers 404, as for any refused action)."""


class StageRuleError(ValueError):
    """Input that breaks a procedure rule; the message is shown beside ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def current_date() -> date:
    """Today in England: the day every stage clock counts from (one place, so tests can set the date)."""
    return london_today()


def stage_field(stage: str, name: str) -> str:
    """Return the notice_answer name of a stage's narrative field (at most 60 characters)."""
    if name not in STAGE_FIELDS:
        raise KeyError(name)
    return f"s.{stage}.{name}"


def closure_field(name: str) -> str:
    """Return the notice_answer name of a closure answer."""
    return f"close.{name}"


def procedure_of(notice: Notice) -> Procedure:
    """Return the procedure version the notice was opened under."""
    return procedure_for(notice.partnership.slug, notice.procedure_version)


def concern_date(notice: Notice) -> date:
    return notice.concern_date or notice.date_of_notification


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


# -- who may do what ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actions:
    """What a user may do to a notice now, under its procedure."""

    acknowledge: bool = False
    respond: bool = False
    agree_due: bool = False
    escalate: bool = False
    close: bool = False
    chase: bool = False

    @property
    def any(self) -> bool:
        return any((self.acknowledge, self.respond, self.agree_due, self.escalate, self.close, self.chase))


def _party(user: User, notice: Notice) -> set[str]:
    """The user's parts in the notice: "raiser", "recipient" (of the current stage), "business_unit"."""
    found = relationships(user, notice)
    parts = set()
    if "raised_it" in found:
        parts.add("raiser")
    if "partnership_business_manager" in found:
        parts.add("business_unit")
    current = notice.current_stage
    if "recipient_spoc" in found and current is not None:
        if any(r.agency_id == user.agency_id and r.stage == current.stage for r in notice.recipients):
            parts.add("recipient")
        elif any(r.agency_id == user.agency_id for r in notice.recipients):
            # An agency the notice went to at an earlier stage is still a party to the disagreement.
            parts.add("earlier_recipient")
    return parts


def allowed_actions(user: User, notice: Notice) -> Actions:
    """Return the actions open to ``user`` on ``notice`` now."""
    current = notice.current_stage
    if notice.status == STATUS_CLOSED or current is None or current.ended_at is not None:
        return Actions()
    procedure = procedure_of(notice)
    stage = procedure.stage(current.stage)
    parts = _party(user, notice)
    answers_here = "recipient" in parts if responder(stage) == "recipient" else "business_unit" in parts
    parties = {"raiser", "recipient", "earlier_recipient"}
    may_escalate = (
        ("raiser" in parts and procedure.can_escalate(stage.code, "raiser"))
        or (bool(parts & {"recipient", "earlier_recipient"}) and procedure.can_escalate(stage.code, "recipient"))
        # The business unit moves a notice on for the parties where the procedure routes it through them
        # (Bolton "via the BSCP Business Unit", Pan Cheshire Step 4 "brought to the ... Manager").
        or ("business_unit" in parts and bool(stage.may_escalate))
    )
    return Actions(
        acknowledge=current.acknowledged_at is None and (answers_here or "business_unit" in parts),
        respond=current.responded_at is None and answers_here,
        agree_due=stage.deadline.takes_agreed_date and bool(parts & parties),
        escalate=may_escalate and not stage.final,
        close=bool(parts & (parties | {"business_unit"})),
        chase="business_unit" in parts and current.due_on is not None,
    )


# -- directory rules ------------------------------------------------------------------------------------


def business_unit_addresses(session: Session, notice: Notice) -> list[str]:
    """The partnership's business unit: its business managers' addresses, else the directory owner's mailbox."""
    found = list(
        session.execute(
            select(User.email).where(
                User.partnership_id == notice.partnership_id,
                User.role == Role.BUSINESS_MANAGER.value,
                User.is_active.is_(True),
            )
        ).scalars()
    )
    if not found and "@" in notice.partnership.directory_owner:
        found = [notice.partnership.directory_owner]
    return found


def involved_agency_ids(notice: Notice, answers: dict[str, str], agency_fields: Iterable[str]) -> list[int]:
    """The raising agency and every agency the notice names or has gone to."""
    ids: list[int] = []
    if notice.raising_agency_id is not None:
        ids.append(notice.raising_agency_id)
    ids += [int(answers[f]) for f in agency_fields if answers.get(f, "").isdigit()]
    ids += [r.agency_id for r in notice.recipients]
    return list(dict.fromkeys(ids))


def tier_contacts(session: Session, agency_ids: list[int], tier: str) -> list[DirectoryContact]:
    """Active contacts of these agencies at a directory tier (a role title starting with the tier's name)."""
    if not agency_ids:
        return []
    return list(
        session.execute(
            select(DirectoryContact)
            .join(Agency)
            .where(
                DirectoryContact.agency_id.in_(agency_ids),
                DirectoryContact.active.is_(True),
                DirectoryContact.email.is_not(None),
                DirectoryContact.role_title.startswith(tier, autoescape=True),
            )
            .options(selectinload(DirectoryContact.agency))
            .order_by(Agency.position, DirectoryContact.position)
        ).scalars()
    )


def stage_recipients(
    session: Session,
    notice: Notice,
    stage: Stage,
    *,
    chosen: list[DirectoryContact],
    agency_ids: list[int],
) -> list[DirectoryContact]:
    """Return who the stage is sent to, from its notification rules over the directory."""
    found: list[DirectoryContact] = []
    for rule in stage.notify:
        if rule.when is not When.ON_ENTER:
            continue
        if rule.audience.kind is AudienceKind.RECIPIENT_SPOCS:
            found += chosen or _previous_contacts(notice)
        elif rule.audience.kind is AudienceKind.TIER and rule.audience.tier:
            found += tier_contacts(session, agency_ids, rule.audience.tier)
    return list({c.id: c for c in found}.values())


def _previous_contacts(notice: Notice) -> list[DirectoryContact]:
    """The contacts of the last stage that was sent to anyone (a stage with no new choice keeps them)."""
    for record in reversed(notice.stages[:-1] if notice.stages else []):
        contacts = [r.contact for r in notice.recipients if r.stage == record.stage]
        if contacts:
            return contacts
    return [r.contact for r in notice.recipients]


# -- entering and leaving stages --------------------------------------------------------------------------


@dataclass(frozen=True)
class Entered:
    """What entering a stage did: the record, its recipients, and the prompts to show the person acting."""

    record: NoticeStage
    recipients: list[DirectoryContact]
    prompts: list[str]


def enter_stage(
    session: Session,
    services: PortalServices,
    notice: Notice,
    stage: Stage,
    *,
    actor: User,
    recipients: list[DirectoryContact],
    today: date,
    skipped_from: str | None = None,
    skip_reason: str = "",
    dek: bytes,
) -> Entered:
    """Open a stage record, send the stage to its recipients, queue its ON_ENTER mail. The caller commits."""
    procedure = procedure_of(notice)
    deadline = stage.deadline
    due = deadline.due_date(stage_started=today, concern_date=concern_date(notice))
    start_by = deadline.start_by_date(concern_date=concern_date(notice)) if isinstance(deadline, DayWindow) else None
    record = NoticeStage(
        notice_id=notice.id,
        stage=stage.code,
        position=len(notice.stages),
        entered_at=utcnow(),
        entered_by_id=actor.id,
        started_on=today,
        start_by=start_by,
        due_on=due,
        skipped_from=skipped_from,
        chase_count=0,
    )
    notice.stages.append(record)
    notice.stage = stage.code
    position = max((r.position for r in notice.recipients), default=0)
    for contact in recipients:
        position += 1
        notice.recipients.append(
            NoticeRecipient(
                notice_id=notice.id,
                position=position,
                agency_id=contact.agency_id,
                contact_id=contact.id,
                # Set the objects too: the new version's PDF labels recipients before anything is flushed.
                contact=contact,
                agency=contact.agency,
                email=contact.email or "",
                stage=stage.code,
            )
        )
    if skip_reason:
        seal_answer(session, notice, dek, stage_field(stage.code, "skip_reason"), skip_reason)
    agencies = ", ".join(dict.fromkeys(c.agency.name for c in recipients))
    detail = f"{stage.name} started"
    if agencies:
        detail += f"; sent to {agencies}"
    if due is not None:
        detail += f"; due by {format_date(due)}"
    if start_by is not None and today > start_by:
        detail += f" (started after the procedure's start-by date, {format_date(start_by)})"
    if skipped_from:
        detail += f"; went straight here from {procedure.stage(skipped_from).name}, with a stated reason"
    add_event(session, notice, actor, "stage-entered", detail, stage=stage.code)
    prompts = _prompts(stage, recipients)
    for prompt in prompts:
        add_event(session, notice, actor, "prompt", f"Prompt shown: {prompt}", stage=stage.code)
    notify(session, services, notice, stage, When.ON_ENTER, recipients=recipients, first=notice.stages[0] is record)
    return Entered(record, recipients, prompts)


def _prompts(stage: Stage, recipients: list[DirectoryContact]) -> list[str]:
    agencies = {c.agency.name for c in recipients}
    found = []
    for rule in stage.notify:
        if rule.when is When.ON_ENTER and rule.audience.is_prompt:
            if rule.only_for_agency is None or rule.only_for_agency in agencies:
                prefix = f"{rule.only_for_agency}: " if rule.only_for_agency else ""
                found.append(prefix + (rule.note or "Inform the lead professional"))
    return found


def add_event(
    session: Session, notice: Notice, actor: User | None, kind: str, detail: str, *, stage: str | None = None
) -> NoticeEvent:
    """Add a timeline entry. ``detail`` must never hold child identifiers or narrative."""
    event = NoticeEvent(
        notice_id=notice.id, at=utcnow(), actor_id=actor.id if actor else None, kind=kind, detail=detail, stage=stage
    )
    session.add(event)
    return event


def seal_answer(session: Session, notice: Notice, dek: bytes, name: str, value: str) -> None:
    """Store (or replace) one encrypted answer of the notice."""
    ciphertext = vault.seal_text(notice.data_key_id, dek, value, table="notice_answer", field=name, row_id=notice.id)
    existing = next((a for a in notice.answers if a.field_name == name), None)
    if existing is not None:
        existing.value_ct = ciphertext
    else:
        notice.answers.append(NoticeAnswer(notice_id=notice.id, field_name=name, value_ct=ciphertext))


# -- mail -------------------------------------------------------------------------------------------------


def notify(
    session: Session,
    services: PortalServices,
    notice: Notice,
    stage: Stage,
    when: When,
    *,
    recipients: list[DirectoryContact] | None = None,
    first: bool = False,
    extra: str = "",
) -> list[str]:
    """Queue the stage's e-mails for moment ``when``; return the addresses written to."""
    addresses = rule_addresses(session, notice, stage, when, recipients=recipients)
    return send(session, services, notice, addresses, _subject(notice, when, first), _body(notice, stage, when, extra))


def rule_addresses(
    session: Session, notice: Notice, stage: Stage, when: When, *, recipients: list[DirectoryContact] | None = None
) -> list[str]:
    """The addresses the stage's notification rules name for moment ``when``, from the directory."""
    if recipients is None:
        recipients = [r.contact for r in notice.recipients if r.stage == stage.code]
    addresses: list[str] = []
    for rule in stage.notify:
        if rule.when is not when or rule.audience.is_prompt:
            continue
        kind = rule.audience.kind
        if kind in (AudienceKind.RECIPIENT_SPOCS, AudienceKind.TIER):
            addresses += [c.email for c in recipients if c.email]
        elif kind is AudienceKind.BUSINESS_UNIT:
            addresses += business_unit_addresses(session, notice)
        elif kind is AudienceKind.RAISING_PRACTITIONER:
            addresses.append(notice.raised_by.email)
    return addresses


def send(
    session: Session, services: PortalServices, notice: Notice, addresses: Iterable[str], subject: str, body: str
) -> list[str]:
    """Queue one message per distinct address, holding only the reference, the stage and a link."""
    unique = list(dict.fromkeys(a for a in addresses if a))
    link = f"{services.base_url}/notices/{notice.id}"
    for address in unique:
        queue_mail(
            session,
            to=address,
            subject=subject,
            body=f"{body}\n\nReference: {notice.reference}\n\nSign in to read it:\n{link}\n\n{_NO_CASE_DETAILS}",
            notice_id=notice.id,
        )
    return unique


# Only the reference, the stage and a link: the notice itself is read after signing in (ASVS 6.3.6: e-mail
# is not an authentication factor, and no child's details ever travel by e-mail).
_NO_CASE_DETAILS = "This e-mail contains no case details. Do not reply to it with case details.\n"


def _subject(notice: Notice, when: When, first: bool) -> str:
    base = f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}"
    if first:
        return base
    return {
        When.ON_ENTER: f"{base}: escalated",
        When.ON_RESPONSE: f"{base}: response recorded",
        When.ON_OVERDUE: f"{base}: response overdue",
        When.ON_CLOSE: f"{base}: outcome",
    }[when]


def _body(notice: Notice, stage: Stage, when: When, extra: str) -> str:
    partnership = notice.partnership.name
    current = notice.current_stage
    due = f" It is due by {format_date(current.due_on)}." if current is not None and current.due_on else ""
    text = {
        When.ON_ENTER: (
            f"A formal escalation notice has been raised with you under the {partnership} procedure. "
            f"It is at {stage.name}.{due}"
        ),
        When.ON_RESPONSE: f"A response has been recorded at {stage.name} on this notice ({partnership}).",
        When.ON_OVERDUE: f"The response at {stage.name} on this notice is overdue.{due}",
        When.ON_CLOSE: f"{stage.name} has ended on this notice ({partnership}).",
    }[when]
    return f"{text} {extra}".strip()


# -- the actions ------------------------------------------------------------------------------------------


def load(
    session: Session, services: PortalServices, user: User, notice_id: str, action: str, remote_addr: str = ""
) -> Notice:
    """Load a notice the user may take ``action`` on now; otherwise audit the refusal and answer 404."""
    notice = notice_for(session, services.keyring.audit_key, user, notice_id, action, remote_addr=remote_addr)
    if not getattr(allowed_actions(user, notice), action):
        audit.record(
            session,
            services.keyring.audit_key,
            action=f"notice.{action}",
            outcome="denied",
            actor_id=user.id,
            object_type="notice",
            object_id=notice.id,
            remote_addr=remote_addr,
        )
        session.commit()
        raise StageActionError(action)
    return notice


def _load_current(
    session: Session, services: PortalServices, user: User, notice_id: str, action: str, remote_addr: str
) -> tuple[Notice, NoticeStage, Stage]:
    """``load`` the notice, with the record of the stage it is at and that stage's definition."""
    notice = load(session, services, user, notice_id, action, remote_addr)
    current = notice.current_stage
    if current is None:  # every notice enters a stage when it is raised
        raise StageActionError(action)
    return notice, current, procedure_of(notice).stage(current.stage)


def _audit(
    session: Session, services: PortalServices, user: User | None, notice: Notice, action: str, addr: str
) -> None:
    audit.record(
        session,
        services.keyring.audit_key,
        action=f"notice.{action}",
        outcome="ok",
        actor_id=user.id if user else None,
        object_type="notice",
        object_id=notice.id,
        remote_addr=addr,
    )


def _dek(session: Session, services: PortalServices, notice: Notice) -> bytes:
    return vault.data_key(session, services.keyring, notice.data_key_id)


def acknowledge(
    session: Session, services: PortalServices, user: User, notice_id: str, *, remote_addr: str = ""
) -> Notice:
    """Record that the current stage's notice was received; remind the parties of its due date."""
    notice = notice_for(session, services.keyring.audit_key, user, notice_id, "acknowledge", remote_addr=remote_addr)
    current = notice.current_stage
    if current is not None and current.acknowledged_at is not None and current.ended_at is None:
        # Already acknowledged (a second click, or the other party got there first): nothing to change.
        return notice
    notice, current, stage = _load_current(session, services, user, notice_id, "acknowledge", remote_addr)
    current.acknowledged_at = utcnow()
    current.acknowledged_by_id = user.id
    due = f"; due by {format_date(current.due_on)}" if current.due_on else ""
    add_event(session, notice, user, "acknowledged", f"Receipt acknowledged at {stage.name}{due}", stage=stage.code)
    if current.due_on:
        # Bolton: the BSCP acknowledges receipt "with a reminder of the timescales".
        addresses = [r.email for r in notice.recipients if r.stage == stage.code] + [notice.raised_by.email]
        send(
            session,
            services,
            notice,
            addresses,
            f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: received",
            f"Receipt of this notice at {stage.name} has been acknowledged. "
            f"The response is due by {format_date(current.due_on)}.",
        )
    _audit(session, services, user, notice, "acknowledge", remote_addr)
    session.commit()
    return notice


def respond(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    response: str,
    agreed_actions: str,
    remote_addr: str = "",
) -> Notice:
    """Record the response at the current stage, issue a new signed PDF version and tell who must know."""
    notice, current, stage = _load_current(session, services, user, notice_id, "respond", remote_addr)
    dek = _dek(session, services, notice)
    seal_answer(session, notice, dek, stage_field(stage.code, "response"), response)
    if agreed_actions:
        seal_answer(session, notice, dek, stage_field(stage.code, "agreed_actions"), agreed_actions)
    now = utcnow()
    current.responded_at = now
    current.responded_by_id = user.id
    if current.acknowledged_at is None:
        current.acknowledged_at, current.acknowledged_by_id = now, user.id
    add_event(session, notice, user, "responded", f"Response recorded at {stage.name}", stage=stage.code)
    notify(session, services, notice, stage, When.ON_RESPONSE)
    if not any(n.when is When.ON_RESPONSE for n in stage.notify):
        # Whoever raised the notice always learns that it has been answered.
        send(
            session,
            services,
            notice,
            [notice.raised_by.email],
            _subject(notice, When.ON_RESPONSE, False),
            _body(notice, stage, When.ON_RESPONSE, ""),
        )
    _new_version(session, services, notice, dek)
    _audit(session, services, user, notice, "respond", remote_addr)
    session.commit()
    return notice


def agree_due_date(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    agreed: date,
    remote_addr: str = "",
) -> Notice:
    """Set the current stage's agreed due date, refused beyond the procedure's cap (Trafford: 10 working days)."""
    notice, current, stage = _load_current(session, services, user, notice_id, "agree_due", remote_addr)
    try:
        due = stage.deadline.due_date(
            stage_started=current.started_on, concern_date=concern_date(notice), agreed=agreed
        )
    except DeadlineRuleError as problem:
        raise StageRuleError("agreed_due", str(problem)) from None
    current.agreed_due_on = agreed
    current.due_on = due
    add_event(
        session,
        notice,
        user,
        "due-date-agreed",
        f"Due date at {stage.name} agreed: {format_date(agreed)}",
        stage=stage.code,
    )
    _audit(session, services, user, notice, "agree_due", remote_addr)
    session.commit()
    return notice


def escalation_targets(notice: Notice) -> list[tuple[Stage, bool]]:
    """The stages the notice may move on to: the next stage, and any allowed skip (with whether it needs a reason)."""
    procedure = procedure_of(notice)
    current = procedure.stage(notice.stage)
    targets: list[tuple[Stage, bool]] = []
    following = procedure.next_stage(current.code)
    if following is not None:
        targets.append((following, False))
    for skip in procedure.skips:
        if skip.from_stage == current.code:
            targets.append((procedure.stage(skip.to_stage), skip.reason_required))
    return targets


def fill_escalation_choices(session: Session, form: Any, notice: Notice) -> None:
    """Offer the stages the notice may move to, and the partnership's directory contacts."""
    from wtforms import SelectChoice

    from portal.services.notices import contact_choices

    form.to_stage.choices = [
        SelectChoice(stage.code, stage.name + (" (skipping a stage: give the reason below)" if needs else ""))
        for stage, needs in escalation_targets(notice)
    ]
    contacts = [SelectChoice("", "Choose a contact")] + [
        SelectChoice(v, label) for v, label in contact_choices(session, notice.partnership_id)
    ]
    form.send_to_1.choices = contacts
    form.send_to_2.choices = contacts


def chosen_contacts(session: Session, notice: Notice, ids: list[str | None]) -> list[DirectoryContact]:
    """The partnership's active contacts with these ids (a form has already checked they are choices)."""
    wanted = [int(i) for i in ids if i and i.isdigit()]
    if not wanted:
        return []
    found = session.execute(
        select(DirectoryContact)
        .join(Agency)
        .where(
            DirectoryContact.id.in_(wanted),
            Agency.partnership_id == notice.partnership_id,
            DirectoryContact.active.is_(True),
        )
        .options(selectinload(DirectoryContact.agency))
    ).scalars()
    by_id = {c.id: c for c in found}
    return [by_id[i] for i in wanted if i in by_id]


def escalate(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    to_stage: str,
    reason: str,
    immediate_risk: bool,
    referral: str,
    skip_reason: str,
    chosen: list[DirectoryContact],
    form_answers: dict[str, str] | None = None,
    today: date | None = None,
    remote_addr: str = "",
) -> Entered:
    """Move the notice on to ``to_stage``: end this stage, ask about immediate risk again, enter the next."""
    notice, current, leaving = _load_current(session, services, user, notice_id, "escalate", remote_addr)
    today = today or current_date()
    procedure = procedure_of(notice)
    targets = {stage.code: needs_reason for stage, needs_reason in escalation_targets(notice)}
    if to_stage not in targets:
        raise StageRuleError("to_stage", "Choose a stage the procedure allows you to escalate to")
    if targets[to_stage] and not skip_reason.strip():
        raise StageRuleError("skip_reason", "Enter why the notice must go straight to this stage")
    if immediate_risk and not referral.strip():
        raise StageRuleError("referral", "Enter how and when the child protection referral was made")
    target = procedure.stage(to_stage)
    dek = _dek(session, services, notice)

    # docs/procedures.md#rule-1: asked again at every escalation; the referral itself is never made through the portal.
    check = SafetyCheck(
        user_id=user.id, partnership_id=notice.partnership_id, notice_id=notice.id, immediate_risk=immediate_risk
    )
    if immediate_risk:
        check.referral_advice_shown_at = utcnow()
        seal_answer(session, notice, dek, stage_field(target.code, "referral"), referral)
    session.add(check)
    seal_answer(session, notice, dek, stage_field(leaving.code, "escalation_reason"), reason)
    for name, value in (form_answers or {}).items():
        seal_answer(session, notice, dek, name, value)
    current.ended_at = utcnow()
    current.outcome = OUTCOME_ESCALATED
    add_event(
        session,
        notice,
        user,
        "escalated",
        f"Escalated from {leaving.name} to {target.name}"
        + ("; the child was reported at immediate risk and a referral recorded" if immediate_risk else ""),
        stage=leaving.code,
    )
    notify(session, services, notice, leaving, When.ON_CLOSE, extra=f"It has been escalated to {target.name}.")
    from portal.forms import form_definition

    definition = form_definition(notice.form_code)
    answers = notice_answers_plain(session, services, notice, dek)
    agency_ids = involved_agency_ids(notice, answers, definition.agency_fields if definition else ())
    recipients = stage_recipients(session, notice, target, chosen=chosen, agency_ids=agency_ids)
    entered = enter_stage(
        session,
        services,
        notice,
        target,
        actor=user,
        recipients=recipients,
        today=today,
        skipped_from=leaving.code if procedure.index(target.code) > procedure.index(leaving.code) + 1 else None,
        skip_reason=skip_reason.strip() if targets[to_stage] or skip_reason.strip() else "",
        dek=dek,
    )
    _new_version(session, services, notice, dek)
    _audit(session, services, user, notice, "escalate", remote_addr)
    session.commit()
    return entered


def close(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    closure: dict[str, str],
    remote_addr: str = "",
) -> Notice:
    """Close the notice at its current stage with the agreed outcome and the closure record."""
    notice, current, stage = _load_current(session, services, user, notice_id, "close", remote_addr)
    for name in procedure_of(notice).close_requires:
        if not closure.get(name, "").strip():
            raise StageRuleError(name, "Answer this before closing the notice")
    dek = _dek(session, services, notice)
    for name, value in closure.items():
        if value:
            seal_answer(session, notice, dek, closure_field(name), value)
    now = utcnow()
    current.ended_at = now
    current.outcome = OUTCOME_RESOLVED
    notice.status = STATUS_CLOSED
    notice.closed_at = now
    add_event(session, notice, user, "closed", f"Closed at {stage.name} with an agreed outcome", stage=stage.code)
    addresses = notify(session, services, notice, stage, When.ON_CLOSE, extra="The notice is closed.")
    # Everyone the notice went to, and whoever raised it, learns that it is closed.
    others = [r.email for r in notice.recipients] + [notice.raised_by.email]
    send(
        session,
        services,
        notice,
        [a for a in others if a not in addresses],
        _subject(notice, When.ON_CLOSE, False),
        _body(notice, stage, When.ON_CLOSE, "The notice is closed."),
    )
    _new_version(session, services, notice, dek)
    _audit(session, services, user, notice, "close", remote_addr)
    session.commit()
    return notice


# -- chasers ----------------------------------------------------------------------------------------------


# A stage still overdue is chased again after this many more working days: once per overdue period.
CHASE_EVERY_WORKING_DAYS = 5


def overdue_period(due_on: date, today: date, every: int = CHASE_EVERY_WORKING_DAYS) -> date:
    """Return the first working day of the overdue period ``today`` falls in.

    The first period starts on the first working day after the due date; each later one ``every`` working days
    after the one before. A new due date (Trafford's agreed dates) starts the periods again.
    """
    late = max(ENGLAND_AND_WALES_CALENDAR.working_days_between(due_on, today), 1)
    return ENGLAND_AND_WALES_CALENDAR.add_working_days(due_on, (late - 1) // every * every + 1)


def chase_stage(
    session: Session,
    services: PortalServices,
    record: NoticeStage,
    *,
    actor: User | None,
    today: date,
    every: int = CHASE_EVERY_WORKING_DAYS,
) -> bool:
    """Chase the responder and the business unit for one overdue stage, once per overdue period; the caller
    commits.

    The claim is a conditional UPDATE, so two workers (or a worker and a business manager) never both
    chase the same overdue period.
    """
    if record.due_on is None or record.due_on >= today:
        return False
    period = overdue_period(record.due_on, today, every)
    claimed = session.execute(
        update(NoticeStage)
        .where(
            NoticeStage.id == record.id,
            NoticeStage.ended_at.is_(None),
            or_(NoticeStage.last_chased_period.is_(None), NoticeStage.last_chased_period != period),
        )
        .values(last_chased_period=period, chase_count=NoticeStage.chase_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return False
    session.refresh(record)
    notice = record.notice
    stage = procedure_of(notice).stage(record.stage)
    if record.responded_at is None:
        # Nobody has answered: chase whoever must (the agencies the stage went to, or the business unit).
        owed = (
            [r.email for r in notice.recipients if r.stage == record.stage] if responder(stage) == "recipient" else []
        )
        body = _body(notice, stage, When.ON_OVERDUE, "")
        detail = f"Chased: the response at {stage.name} was due by {format_date(record.due_on)}"
    else:
        # Answered, but the stage has neither closed nor moved on: the raising side must conclude it.
        owed = [notice.raised_by.email]
        body = (
            f"{stage.name} on this notice was due to conclude by {format_date(record.due_on)}. The response is in: "
            "agree the outcome and close the notice, or escalate it."
        )
        detail = f"Chased: {stage.name} was due to conclude by {format_date(record.due_on)}"
    # The stage's own ON_OVERDUE rules, and always whoever owes the next move and the business unit; each
    # address once.
    addresses = [
        *rule_addresses(session, notice, stage, When.ON_OVERDUE),
        *owed,
        *business_unit_addresses(session, notice),
    ]
    send(session, services, notice, addresses, _subject(notice, When.ON_OVERDUE, False), body)
    add_event(session, notice, actor, "chased", detail, stage=record.stage)
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.chase",
        outcome="ok",
        actor_id=actor.id if actor else None,
        object_type="notice",
        object_id=notice.id,
    )
    return True


def chase_overdue(
    session: Session, services: PortalServices, *, today: date | None = None, every: int = CHASE_EVERY_WORKING_DAYS
) -> int:
    """Chase every open stage past its due date not yet chased in its current overdue period; return how many."""
    today = today or current_date()
    overdue = (
        session.execute(
            select(NoticeStage)
            .join(Notice)
            .where(NoticeStage.ended_at.is_(None), NoticeStage.due_on < today, Notice.status != STATUS_CLOSED)
            .order_by(NoticeStage.due_on)
        )
        .scalars()
        .all()
    )
    chased = 0
    for record in overdue:
        if chase_stage(session, services, record, actor=None, today=today, every=every):
            chased += 1
        session.commit()
    return chased


def chase_now(session: Session, services: PortalServices, user: User, notice_id: str, *, remote_addr: str = "") -> bool:
    """A business manager chases the current stage's responder by hand (once per overdue period, as the worker)."""
    _notice, record, _stage = _load_current(session, services, user, notice_id, "chase", remote_addr)
    today = current_date()
    if record.due_on is None or record.due_on >= today:
        raise StageRuleError("chase", "This stage is not overdue yet")
    done = chase_stage(session, services, record, actor=user, today=today)
    session.commit()
    return done


# -- reading back -----------------------------------------------------------------------------------------


def notice_answers_plain(session: Session, services: PortalServices, notice: Notice, dek: bytes) -> dict[str, str]:
    """Decrypt every answer of the notice with an already-unwrapped key (inside a write transaction)."""
    return {
        a.field_name: vault.open_text(dek, a.value_ct, table="notice_answer", field=a.field_name, row_id=notice.id)
        for a in notice.answers
    }


def _new_version(session: Session, services: PortalServices, notice: Notice, dek: bytes) -> None:
    from portal.services.documents import issue_version

    session.flush()
    issue_version(session, services, notice, dek=dek)
