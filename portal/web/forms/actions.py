"""The forms of the response loop: acknowledge, respond, agree a due date, escalate, close, chase.

These are the same for every partnership: what differs (who may use them, which stages there are, the
deadline rules, who is told) comes from the notice's procedure, in ``portal.services.transitions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import request
from werkzeug.datastructures import FileStorage
from wtforms import FileField, SubmitField

from portal.domain.categories import NO_LEARNING, OUTCOMES
from portal.domain.notice_definition import YES_NO
from portal.domain.procedure import Stage
from portal.web.forms.base import PortalForm, contact_choice, long_text, radio_choice
from portal.web.forms.fields import GovukDateField, SelectChoice, add_error
from portal.web.forms.stencils import FileInput, SubmitButton


class ButtonForm(PortalForm):
    """A single confirmed action (acknowledge receipt, chase now): the CSRF token and a button."""

    submit = SubmitField("Continue", widget=SubmitButton())


class RespondForm(PortalForm):
    response = long_text(
        "Your response: the outcome at this stage and the reasons for it",
        required="Enter your response, including the outcome and the reasons for it",
    )
    agreed_actions = long_text(
        "Actions agreed, who will take them and by when", required=None, hint="Leave blank if no actions were agreed."
    )
    submit = SubmitField("Record response", widget=SubmitButton())


class DueDateForm(PortalForm):
    agreed_due = GovukDateField(
        "Date agreed for this stage to be concluded", subject="Agreed date", description="For example, 14 4 2026"
    )
    submit = SubmitField("Save agreed date", widget=SubmitButton())


class EscalateForm(PortalForm):
    immediate_risk = radio_choice(
        "Is the child at immediate risk of significant harm?",
        YES_NO,
        required="Select yes if the child is at immediate risk of significant harm",
    )
    referral = long_text(
        "If yes: how and when was the child protection referral made?",
        required=None,
        hint="For example, the time you telephoned the front door and who you spoke to.",
        max_length=2000,
    )
    to_stage = radio_choice("Escalate to", (), required="Select the stage to escalate to")
    reason = long_text(
        "What remains unresolved, and why does it need the next stage?",
        required="Enter what remains unresolved and why it needs the next stage",
    )
    skip_reason = long_text(
        "Why must the notice go straight to this stage?",
        required=None,
    )
    send_to_1 = contact_choice(
        "Send to", required=None, hint="Leave blank to send it to the contacts named above for the stage."
    )
    send_to_2 = contact_choice("Also send to", required=None, hint="Optional: a second contact.")
    submit = SubmitField("Escalate notice", widget=SubmitButton())

    def offer(self, targets: Sequence[tuple[Stage, bool]], contacts: Sequence[tuple[str, str]]) -> None:
        """Offer the stages the notice may move to (marking a skip) and the partnership's active contacts."""
        self.to_stage.choices = [
            SelectChoice(stage.code, stage.name + (" (skipping a stage: give the reason below)" if needs else ""))
            for stage, needs in targets
        ]
        offered = [SelectChoice("", "Choose a contact"), *(SelectChoice(v, label) for v, label in contacts)]
        self.send_to_1.choices = offered
        self.send_to_2.choices = offered
        # Where no way on skips a stage the page asks no reason, so none posted is an answer.
        self.asks_skip_reason = any(needs for _, needs in targets)
        # The one way on is stated on the page, not asked: it is the answer whatever is posted.
        self.only_stage = targets[0][0].code if len(targets) == 1 else None

    asks_skip_reason = True
    only_stage: str | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        if self.only_stage:
            # Nothing was offered to choose, so nothing posted changes it.
            self.to_stage.data = self.only_stage
        ok = bool(super().validate(extra_validators))
        if not self.asks_skip_reason:
            self.skip_reason.data, self.skip_reason.errors = "", []
            ok = not any(f.errors for f in self)
        if self.immediate_risk.data == "yes" and not (self.referral.data or "").strip():
            add_error(self.referral, "Enter how and when the child protection referral was made")
            ok = False
        if self.send_to_1.data and self.send_to_1.data == self.send_to_2.data:
            add_error(self.send_to_2, "Choose a different second contact, or leave it blank")
            ok = False
        return ok


