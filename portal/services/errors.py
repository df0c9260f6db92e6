"""The named failures a service may raise. ``portal.web.errors`` is the one place that turns them into HTTP.

Services never build responses and never abort: they raise one of these, and say in the message what went
wrong without any case data (a message may reach a log line).
"""

from __future__ import annotations

from datetime import datetime


class ServiceError(Exception):
    """Base of every failure a service reports on purpose."""


class NotFoundError(ServiceError):
    """Nothing this user may see has that id (answered 404, so a URL never confirms that a record exists)."""


class NoticeNotFoundError(NotFoundError):
    """No notice with that id that this user may act on as asked."""


class DraftNotFoundError(NotFoundError):
    """No draft with that id belongs to this user (or it was already submitted)."""


class DraftSubmittedError(ServiceError):
    """The draft was submitted already (a second click, another tab): here is the notice it became."""

    def __init__(self, notice_id: str) -> None:
        super().__init__("the draft was submitted already")
        self.notice_id = notice_id


class FormNotAvailableError(NotFoundError):
    """The partnership's form is not built in the portal."""


class ActionNotAllowedError(NotFoundError):
    """The procedure does not allow this action on the notice now (answered as for a page that is not there)."""


class NoticeChangedError(ServiceError):
    """Someone else changed the notice while this user was working on it, and what they asked for no longer
    applies (the notice was closed, escalated or answered meanwhile); answered 409 with where it stands now."""

    def __init__(self, notice_id: str, reference: str) -> None:
        super().__init__("the notice changed while you were working on it")
        self.notice_id = notice_id
        self.reference = reference


class ShreddedError(ServiceError):
    """The notice's content was destroyed at the end of its retention period (crypto-shredding): only its
    de-identified record is left. Raised to someone who may otherwise act on it; answered 410 Gone."""

    def __init__(self, reference: str, shredded_at: datetime | None) -> None:
        super().__init__("the notice's content was destroyed at the end of its retention period")
        self.reference = reference
        self.shredded_at = shredded_at


class RuleBrokenError(ServiceError):
    """Input that breaks a procedure rule; the page shows ``message`` beside ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class LimitReachedError(ServiceError):
    """A per-user cap was reached (exports per hour); answered 429."""


class ConfigurationError(RuntimeError):
    """The portal cannot start safely with this configuration."""


class UserNotFoundError(NotFoundError):
    """No user with that id in the administrator's partnership (answered 404, as for any other record)."""


class ContactNotFoundError(NotFoundError):
    """No directory contact with that id in the partnership of whoever asked."""


class NotPermittedError(NotFoundError):
    """The signed-in user's role may not use this page (the route's rule should have stopped them already)."""


class PageCursorError(NotFoundError):
    """A list's page cursor that the portal did not make (a tampered or truncated address): no such page."""
