"""Development only: read the e-mail the portal has sent, which never leaves this machine."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from portal.domain.models import OutboxMessage
from portal.web.access import rule
from portal.web.database import get_session

bp = Blueprint("devmail", __name__, url_prefix="/dev")


@bp.get("/mail")
@rule("dev_only")
def mailbox() -> str:
    # Registered only when ENV is development; the messages hold a reference and a link, no case data.
    messages = (
        get_session().execute(select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(200)).scalars()
    )
    return render_template("devmail/mailbox.html", messages=list(messages))
