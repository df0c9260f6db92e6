"""Mail transports: SMTP for real delivery, and a development transport that keeps mail on this machine.

A transport turns an OutboxMessage into an e-mail and hands it on. It classifies every failure as
transient (try again later) or permanent (this message can never be delivered), and describes the
failure only by exception class and SMTP code: server replies can echo the recipient's address, so
their text is never kept.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from ipaddress import ip_address
from typing import Any, Protocol

from portal.domain.models import OutboxMessage, utcnow

MESSAGE_ID_DOMAIN = "escalation-portal.invalid"


class TransientDeliveryError(Exception):
    """Delivery failed for a reason that may pass (server down, timeout, 4xx): try again later.

    The message text is safe to store and log: it names an exception class and an SMTP code, never content.
    """


class PermanentDeliveryError(Exception):
    """The server refused this message for good (5xx for the recipient or the content): stop trying.

    The message text is safe to store and log: it names an exception class and an SMTP code, never content.
    """


class Sender(Protocol):
    """Something that sends messages, usually over one connection for a batch."""

    def send(self, message: OutboxMessage) -> None: ...


class Transport(Protocol):
    """A mail transport as the worker uses it."""

    # Read-only, so the frozen dataclasses below match.
    @property
    def name(self) -> str: ...

    def send(self, message: OutboxMessage) -> None: ...

    def batch(self) -> Any: ...  # a context manager yielding a Sender


def message_id(message: OutboxMessage) -> str:
    """Return the Message-ID header for a message: the same on every attempt, so receivers can de-duplicate."""
    return f"<{message.id}@{MESSAGE_ID_DOMAIN}>"


def build_email(message: OutboxMessage, mail_from: str) -> EmailMessage:
    """Build the plain-text e-mail for an outbox row."""
    email = EmailMessage()  # policy.default: raises ValueError on CR/LF in any header value
    email["From"] = mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    # The time the notice was accepted, not of this attempt: a retried message is the same message.
    email["Date"] = format_datetime(message.created_at or utcnow())
    email["Message-ID"] = message_id(message)
    # RFC 3834: tells auto-responders (out-of-office) not to reply to the portal.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    return email


def describe_smtp_error(exc: BaseException) -> str:
    """Describe an error by class and SMTP code only; the server's text may contain the address."""
    name = type(exc).__name__
    code = _smtp_code(exc)
    return f"{name} {code}" if code is not None else name


def _smtp_code(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return max(codes) if codes else None
    if isinstance(exc, smtplib.SMTPResponseException):
        return int(exc.smtp_code)
    return None


def classify_smtp_error(exc: BaseException) -> TransientDeliveryError | PermanentDeliveryError:
    """Map an smtplib or socket error to a transient or permanent delivery error."""
    description = describe_smtp_error(exc)
    code = _smtp_code(exc)
    # Only a refusal that is about this message (its recipient or its content) is permanent. A 5xx for the
    # sender, for authentication or for STARTTLS is our configuration: every message would fail the same
    # way, so keep them queued until an operator fixes it rather than failing every notice.
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError) and code is not None and code >= 500:
        return PermanentDeliveryError(description)
    return TransientDeliveryError(description)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SmtpTransport:
    """Deliver over SMTP with smtplib. Immutable, so one instance may be shared by worker threads."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None = field(repr=False)
    timeout: float
    mail_from: str
    # EHLO name; None means this host's FQDN (looked up once per connection by smtplib).
    helo_name: str | None = None
    name: str = field(default="smtp", init=False)

    def __post_init__(self) -> None:
        if self.username and not self.starttls and not _is_loopback(self.host):
            # Never send the mailbox password in clear over the network.
            raise ValueError("SMTP credentials need SMTP_STARTTLS unless the server is on this machine")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpTransport:
        """Build a transport from the portal's SMTP_* and MAIL_FROM settings."""
        return cls(
            host=str(config["SMTP_HOST"]),
            port=int(config["SMTP_PORT"]),
            starttls=_parse_bool(config.get("SMTP_STARTTLS", False)),
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 10)),
            mail_from=str(config["MAIL_FROM"]),
        )

    def send(self, message: OutboxMessage) -> None:
        """Send one message over its own connection."""
        with self.batch() as sender:
            sender.send(message)

    @contextmanager
    def batch(self) -> Iterator[_SmtpBatch]:
        """Open a batch that reuses one connection for all its messages and closes it at the end."""
        batch = _SmtpBatch(self)
        try:
            yield batch
        finally:
            batch.close()

    def connect(self) -> smtplib.SMTP:
        """Open an authenticated (and, if configured, encrypted) connection; smtplib and OSError errors pass up."""
        connection = smtplib.SMTP(self.host, self.port, local_hostname=self.helo_name, timeout=self.timeout)
        try:
            if self.starttls:
                # Certificate and host name are verified; if the server offers no STARTTLS this raises
                # SMTPNotSupportedError and nothing is sent in clear.
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password or "")
        except BaseException:
            _close_quietly(connection)
            raise
        return connection


