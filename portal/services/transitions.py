"""The notice engine: moves a notice through its procedure's stages.

A notice is read back with the procedure version it was opened under, so a revised procedure never changes the
stages, owners or clocks of a notice already open. Every action here is one transaction owned by the function
that takes it, begun by locking the notice's row and deciding on the notice as it then stands
(portal.services.record.load_for_action): the stage change, the encrypted narrative, the new signed PDF version,
the e-mails (outbox), the timeline entry and the audit entry are committed together or not at all.

Who may act is decided by portal.domain.policy; who is told, by portal.services.routing and
portal.services.messages; overdue stages are chased by portal.services.chaser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from portal.domain import file_types
from portal.domain.categories import NO_LEARNING, OUTCOME_LABELS
from portal.domain.dates import format_date
from portal.domain.models import (
    DirectoryContact,
    LearningItem,
    Notice,
    NoticeRecipient,
    NoticeStage,
    NoticeStatus,
    SafetyCheck,
    User,
    utcnow,
)
from portal.domain.procedure import AudienceKind, DayWindow, DeadlineRuleError, Stage, When
from portal.services import attachments, child_file, conversation, documents, messages, record, routing
from portal.services.errors import RuleBrokenError
from portal.services.runtime import PortalServices

OUTCOME_ESCALATED = "escalated"
OUTCOME_RESOLVED = "resolved"
OUTCOME_WITHDRAWN = "withdrawn"
# Said in the closure mail: each involved agency's summary for the child's file is on the notice (never in the mail).
CHILD_FILE_READY = (
    "A one-page summary for the child's file, and the same facts as a structured record, "
    "can be downloaded from the notice."
)


@dataclass(frozen=True)
class Entered:
    """What entering a stage did: the stage record, its recipients, and the prompts to show the person acting."""

    stage_row: NoticeStage
    recipients: list[DirectoryContact]
    prompts: list[str]
    # The addresses the stage's ON_ENTER mail went to, so the action that entered it tells nobody twice.
    told: tuple[str, ...] = ()


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
    procedure = record.procedure_of(notice)
    deadline = stage.deadline
    due = deadline.due_date(stage_started=today, concern_date=record.concern_date(notice))
    start_by = (
        deadline.start_by_date(concern_date=record.concern_date(notice)) if isinstance(deadline, DayWindow) else None
    )
    stage_row = NoticeStage(
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
    notice.stages.append(stage_row)
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
        record.seal_answer(session, notice, dek, record.stage_field(stage.code, "skip_reason"), skip_reason)
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
    record.add_event(session, notice, actor, "stage-entered", detail, stage=stage.code)
    prompts = _prompts(stage, recipients)
    for prompt in prompts:
        record.add_event(session, notice, actor, "prompt", f"Prompt shown: {prompt}", stage=stage.code)
    told = messages.notify(
        session, services, notice, stage, When.ON_ENTER, recipients=recipients, first=notice.stages[0] is stage_row
    )
    return Entered(stage_row, recipients, prompts, tuple(told))


def _prompts(stage: Stage, recipients: list[DirectoryContact]) -> list[str]:
    agencies = {c.agency.name for c in recipients}
    found = []
    for rule in stage.notify:
        if rule.when is When.ON_ENTER and rule.audience.is_prompt:
            if rule.only_for_agency is None or rule.only_for_agency in agencies:
                prefix = f"{rule.only_for_agency}: " if rule.only_for_agency else ""
                found.append(prefix + (rule.note or "Inform the lead professional"))
    return found


def acknowledge(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> Notice:
    """Record that the current stage's notice was received; remind the parties of its due date."""
    notice = record.load_for(session, services, user, notice_id, "acknowledge", remote_addr=remote_addr, lock=True)
    current = notice.current_stage
    if current is not None and current.acknowledged_at is not None and current.ended_at is None:
        # Already acknowledged (a second click, or the other party got there first): nothing to change.
        session.commit()
        return notice
    notice, current, stage = record.load_current(
        session,
        services,
        user,
        notice_id,
        "acknowledge",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    current.acknowledged_at = utcnow()
    current.acknowledged_by_id = user.id
    due = f"; due by {format_date(current.due_on)}" if current.due_on else ""
    record.add_event(
        session, notice, user, "acknowledged", f"Receipt acknowledged at {stage.name}{due}", stage=stage.code
    )
    # Whoever raised the notice always learns it was received (the other side acted); where the stage has a due
    # date, both parties are also reminded of it (Bolton: the BSCP acknowledges "with a reminder of the timescales").
    addresses = [notice.raised_by.email]
    text = f"Receipt of this notice at {stage.name} has been acknowledged ({notice.partnership.name})."
    if current.due_on:
        addresses = [r.email for r in notice.recipients if r.stage == stage.code] + addresses
        text += f" The response is due by {format_date(current.due_on)}."
    messages.send(
        session,
        services,
        notice,
        [a for a in addresses if a != user.email],
        f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: received",
        text,
    )
    record.touch(notice)
    record.audit_action(session, services, user, notice, "acknowledge", remote_addr)
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
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> Notice:
    """Record the response at the current stage, issue a new signed PDF version and tell who must know."""
    notice, current, stage = record.load_current(
        session,
        services,
        user,
        notice_id,
        "respond",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    dek = record.data_key(session, services, notice)
    record.seal_answer(session, notice, dek, record.stage_field(stage.code, "response"), response)
    if agreed_actions:
        record.seal_answer(session, notice, dek, record.stage_field(stage.code, "agreed_actions"), agreed_actions)
    now = utcnow()
    current.responded_at = now
    current.responded_by_id = user.id
    if current.acknowledged_at is None:
        current.acknowledged_at, current.acknowledged_by_id = now, user.id
    record.add_event(session, notice, user, "responded", f"Response recorded at {stage.name}", stage=stage.code)
    told = messages.notify(session, services, notice, stage, When.ON_RESPONSE)
    if notice.raised_by.email not in told:
        # Whoever raised the notice always learns that it has been answered, whatever the stage's rules name.
        messages.send(
            session,
            services,
            notice,
            [notice.raised_by.email],
            messages.subject(notice, When.ON_RESPONSE, False),
            messages.body(notice, stage, When.ON_RESPONSE, ""),
        )
    record.touch(notice)
    new_version(session, services, notice, dek)
    record.audit_action(session, services, user, notice, "respond", remote_addr)
    session.commit()
    return notice


def agree_due_date(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    agreed: date,
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> Notice:
    """Set the current stage's agreed due date, refused beyond the procedure's cap (Trafford: 10 working days)."""
    notice, current, stage = record.load_current(
        session,
        services,
        user,
        notice_id,
        "agree_due",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    try:
        due = stage.deadline.due_date(
            stage_started=current.started_on, concern_date=record.concern_date(notice), agreed=agreed
        )
    except DeadlineRuleError as problem:
        raise RuleBrokenError("agreed_due", str(problem)) from None
    current.agreed_due_on = agreed
    current.due_on = due
    record.add_event(
        session,
        notice,
        user,
        "due-date-agreed",
        f"Due date at {stage.name} agreed: {format_date(agreed)}",
        stage=stage.code,
    )
    if user.id != notice.raised_by_id:
        # The other side set the date the raiser waits for: tell them, by a link-only e-mail.
        messages.send(
            session,
            services,
            notice,
            [notice.raised_by.email],
            f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: due date agreed",
            f"A due date for the response at {stage.name} has been agreed ({notice.partnership.name}): "
            f"{format_date(agreed)}.",
        )
    record.touch(notice)
    record.audit_action(session, services, user, notice, "agree_due", remote_addr)
    session.commit()
    return notice


def escalation_targets(notice: Notice) -> list[tuple[Stage, bool]]:
    """The stages the notice may move on to: the next stage, and any allowed skip (with whether it needs a reason)."""
    procedure = record.procedure_of(notice)
    current = procedure.stage(notice.stage)
    targets: list[tuple[Stage, bool]] = []
    following = procedure.next_stage(current.code)
    if following is not None:
        targets.append((following, False))
    for skip in procedure.skips:
        if skip.from_stage == current.code:
            targets.append((procedure.stage(skip.to_stage), skip.reason_required))
    return targets


def default_recipients(session: Session, notice: Notice, target: Stage) -> list[str]:
    """Who ``target`` goes to if the person escalating chooses no contact: directory labels, then the business
    unit where the stage names it, so the page says where the notice will go before it goes there."""
    answers_agencies = routing.involved_agency_ids(notice, {}, ())
    contacts = routing.stage_recipients(session, notice, target, chosen=[], agency_ids=answers_agencies)
    labels = [c.label for c in contacts]
    if any(n.when is When.ON_ENTER and n.audience.kind is AudienceKind.BUSINESS_UNIT for n in target.notify):
        labels.append(f"{notice.partnership.name} business unit")
    return labels


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
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> Entered:
    """Move the notice on to ``to_stage``: end this stage, ask about immediate risk again, enter the next."""
    notice, current, leaving = record.load_current(
        session,
        services,
        user,
        notice_id,
        "escalate",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    today = today or services.today()
    procedure = record.procedure_of(notice)
    targets = {stage.code: needs_reason for stage, needs_reason in escalation_targets(notice)}
    if to_stage not in targets:
        raise RuleBrokenError("to_stage", "Choose a stage the procedure allows you to escalate to")
    if targets[to_stage] and not skip_reason.strip():
        raise RuleBrokenError("skip_reason", "Enter why the notice must go straight to this stage")
    if immediate_risk and not referral.strip():
        raise RuleBrokenError("referral", "Enter how and when the child protection referral was made")
    target = procedure.stage(to_stage)
    dek = record.data_key(session, services, notice)

    # docs/procedures.md#rule-1: asked again at every escalation; the referral itself is never made through the portal.
    check = SafetyCheck(
        user_id=user.id, partnership_id=notice.partnership_id, notice_id=notice.id, immediate_risk=immediate_risk
    )
    if immediate_risk:
        check.referral_advice_shown_at = utcnow()
        record.seal_answer(session, notice, dek, record.stage_field(target.code, "referral"), referral)
    session.add(check)
    record.seal_answer(session, notice, dek, record.stage_field(leaving.code, "escalation_reason"), reason)
    for name, value in (form_answers or {}).items():
        record.seal_answer(session, notice, dek, name, value)
    current.ended_at = utcnow()
    current.ended_on = services.today()
    current.count_working_days()
    current.outcome = OUTCOME_ESCALATED
    record.add_event(
        session,
        notice,
        user,
        "escalated",
        f"Escalated from {leaving.name} to {target.name}"
        + ("; the child was reported at immediate risk and a referral recorded" if immediate_risk else ""),
        stage=leaving.code,
    )
    told = messages.notify(
        session, services, notice, leaving, When.ON_CLOSE, extra=f"It has been escalated to {target.name}."
    )
    answered_by = [r.email for r in notice.recipients if r.stage == leaving.code]
    answers = record.answers_with_key(notice, dek)
    agency_ids = routing.involved_agency_ids(notice, answers, record.definition_of(notice).agency_fields)
    recipients = routing.stage_recipients(session, notice, target, chosen=chosen, agency_ids=agency_ids)
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
    # The other side learns the notice moved on, once: the raiser when someone else escalated it, and (when the
    # raiser's side or the business unit escalated it) the agencies that were answering at the stage left, unless
    # the stage's rules or the next stage already told them.
    others = [notice.raised_by.email] if user.id != notice.raised_by_id else []
    if conversation.side_of(user, notice) != "recipient":
        others += answered_by
    already = {*told, *entered.told, user.email}
    messages.send(
        session,
        services,
        notice,
        [a for a in others if a not in already],
        f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: escalated",
        f"This notice has been escalated from {leaving.name} to {target.name} ({notice.partnership.name}).",
    )
    record.touch(notice)
    new_version(session, services, notice, dek)
    record.audit_action(session, services, user, notice, "escalate", remote_addr)
    session.commit()
    return entered


def close(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    closure: dict[str, str],
    outcome: str | None = None,
    evidence: tuple[str, bytes] | None = None,
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> Notice:
    """Close the notice at its current stage with the agreed outcome, its code and the closure record.

    ``evidence`` is an optional (file name, content) given with the closure (the written confirmation between
    the parties, say): checked and sealed like any evidence, listed in the closing version and the child's file.

    The outcome code, whether a debrief took place and whether general issues were flagged are also kept plain
    for reports (docs/categories.md); flagged issues open an item on the business unit's learning log.
    """
    notice, current, stage = record.load_current(
        session,
        services,
        user,
        notice_id,
        "close",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    for name in record.procedure_of(notice).close_requires:
        if not closure.get(name, "").strip():
            raise RuleBrokenError(name, "Answer this before closing the notice")
    if outcome not in OUTCOME_LABELS:
        raise RuleBrokenError("outcome_code", "Select the outcome of the escalation")
    kind = attachments.checked_kind(session, evidence[1], notice_id=notice.id) if evidence else None
    dek = record.data_key(session, services, notice)
    for name, value in closure.items():
        if value:
            record.seal_answer(session, notice, dek, record.closure_field(name), value)
    if evidence and kind:
        _attach_at_closure(session, notice, user, dek, evidence, kind)
    now = utcnow()
    current.ended_at = now
    current.ended_on = services.today()
    current.count_working_days()
    current.outcome = OUTCOME_RESOLVED
    notice.status = NoticeStatus.CLOSED
    notice.closed_at = now
    notice.closed_on = services.today()
    notice.outcome_code = outcome
    notice.debrief_held = closure.get("debrief", "").strip().lower() == "yes"
    learning = closure.get("learning", "").strip()
    notice.learning_flagged = bool(learning) and learning != NO_LEARNING
    if notice.learning_flagged:
        session.add(LearningItem(notice_id=notice.id, partnership_id=notice.partnership_id, created_at=now))
    record.add_event(
        session, notice, user, "closed", f"Closed at {stage.name} with an agreed outcome", stage=stage.code
    )
    # The closure mail is the one that tells each involved agency its child's-file summary is ready (no second mail).
    closed = f"The notice is closed. {CHILD_FILE_READY}"
    addresses = messages.notify(session, services, notice, stage, When.ON_CLOSE, extra=closed)
    # Everyone the notice went to, and whoever raised it, learns that it is closed.
    others = [r.email for r in notice.recipients] + [notice.raised_by.email]
    messages.send(
        session,
        services,
        notice,
        [a for a in others if a not in addresses],
        messages.subject(notice, When.ON_CLOSE, False),
        messages.body(notice, stage, When.ON_CLOSE, closed),
    )
    record.touch(notice)
    version = new_version(session, services, notice, dek)
    child_file.issue(session, services, notice, dek, user, version)
    record.audit_action(session, services, user, notice, "close", remote_addr)
    session.commit()
    return notice


def _attach_at_closure(
    session: Session, notice: Notice, user: User, dek: bytes, evidence: tuple[str, bytes], kind: str
) -> None:
    filename, data = evidence
    attachments.seal(
        session,
        key_id=notice.data_key_id,
        dek=dek,
        owner_id=notice.id,
        user=user,
        stage=attachments.CLOSURE_STAGE,
        filename=filename,
        data=data,
        kind=kind,
    )
    label = f"{file_types.KINDS[kind].label}, {attachments.size_label(len(data))}"
    record.add_event(session, notice, user, "evidence", f"Evidence attached with the closure: {label}")


def withdraw(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    reason: str,
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> Notice:
    """Withdraw an open notice with a reason: its stage ends unresolved, both sides and the business unit are told
    by a link-only e-mail, and a last signed version records it. Decided under the notice's row lock."""
    notice, current, stage = record.load_current(
        session,
        services,
        user,
        notice_id,
        "withdraw",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    if not reason.strip():
        raise RuleBrokenError("reason", "Enter why the notice is being withdrawn")
    dek = record.data_key(session, services, notice)
    record.seal_answer(session, notice, dek, record.WITHDRAWAL_FIELD, reason.strip())
    now = utcnow()
    current.ended_at = now
    current.ended_on = services.today()
    current.count_working_days()
    current.outcome = OUTCOME_WITHDRAWN
    notice.status = NoticeStatus.WITHDRAWN
    notice.closed_at = now
    # Reports count a withdrawal as a closure with the outcome "withdrawn" (docs/categories.md#outcomes).
    notice.closed_on = services.today()
    notice.outcome_code = "withdrawn"
    by = "the business unit" if user.id != notice.raised_by_id else "the practitioner who raised it"
    record.add_event(
        session, notice, user, "withdrawn", f"Withdrawn at {stage.name} by {by}, with a reason", stage=stage.code
    )
    addresses = [r.email for r in notice.recipients] + [notice.raised_by.email]
    addresses += routing.business_unit_addresses(session, notice)
    messages.send(
        session,
        services,
        notice,
        addresses,
        f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: withdrawn",
        f"This notice has been withdrawn at {stage.name} by {by} ({notice.partnership.name}). "
        "The reason is recorded on the notice.",
    )
    record.touch(notice)
    new_version(session, services, notice, dek)
    record.audit_action(session, services, user, notice, "withdraw", remote_addr)
    session.commit()
    return notice


def new_version(session: Session, services: PortalServices, notice: Notice, dek: bytes) -> int:
    """Issue the next signed PDF version of the notice, from what is recorded now; return its number."""
    session.flush()
    return documents.issue_version(session, services, notice, dek=dek)
