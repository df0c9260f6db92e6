"""Typed ORM models. The schema itself comes only from Alembic migrations (migrations/versions)."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy import false as sql_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from portal.domain.working_days import ENGLAND_AND_WALES_CALENDAR

# Named constraints make Alembic batch migrations on SQLite workable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    """The form an e-mail address is stored and looked up in."""
    return email.strip().lower()


def new_id() -> str:
    """Return a random opaque identifier for rows whose id appears in URLs."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC (SQLite has no time zones) and always hand back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), bytes: LargeBinary, dict[str, Any]: JSON}


class Role(enum.StrEnum):
    PRACTITIONER = "practitioner"
    SPOC = "spoc"
    BUSINESS_MANAGER = "business_manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {
            "practitioner": "Practitioner",
            "spoc": "Single Point of Contact (SPOC)",
            "business_manager": "Business manager",
            "admin": "Administrator",
        }[self.value]


class NoticeStatus(enum.StrEnum):
    """Where a notice stands as a whole (its stage records say where it stands in the procedure)."""

    OPEN = "open"
    CLOSED = "closed"
    # Withdrawn by whoever raised it (or the business unit) before it was resolved; kept and shredded like a
    # closed notice.
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"open": "Open", "closed": "Closed", "withdrawn": "Withdrawn"}[self.value]


class Partnership(Base):
    """A local safeguarding children partnership (or, for Halton 2013, board) and its procedure."""

    __tablename__ = "partnership"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    # Reference prefix, e.g. "ROC" in ROC-2026-0001.
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    form_code: Mapped[str] = mapped_column(String(60))
    procedure_version: Mapped[str] = mapped_column(String(60))
    is_legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where a practitioner makes a child protection referral today; shown at the immediate-risk gate.
    front_door: Mapped[str] = mapped_column(Text, default="")
    # Who keeps the directory current (from the seed, e.g. "RBSB.admin@rochdale.gov.uk").
    directory_owner: Mapped[str] = mapped_column(String(200), default="")
    # Set the first time the partnership changes its directory in the portal: from then on the seed import
    # (`init`, run on every deployment) leaves this partnership's directory as the partnership keeps it.
    directory_managed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Moves on with every change to the partnership's agencies or contacts (database triggers, migration
    # 0010): workers cache the form's directory choices against it (portal.services.routing.form_choices).
    directory_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    agencies: Mapped[list[Agency]] = relationship(back_populates="partnership", order_by="Agency.position")


