"""Bait notices (docs/threats.md#property-25): a notice no member of staff has any reason to open.

A honey-token notice is planted with a made-up child under a partnership, raised by a disabled account and
sent to nobody, and kept out of every list and export, so no legitimate path through the portal leads to
it. Its id is recorded in the key directory, not the database. Anyone who reaches it by its id (read,
download, any action, whether allowed or refused), as an insider browsing ids copied from the database or
a scraper walking them, raises a high-severity alarm: an audit entry, a CRITICAL log line and an e-mail to
the security contact. The alarm names the account and the address, never the bait's contents.
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.models import Notice, NoticeStatus, Partnership, Role, SafetyCheck, utcnow
from portal.partnerships import notice_definition, procedure_for
from portal.services import record, vault
from portal.services.accounts import create_user
from portal.services.references import next_reference
from portal.services.runtime import HONEYTOKEN_FILE, PortalServices

# Plausible but made up; the NHS number is in the 999 range, which is never issued.
_BAIT_NAMES = ("Jayden Marsh", "Ellie Crowther", "Kacper Nowak", "Amira Hussain", "Tyler Bradshaw")


def plant(session: Session, services: PortalServices, key_dir: Path, partnership_slug: str) -> str:
    """Create a bait notice under a partnership and record its id in the key directory; return the id."""
    partnership = session.execute(select(Partnership).where(Partnership.slug == partnership_slug)).scalar_one()
    definition = notice_definition(partnership.form_code)
    if definition is None:
        raise LookupError(partnership.form_code)
    procedure = procedure_for(partnership.slug, partnership.procedure_version)
    agency = partnership.agencies[0] if partnership.agencies else None
    raiser = create_user(
        session,
        services.keyring,
        services.passwords,
        email=f"bait-{secrets.token_hex(4)}@{partnership.slug}.invalid",
        name="Former member of staff",
        role=Role.PRACTITIONER,
        partnership_slug=partnership.slug,
        agency_name=agency.name if agency else None,
    ).user
    # Disabled: the bait's "raiser" can never sign in, so nobody has a relationship to it.
    raiser.is_active = False
    check = SafetyCheck(user_id=raiser.id, partnership_id=partnership.id, immediate_risk=False)
    session.add(check)
    key_row, dek = vault.create_data_key(session, services.keyring, purpose="notice")
    session.flush()
    today = services.today()
    notice = Notice(
        reference=next_reference(session, partnership, today.year),
        partnership_id=partnership.id,
        form_code=definition.code,
        procedure_version=partnership.procedure_version,
        stage=procedure.entry_stage,
        status=NoticeStatus.OPEN,
        raised_by_id=raiser.id,
        raising_agency_id=agency.id if agency else None,
        data_key_id=key_row.id,
        safety_check_id=check.id,
        date_of_notification=today,
        concern_date=today,
        submitted_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(notice)
    session.flush()
    bait = {
        "child_name": secrets.choice(_BAIT_NAMES),
        "child_dob": date(today.year - 9, 1 + secrets.randbelow(12), 1 + secrets.randbelow(28)).isoformat(),
        "nhs_number": "9990000026",
    }
    for name, value in bait.items():
        if name in definition.field_order:
            record.seal_answer(session, notice, dek, name, value)
    record.add_event(session, notice, raiser, "raised", f"Raised under {procedure.title}", stage=notice.stage)
    path = key_dir / HONEYTOKEN_FILE
    existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    session.commit()
    path.write_text(json.dumps(sorted({*existing, notice.id})), encoding="utf-8")
    path.chmod(0o600)
    return notice.id
