"""The business unit's bulk download: the signed PDFs of the notices raised in a period, as one ZIP.

Capped (MAX_NOTICES a download), audited before the first byte with the count, and streamed: each PDF is
decrypted, audited as a download of its notice, added and sent in turn, so memory holds one PDF, not the set.
The business unit gets the copy it gets one at a time (Trafford's without the child's identifiers:
portal.services.casework.copy_for); file names are references and versions only.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from portal.domain.models import Notice, User
from portal.services import audit, casework, documents, record
from portal.services.errors import RuleBrokenError
from portal.services.reports import MARKING, Period, file_stem
from portal.services.runtime import PortalServices

MAX_NOTICES = 200


class _Sink:
    """A write-only stream zipfile writes into; ``take`` hands back what was written since the last take."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _scope(services: PortalServices, user: User, period: Period) -> list[ColumnElement[bool]]:
    return [
        Notice.partnership_id == user.partnership_id,
        Notice.id.not_in(sorted(services.honeytokens)),
        Notice.shredded_at.is_(None),
        Notice.opened_on.between(period.start, period.end),
    ]


def count_for(session: Session, services: PortalServices, user: User, period: Period) -> int:
    """How many notices a ZIP of ``period`` would hold (the page offers it only within the cap)."""
    return session.execute(select(func.count()).where(*_scope(services, user, period))).scalar_one()


def pdf_zip(
    session: Session, services: PortalServices, user: User, period: Period, *, remote_addr: str = ""
) -> tuple[str, Iterator[bytes]]:
    """(file name, ZIP chunks) of the newest signed PDF of every notice raised in ``period``; audited."""
    ids = list(
        session.execute(
            select(Notice.id).where(*_scope(services, user, period)).order_by(Notice.opened_on, Notice.reference)
        ).scalars()
    )
    if len(ids) > MAX_NOTICES:
        raise RuleBrokenError("choose", f"Choose a period with at most {MAX_NOTICES} notices to download at once")
    audit.record(
        session,
        services.keyring.audit_key,
        action="notice.bulk_download",
        outcome="ok",
        actor_id=user.id,
        object_type="report",
        object_id=f"{period.start:%Y%m%d}-{period.end:%Y%m%d} n={len(ids)}",
        remote_addr=remote_addr,
    )
    session.commit()
    return f"{file_stem(user.partnership, period).replace('-report-', '-notices-')}.zip", _chunks(
        session, services, user, ids, remote_addr
    )


def _chunks(
    session: Session, services: PortalServices, user: User, ids: list[str], remote_addr: str
) -> Iterator[bytes]:
    sink = _Sink()
    try:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]  # _Sink writes; typeshed asks for seek too
            archive.comment = f"{MARKING}: signed notices, {len(ids)}".encode()
            for notice_id in ids:
                # Each notice through the one door every read uses: its own rule, and the bait alarm.
                notice = record.load_for(session, services, user, notice_id, "download", remote_addr=remote_addr)
                copy = casework.copy_for(user, record.definition_of(notice))
                version, pdf = documents.open_version(session, services, notice, None, copy)
                # Each PDF is audited as a download of that version, as if fetched alone, and committed before
                # its bytes leave: a notice's own history then shows every copy taken of it, and a download cut
                # off part-way has audited the PDFs it began to send, none after (the count above is what was
                # asked for).
                audit.record(
                    session,
                    services.keyring.audit_key,
                    action="notice.download",
                    outcome="allowed",
                    actor_id=user.id,
                    object_type="notice_document",
                    object_id=f"{notice.id}/v{version}",
                    remote_addr=remote_addr,
                )
                session.commit()
                archive.writestr(f"{notice.reference}-v{version}.pdf", pdf)
                yield sink.take()
        yield sink.take()
    finally:
        session.rollback()
