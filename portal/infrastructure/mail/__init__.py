"""Outgoing e-mail through a transactional outbox: queue in the request's transaction, deliver from a worker."""

from portal.infrastructure.mail.outbox import queue_mail
from portal.infrastructure.mail.transport import (
    DevTransport,
    PermanentDeliveryError,
    SmtpTransport,
    TransientDeliveryError,
    build_email,
    transport_from_config,
)
from portal.infrastructure.mail.worker import DeliveryReport, backoff_seconds, deliver_due, run_worker

__all__ = [
    "DeliveryReport",
    "DevTransport",
    "PermanentDeliveryError",
    "SmtpTransport",
    "TransientDeliveryError",
    "backoff_seconds",
    "build_email",
    "deliver_due",
    "queue_mail",
    "run_worker",
    "transport_from_config",
]