class CloseForm(PortalForm):
    outcome_code = radio_choice(
        "What was the outcome of the escalation?",
        OUTCOMES,
        required="Select the outcome of the escalation",
        hint="The partnership counts these in its reports. Describe the outcome in your own words below.",
    )
    agreed_outcome = long_text("What outcome was agreed?", required="Enter the outcome that was agreed")
    written_confirmation = long_text(
        "Written confirmation between the parties about the agreed outcome, and how any outstanding issues will be "
        "pursued",
        required="Enter the written confirmation between the parties",
    )
    impact_on_child = long_text(
        "How has the resolution improved the outcome for the child or family?",
        required="Enter how the resolution improved the outcome for the child or family",
    )
    debrief = radio_choice("Has a debrief taken place?", YES_NO, required="Select yes if a debrief has taken place")
    learning_identified = radio_choice(
        "Were any general issues identified for the partnership, to inform learning and improvement?",
        YES_NO,
        required="Select yes if any general issues were identified for the partnership",
    )
    learning = long_text("If yes: what are they?", required=None)
    # Optional: the written confirmation between the parties, or other evidence, given with the closure.
    file = FileField(
        "Attach the written confirmation or other evidence (optional)",
        widget=FileInput(),
        description="One file: PDF, Word, Excel, an image or a saved e-mail. It is never sent by e-mail.",
    )
    submit = SubmitField("Close notice", widget=SubmitButton())

    @property
    def upload(self) -> FileStorage | None:
        """The file given with the closure, if any (read from the request, as EvidenceForm does)."""
        found = request.files.get(self.file.name)
        return found if found is not None and found.filename else None

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        if self.learning_identified.data == "yes" and not (self.learning.data or "").strip():
            add_error(self.learning, "Enter the general issues identified for the partnership")
            ok = False
        return ok

    def closure(self) -> dict[str, str]:
        """The closure record as the engine stores it (docs/procedures.md#rule-17)."""
        learning = (self.learning.data or "").strip() if self.learning_identified.data == "yes" else ""
        return {
            "agreed_outcome": self.agreed_outcome.data or "",
            "written_confirmation": self.written_confirmation.data or "",
            "impact_on_child": self.impact_on_child.data or "",
            "debrief": self.debrief.data or "",
            "learning": learning or NO_LEARNING,
        }


class WithdrawForm(PortalForm):
    reason = long_text(
        "Why are you withdrawing the notice?",
        required="Enter why the notice is being withdrawn",
        hint="Both sides and the partnership business unit will be told it was withdrawn; the reason stays on the "
        "notice.",
        max_length=2000,
    )
    submit = SubmitField("Withdraw notice", widget=SubmitButton())


class DeleteDraftForm(PortalForm):
    confirm = radio_choice(
        "Are you sure you want to delete this unfinished notice?",
        (("yes", "Yes, delete it"), ("no", "No, keep it")),
        required="Select yes to delete the unfinished notice",
    )
    submit = SubmitField("Continue", widget=SubmitButton())


class MessageForm(PortalForm):
    text = long_text(
        "Your message",
        required="Enter your message",
        hint="Everyone on the notice can read it: the raising practitioner, the agencies it was sent to and the "
        "business unit. They are told by e-mail that there is a message, not what it says.",
        max_length=5000,
    )
    submit = SubmitField("Send message", widget=SubmitButton())


class EvidenceForm(PortalForm):
    file = FileField("Upload a file", widget=FileInput())
    submit = SubmitField("Attach file", widget=SubmitButton())

    @property
    def upload(self) -> FileStorage | None:
        """The uploaded file (PortalForm keeps files out of the answers, so it is read from the request)."""
        found = request.files.get(self.file.name)
        return found if found is not None and found.filename else None

    def validate(self, extra_validators: Any = None) -> bool:
        ok = bool(super().validate(extra_validators))
        if self.upload is None:
            self.file.errors = [*self.file.errors, "Select a file"]
            ok = False
        return ok
