"""Messages between the parties on a notice: the raiser's side, the recipient's side and the business unit.

A message is narrative like any other, so it is sealed under the notice's data key in ``notice_answer`` (named
``msg.0001``, ``msg.0002`` …, bound to the notice and that name), and so is re-encrypted by data-key rotation and
destroyed with the notice when it is shredded. Who wrote it and when is sealed with the text; the timeline says
only that a side wrote. The other sides are told by a link-only e-mail. Written under the notice's row lock,
so two messages at once get different numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from portal.domain.dates import long_datetime
from portal.domain.models import Notice, User, utcnow
from portal.domain.policy import parts
from portal.services import messages, record, routing
from portal.services.errors import RuleBrokenError
from portal.services.runtime import PortalServices

PREFIX = "msg."
MAX_LENGTH = 5000
SIDES = {
    "raiser": "the raising practitioner",
    "recipient": "the recipient agency",
    "business_unit": "the business unit",
}


@dataclass(frozen=True)
class Message:
    number: int
    side: str
    author: str
    at: str
    text: str

    @property
    def side_label(self) -> str:
        return SIDES.get(self.side, self.side)


def side_of(user: User, notice: Notice) -> str:
    """The side a user writes for: the raiser's, the recipient's (any agency the notice went to) or the BU's."""
    held = parts(user, notice)
    if "raiser" in held:
        return "raiser"
    if held & {"recipient", "earlier_recipient"}:
        return "recipient"
    return "business_unit"


def other_sides(session: Session, notice: Notice, user: User, stage: str) -> list[str]:
    """The addresses of the sides ``user`` does not write for: the raiser, the agencies the current stage went to,
    the business unit (never the writer). Told by a link-only e-mail when a side adds to the notice."""
    side = side_of(user, notice)
    addresses: list[str] = []
    if side != "raiser":
        addresses.append(notice.raised_by.email)
    if side != "recipient":
        addresses += [r.email for r in notice.recipients if r.stage == stage]
    if side != "business_unit":
        addresses += routing.business_unit_addresses(session, notice)
    return [a for a in addresses if a != user.email]


def post(
    session: Session,
    services: PortalServices,
    user: User,
    notice_id: str,
    *,
    text: str,
    seen_version: int | None = None,
    seen_stage: str | None = None,
    remote_addr: str = "",
) -> Message:
    """Add a message to an open notice and tell the other sides by a link-only e-mail."""
    notice, current, stage = record.load_current(
        session,
        services,
        user,
        notice_id,
        "message",
        remote_addr=remote_addr,
        seen_version=seen_version,
        seen_stage=seen_stage,
    )
    text = text.strip()
    if not text:
        raise RuleBrokenError("text", "Enter your message")
    side = side_of(user, notice)
    number = 1 + sum(1 for a in notice.answers if a.field_name.startswith(PREFIX))
    at = utcnow()
    message = Message(number, side, user.name, long_datetime(at), text)
    dek = record.data_key(session, services, notice)
    payload = {"side": side, "author": user.name, "at": at.isoformat(), "text": text}
    record.seal_answer(session, notice, dek, f"{PREFIX}{number:04d}", json.dumps(payload))
    record.add_event(session, notice, user, "message", f"Message from {SIDES[side]}", stage=stage.code)
    messages.send(
        session,
        services,
        notice,
        other_sides(session, notice, user, current.stage),
        f"OFFICIAL-SENSITIVE: escalation notice {notice.reference}: new message",
        f"There is a new message from {SIDES[side]} on this notice ({notice.partnership.name}).",
    )
    record.touch(notice)
    record.audit_action(session, services, user, notice, "message", remote_addr)
    session.commit()
    return message


def thread(answers: dict[str, str]) -> list[Message]:
    """The notice's messages, oldest first, from its decrypted answers."""
    found = []
    for name in sorted(n for n in answers if n.startswith(PREFIX)):
        data = json.loads(answers[name])
        at = long_datetime(datetime.fromisoformat(data["at"]))
        found.append(Message(int(name[len(PREFIX) :]), data["side"], data["author"], at, data["text"]))
    return found