class Agency(Base):
    """An agency or service in a partnership's SPOC directory."""

    __tablename__ = "agency"
    __table_args__ = (UniqueConstraint("partnership_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Instructions that matter to a sender, e.g. GMP's "must include a telephone call".
    sender_note: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    review_due: Mapped[date | None] = mapped_column(Date, nullable=True)

    partnership: Mapped[Partnership] = relationship(back_populates="agencies")
    contacts: Mapped[list[DirectoryContact]] = relationship(
        back_populates="agency", order_by="DirectoryContact.position"
    )


class DirectoryContact(Base):
    """A SPOC entry: the role (or named post) and mailbox that receives notices for an agency."""

    __tablename__ = "directory_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    role_title: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    telephone: Mapped[str | None] = mapped_column(String(60), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # False for a contact added by hand (`directory add-contact`): a seed import never deactivates it.
    from_seed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # When this entry is next checked (per contact: an agency's contacts are confirmed one by one). A sender
    # choosing a contact past this date is told the entry may be out of date.
    review_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Where the entry came from: the published document, or who entered it in the portal.
    source: Mapped[str] = mapped_column(String(300), default="", server_default="")

    agency: Mapped[Agency] = relationship(back_populates="contacts")

    @property
    def label(self) -> str:
        return f"{self.agency.name}: {self.role_title}"


class DataKey(Base):
    """A per-notice (or per-user) data key, stored only wrapped by a key-encryption key held outside the DB."""

    __tablename__ = "data_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kek_id: Mapped[str] = mapped_column(String(64))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the key is destroyed (crypto-shredding): wrapped is then NULL.
    destroyed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class User(Base):
    """A member of staff: practitioner, SPOC, business manager or administrator."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str] = mapped_column(String(200), default="")
    telephone: Mapped[str] = mapped_column(String(60), default="")
    role: Mapped[str] = mapped_column(String(30))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"))
    totp_secret_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Highest TOTP time step accepted: a code from this step or earlier is never accepted again.
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    partnership: Mapped[Partnership] = relationship()
    agency: Mapped[Agency | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    # What Flask-Login asks of a user object (its UserMixin, written out so the records need no web library).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class AttemptClaim(Base):
    """An attempt at something capped (a sign-in step, an export), claimed before it is worked on
    (portal.services.limits): outcome None while in flight, then "ok" or "failed"."""

    __tablename__ = "attempt_claim"
    __table_args__ = (Index("ix_attempt_claim_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)


class WebSession(Base):
    """A server-side session: the cookie holds only a random token whose SHA-256 is the id."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)


class SafetyCheck(Base):
    """The answer to "is the child at immediate risk of significant harm?" and the advice shown."""

    __tablename__ = "safety_check"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"))
    notice_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    immediate_risk: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    referral_advice_shown_at: Mapped[datetime | None] = mapped_column(nullable=True)


class NoticeDraft(Base):
    """A notice being written: answers held encrypted under the notice's own data key until submitted."""

    __tablename__ = "notice_draft"

    # The draft's id becomes the notice's id, so ciphertexts stay bound to the same row identity.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"))
    form_code: Mapped[str] = mapped_column(String(60))
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"))
    safety_check_id: Mapped[str] = mapped_column(ForeignKey("safety_check.id"))
    answers_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The reference its first submit was given (migration 0015): every later submit of the draft uses it.
    reference: Mapped[str | None] = mapped_column(String(30), nullable=True)


class Notice(Base):
    """A formal notice raised under a partnership's procedure."""

    __tablename__ = "notice"
    # Lists read a page at a time in (submitted_at, id) order within a partnership or a raiser (migration 0010);
    # reports read one partnership's notices raised, or closed, over a range of days (portal.services.reports).
    __table_args__ = (
        Index("ix_notice_partnership_submitted", "partnership_id", "submitted_at", "id"),
        Index("ix_notice_raised_by_submitted", "raised_by_id", "submitted_at", "id"),
        Index("ix_notice_partnership_opened", "partnership_id", "opened_on"),
        Index("ix_notice_partnership_closed", "partnership_id", "closed_on"),
        # The business unit's list in order of reference, paged by keyset on (reference, id).
        Index("ix_notice_partnership_reference", "partnership_id", "reference", "id"),
        # A submit's repeat check on its pair of agencies reads the raising agency's last six months (0016).
        Index("ix_notice_raising_agency_opened", "raising_agency_id", "opened_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"), index=True)
    form_code: Mapped[str] = mapped_column(String(60))
    procedure_version: Mapped[str] = mapped_column(String(60))
    stage: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    raising_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), nullable=True)
    data_key_id: Mapped[str] = mapped_column(ForeignKey("data_key.id"))
    safety_check_id: Mapped[str] = mapped_column(ForeignKey("safety_check.id"))
    date_of_notification: Mapped[date] = mapped_column(Date)
    # "Day 1" of the procedure's clocks (Pan Cheshire counts steps from the day the concern arose).
    concern_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Crypto-shredding (portal/services/retention.py): when set, the data key is destroyed and the answers,
    # PDFs and index rows are gone; the row stays, de-identified, for the partnership's statistics.
    shredded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # A legal hold (an inquiry, litigation) stops shredding whatever the retention rule says.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_false())
    legal_hold_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    legal_hold_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    legal_hold_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Moves on with every change (portal.services.record.touch): a page posts the version it showed, so a
    # change made meanwhile by someone else is told apart from an action that was never allowed.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Coded at closure for reports (portal.domain.categories): not identifiers, not narrative, so kept plain
    # and counted without decrypting (docs/categories.md). NULL on a notice closed before they were recorded.
    outcome_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    debrief_held: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    learning_flagged: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # The days in England the notice was raised and closed (services.today()): the days reports count by,
    # the same days the stage clocks run on.
    # Repeat escalations found when the notice was submitted (portal.services.repeats), for the business
    # unit's list: the same child within 12 months, the same pair of agencies a third time in six months.
    repeat_child: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    repeat_pair: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    opened_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    partnership: Mapped[Partnership] = relationship()
    raised_by: Mapped[User] = relationship()
    raising_agency: Mapped[Agency | None] = relationship()
    # Only for loading the wrapped key with the notice (the notice page), so unwrapping it reads no row of its
    # own: keys are still found by data_key_id (portal.services.vault), which is what is written.
    data_key: Mapped[DataKey] = relationship(viewonly=True)
    recipients: Mapped[list[NoticeRecipient]] = relationship(
        back_populates="notice", order_by="NoticeRecipient.position"
    )
    answers: Mapped[list[NoticeAnswer]] = relationship(back_populates="notice")
    documents: Mapped[list[NoticeDocument]] = relationship(back_populates="notice", order_by="NoticeDocument.version")
    stages: Mapped[list[NoticeStage]] = relationship(back_populates="notice", order_by="NoticeStage.position")

    @property
    def current_stage(self) -> NoticeStage | None:
        """Return the stage record the notice is at (the last one entered)."""
        return self.stages[-1] if self.stages else None

    @property
    def status_enum(self) -> NoticeStatus:
        return NoticeStatus(self.status)

    @property
    def is_open(self) -> bool:
        """Whether the notice is still being resolved: the one test of "open" the portal uses."""
        return self.status == NoticeStatus.OPEN