class _SmtpBatch:
    """One batch's connection: opened on first send, reopened after a dropped connection."""

    def __init__(self, transport: SmtpTransport) -> None:
        self._transport = transport
        self._connection: smtplib.SMTP | None = None
        # If the server cannot be reached, the rest of the batch fails at once instead of each message
        # waiting out its own connect timeout (which could outlast the worker's lease).
        self._unreachable: TransientDeliveryError | None = None

    def send(self, message: OutboxMessage) -> None:
        if self._unreachable is not None:
            raise TransientDeliveryError(str(self._unreachable))
        try:
            email = build_email(message, self._transport.mail_from)
        except ValueError:
            # queue_mail refuses such rows; one written some other way can never be sent.
            raise PermanentDeliveryError("ValueError building the message") from None
        if self._connection is None:
            try:
                self._connection = self._transport.connect()
            except (OSError, smtplib.SMTPException) as exc:
                error = classify_smtp_error(exc)
                if isinstance(error, TransientDeliveryError):
                    self._unreachable = error
                raise error from None
        try:
            self._connection.send_message(email, from_addr=self._transport.mail_from, to_addrs=[message.to_address])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            # smtplib has sent RSET, so the connection serves the next message; after a 421 it has closed it.
            if self._connection.sock is None:
                self.close()
            raise classify_smtp_error(exc) from None
        except (OSError, smtplib.SMTPException) as exc:
            # The connection is in an unknown state (dropped, timed out mid-command): start afresh.
            self.close()
            raise classify_smtp_error(exc) from None

    def close(self) -> None:
        if self._connection is not None:
            _close_quietly(self._connection)
            self._connection = None


def _close_quietly(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


@dataclass(frozen=True)
class DevTransport:
    """Keep mail on this machine: sending succeeds and does nothing; /dev/mail lists the sent rows."""

    name: str = field(default="dev", init=False)

    def send(self, message: OutboxMessage) -> None:
        """Accept the message without sending it anywhere."""

    @contextmanager
    def batch(self) -> Iterator[DevTransport]:
        """Return this transport: there is no connection to share."""
        yield self


def transport_from_config(config: Mapping[str, Any]) -> SmtpTransport | DevTransport:
    """Return the transport MAILER names: 'dev' or 'smtp'."""
    mailer = config.get("MAILER", "dev")
    if mailer == "dev":
        return DevTransport()
    if mailer == "smtp":
        return SmtpTransport.from_config(config)
    raise ValueError(f"MAILER must be 'dev' or 'smtp', not {mailer!r}")


__all__ = [
    "MESSAGE_ID_DOMAIN",
    "DevTransport",
    "PermanentDeliveryError",
    "Sender",
    "SmtpTransport",
    "TransientDeliveryError",
    "Transport",
    "build_email",
    "classify_smtp_error",
    "describe_smtp_error",
    "message_id",
    "transport_from_config",
]