class NoticeStage(Base):
    """One stage a notice has been at: when it started, its due date, and what happened there.

    The narrative (responses, reasons) is not here: it is encrypted in notice_answer under the notice's key.
    """

    __tablename__ = "notice_stage"
    __table_args__ = (
        UniqueConstraint("notice_id", "stage"),
        # The chaser and the business unit's list look for open stages by due date.
        Index("ix_notice_stage_open_due", "ended_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"), index=True)
    # The procedure's stage code, under the procedure version the notice was opened with.
    stage: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)
    # Calendar dates in England: the clocks count working days between them.
    started_on: Mapped[date] = mapped_column(Date)
    start_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    agreed_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    skipped_from: Mapped[str | None] = mapped_column(String(40), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The day in England the stage ended: reports count its working days from started_on to this.
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Working days from started_on to ended_on, kept when the stage ends so that reports take medians over
    # 100,000 stages in SQL without counting a calendar per row (docs/reports.md#performance).
    working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "escalated" (moved on) or "resolved" (the notice closed at this stage).
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The first day of the overdue period the responder was last chased in: one chase per period
    # (portal.services.chaser.overdue_period).
    last_chased_period: Mapped[date | None] = mapped_column(Date, nullable=True)
    chase_count: Mapped[int] = mapped_column(Integer, default=0)

    notice: Mapped[Notice] = relationship(back_populates="stages")

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def count_working_days(self) -> None:
        """Keep the working days the stage took, once it has ended (portal.domain.working_days)."""
        if self.ended_on is not None:
            self.working_days = ENGLAND_AND_WALES_CALENDAR.working_days_between(self.started_on, self.ended_on)


class NoticeAnswer(Base):
    """One encrypted answer on a notice, bound by associated data to this notice and this field name."""

    __tablename__ = "notice_answer"
    __table_args__ = (UniqueConstraint("notice_id", "field_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"), index=True)
    field_name: Mapped[str] = mapped_column(String(60))
    value_ct: Mapped[bytes] = mapped_column(LargeBinary)

    notice: Mapped[Notice] = relationship(back_populates="answers")


class NoticeBlindIndex(Base):
    """A truncated keyed hash of a child's identifier on a notice, for exact search without decrypting.

    One row per notice, kind and blind-index key version (two versions only while the key rotates). Kinds
    are the NHS number, or the surname and date of birth together: never the date of birth alone, whose
    small range would let anyone with the index key enumerate it (docs/threats.md#property-8).
    """

    __tablename__ = "notice_blind_index"
    __table_args__ = (
        UniqueConstraint("notice_id", "kind", "key_version"),
        CheckConstraint("kind IN ('nhs_number', 'surname_dob')", name="kind"),
        # Search looks values up by kind and key version.
        Index("ix_notice_blind_index_lookup", "kind", "key_version", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"))
    # Never set: it tells a flush to write the notice before its rows (a submit writes them in one flush).
    notice: Mapped[Notice] = relationship(foreign_keys=[notice_id])
    kind: Mapped[str] = mapped_column(String(20))
    key_version: Mapped[int] = mapped_column(Integer)
    # HMAC-SHA256 under the version's key, truncated to portal.services.search.INDEX_BITS bits.
    value: Mapped[int] = mapped_column(Integer)


class NoticeRecipient(Base):
    """A directory contact the notice was sent to ("Notification has been sent to: 1. 2.")."""

    __tablename__ = "notice_recipient"
    # A SPOC's home page: the notices sent to one agency (migration 0010).
    __table_args__ = (Index("ix_notice_recipient_agency_notice", "agency_id", "notice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("directory_contact.id"))
    # The address used, kept as sent even if the directory changes later.
    email: Mapped[str] = mapped_column(String(254))
    # The stage this contact was sent the notice at.
    stage: Mapped[str | None] = mapped_column(String(40), nullable=True)

    notice: Mapped[Notice] = relationship(back_populates="recipients")
    agency: Mapped[Agency] = relationship()
    contact: Mapped[DirectoryContact] = relationship()


class NoticeDocument(Base):
    """A signed PDF version of a notice, encrypted under the notice's data key."""

    __tablename__ = "notice_document"
    __table_args__ = (
        UniqueConstraint("notice_id", "version", "copy"),
        # The versions still to draw, oldest first, for the mail worker (migration 0017).
        Index(
            "ix_notice_document_to_issue",
            "id",
            postgresql_where=text("pdf_ct IS NULL"),
            sqlite_where=text("pdf_ct IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # "full" for the parties; "business-unit" for a partnership copy without child identifiers (Trafford).
    copy: Mapped[str] = mapped_column(String(20), default="full")
    # The signed PDF. NULL while the version is still to be drawn: a change records what the version says
    # (context_ct) in its own transaction, and the PDF is rendered and signed after it, by the mail worker or by
    # the first person to open it, whichever comes first (portal.services.documents.issue_pending).
    pdf_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # What the version prints (its NoticeContext as JSON), sealed under the notice's data key; NULL once issued.
    context_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # SHA-256 of the signed file as issued, so anyone holding a copy can check it (portal.services.verification)
    # without the portal decrypting anything. NULL for versions issued before it was kept.
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    notice: Mapped[Notice] = relationship(back_populates="documents")


class NoticeEvent(Base):
    """A step on a notice's timeline. Details never hold child identifiers or narrative."""

    __tablename__ = "notice_event"
    # The register counts chases per notice in one GROUP BY (migration 0010).
    __table_args__ = (Index("ix_notice_event_kind_notice", "kind", "notice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"), index=True)
    # Never set: it tells a flush to write the notice before its rows (a submit writes them in one flush).
    notice: Mapped[Notice] = relationship(foreign_keys=[notice_id])
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    # The stage the event is about (a chase, an acknowledgement), when it is about one.
    stage: Mapped[str | None] = mapped_column(String(40), nullable=True)

    actor: Mapped[User | None] = relationship()


class ReferenceCounter(Base):
    """The last reference number issued per partnership and year."""

    __tablename__ = "reference_counter"

    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """An e-mail written in the same transaction as the change it reports; the worker delivers it."""

    __tablename__ = "outbox_message"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notice_id: Mapped[str | None] = mapped_column(ForeignKey("notice.id"), nullable=True, index=True)
    # Never set: it tells a flush to write the notice before its rows (a submit writes them in one flush).
    notice: Mapped[Notice | None] = relationship(foreign_keys=[notice_id])
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    # pending -> sent; failed only after the retry budget is spent.
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker holds a message until this time; another worker may take it over after (a killed worker).
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    transport: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """An append-only, hash-chained record of sign-ins, reads of case data, downloads and admin changes."""

    __tablename__ = "audit_event"
    # The sign-in throttle counts recent failures by action.
    __table_args__ = (
        Index("ix_audit_event_action_at", "action", "at"),
        # A user's history and last sign-in (the administration pages).
        Index("ix_audit_event_actor_action_at", "actor_id", "action", "at"),
    )

    # Assigned under a lock as last seq + 1, so the chain has no gaps and no forks.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    # Unique: no two entries may extend the same predecessor, so the database itself refuses a fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class NoticeCategory(Base):
    """One code a notice was given from one of its partnership's code lists, with the common theme it maps to.

    Plain, like the stage codes: a category is not a child identifier and not narrative (docs/categories.md).
    A notice raised before its form asked has no row, which reports show as "Not recorded".
    """

    __tablename__ = "notice_category"
    __table_args__ = (UniqueConstraint("notice_id", "list_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"), index=True)
    # Never set: it tells a flush to write the notice before its rows (a submit writes them in one flush).
    notice: Mapped[Notice] = relationship(foreign_keys=[notice_id])
    # The form field the code list is asked in (portal.domain.categories.CodeList.field).
    list_field: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(60))
    common_code: Mapped[str | None] = mapped_column(String(40), nullable=True)


class LearningItem(Base):
    """A general issue flagged for the partnership at closure, as the business unit's learning log tracks it.

    The issue's words stay encrypted in the notice's closure; the item holds only who it is assigned to, the
    action and its status, which the business unit writes (no child details: the page says so).
    """

    __tablename__ = "learning_item"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notice.id"), unique=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "new" -> "assigned" -> "in-progress" -> "done" (or "no-action").
    status: Mapped[str] = mapped_column(String(20), default="new")
    assigned_to: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)

    notice: Mapped[Notice] = relationship()


class Invitation(Base):
    """An invitation to a directory contact who has no account, sent in a notice's e-mail (issue 9).

    Only the SHA-256 of the token is stored; the token itself exists only in the e-mail. It is bound to the
    address, partnership and agency (and tier where the procedure routes by tier), expires, and is used once:
    ``used_at`` is set by a conditional UPDATE, so two requests with one token cannot both create an account.
    """

    __tablename__ = "invitation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("directory_contact.id"), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The notice whose e-mail carried it: where the new user lands once signed in.
    notice_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Who issued it (None: a notice's e-mail) and the account it became.
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)

    partnership: Mapped[Partnership] = relationship()
    agency: Mapped[Agency] = relationship()


class PasswordReset(Base):
    """A self-service password reset link: the token's SHA-256 only, single use, expiring (issue 9)."""

    __tablename__ = "password_reset"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class NoticeAttachment(Base):
    """A piece of evidence attached to a notice: its name and content sealed under the notice's data key, bound to
    the notice and this attachment; its size, checked type and SHA-256 kept plain, to list and verify it."""

    __tablename__ = "notice_attachment"
    # Evidence belongs to a draft until it is sent, then to the notice (which keeps the draft's id, so the
    # binding of its ciphertexts holds): exactly one owner (migration 0014).
    __table_args__ = (CheckConstraint("(notice_id IS NULL) <> (draft_id IS NULL)", name="one_owner"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notice_id: Mapped[str | None] = mapped_column(ForeignKey("notice.id"), index=True, nullable=True)
    draft_id: Mapped[str | None] = mapped_column(ForeignKey("notice_draft.id"), index=True, nullable=True)
    # Never set: it tells a flush to write the notice before its rows (a submit writes them in one flush).
    notice: Mapped[Notice | None] = relationship(foreign_keys=[notice_id])
    # Never set either: a submit's flush moves the draft's evidence to the notice before it deletes the draft.
    draft: Mapped[NoticeDraft | None] = relationship(foreign_keys=[draft_id])
    # The stage it was attached at (the procedure's code), or "closure".
    stage: Mapped[str] = mapped_column(String(40))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The type found by reading the content (portal.domain.file_types), never the name's extension.
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    content_ct: Mapped[bytes] = mapped_column(LargeBinary)
