"""The outbox delivers every accepted message exactly once: through SMTP outages, racing workers, killed
workers and refused recipients, and without writing message content to the log."""

from __future__ import annotations

import logging
import smtplib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from portal.domain.models import OutboxMessage, utcnow
from portal.infrastructure.mail import (
    DevTransport,
    PermanentDeliveryError,
    SmtpTransport,
    TransientDeliveryError,
    backoff_seconds,
    build_email,
    deliver_due,
    queue_mail,
    run_worker,
    transport_from_config,
)
from tests.smtp_server import SmtpCapture

# Markers that must reach the SMTP server and nothing else: not the log, not last_error.
SUBJECT = "Escalation notice ROC-2026-0001 subjectmarker"
BODY = "Read it at http://portal.test/notices/x bodymarker\n"
LOCAL_PART = "localpartmarker"

Sessions = sessionmaker[Session]


def smtp_transport(smtp: SmtpCapture, **overrides: object) -> SmtpTransport:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "starttls": False,
        "username": None,
        "password": None,
        "timeout": 2,
        "mail_from": "portal@test",
    }
    options.update(overrides)
    return SmtpTransport(**options)  # type: ignore[arg-type]


def queue(sessions: Sessions, *addresses: str, subject: str = SUBJECT, body: str = BODY) -> list[str]:
    """Queue one message per address in one transaction, as the web request does; return their ids."""
    with sessions() as db:
        ids = [queue_mail(db, to=address, subject=subject, body=body).id for address in addresses]
        db.commit()
    return ids


def rows(sessions: Sessions) -> dict[str, OutboxMessage]:
    with sessions() as db:
        return {m.to_address: m for m in db.execute(select(OutboxMessage)).scalars()}


def test_a_queued_message_is_delivered_once_over_smtp(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    [message_id] = queue(sessions, "spoc@agency.test")
    transport = smtp_transport(smtp_capture)

    report = deliver_due(sessions, transport, worker_id="w1")

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [received] = smtp_capture.wait_for(1)
    assert received["To"] == "spoc@agency.test"
    assert received["From"] == "portal@test"
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == f"<{message_id}@escalation-portal.invalid>"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Date"] is not None
    assert received.get_content_type() == "text/plain"
    assert received.get_content() == BODY
    assert smtp_capture.envelopes[0].rcpt_tos == ("spoc@agency.test",)

    row = rows(sessions)["spoc@agency.test"]
    assert (row.status, row.transport, row.attempts, row.last_error) == ("sent", "smtp", 1, None)
    assert row.sent_at is not None and row.claimed_by is None and row.claimed_until is None

    # Sent is final: later runs find nothing to do.
    assert deliver_due(sessions, transport, worker_id="w2").attempted == 0
    assert deliver_due(sessions, transport, worker_id="w1", now=utcnow() + timedelta(days=30)).attempted == 0
    assert len(smtp_capture.messages) == 1


def test_smtp_down_retries_with_backoff_then_delivers_exactly_once(
    sessions: Sessions, smtp_capture: SmtpCapture
) -> None:
    queue(sessions, "a@agency.test", "b@agency.test")
    transport = smtp_transport(smtp_capture)
    smtp_capture.stop()
    now = utcnow()
    options = {"retry_base_seconds": 5, "retry_max_seconds": 40}

    previous = {address: row.next_attempt_at for address, row in rows(sessions).items()}
    for attempt, nominal in enumerate([5, 10, 20, 40, 40], start=1):
        report = deliver_due(sessions, transport, worker_id="w", now=now, **options)
        assert (report.sent, report.retried, report.failed) == (0, 2, 0)
        for address, row in rows(sessions).items():
            assert row.status == "pending" and row.attempts == attempt
            assert row.last_error == "ConnectionRefusedError"
            assert row.claimed_by is None and row.claimed_until is None
            delay = (row.next_attempt_at - now).total_seconds()
            assert nominal * 0.9 - 0.001 <= delay <= nominal + 0.001, (attempt, delay)
            assert row.next_attempt_at > previous[address]
            previous[address] = row.next_attempt_at
        # Not due again until the back-off has passed.
        assert deliver_due(sessions, transport, worker_id="w", now=now, **options).attempted == 0
        now = max(previous.values())

    smtp_capture.start()
    assert deliver_due(sessions, transport, worker_id="w", now=now, **options).sent == 2
    for later in range(1, 4):
        assert (
            deliver_due(
                sessions, transport, worker_id=f"w{later}", now=now + timedelta(hours=later), **options
            ).attempted
            == 0
        )
    received = smtp_capture.wait_for(2)
    assert Counter(m["To"] for m in received) == {"a@agency.test": 1, "b@agency.test": 1}
    assert {row.status for row in rows(sessions).values()} == {"sent"}
    assert {row.attempts for row in rows(sessions).values()} == {6}


def test_a_deferring_server_4xx_is_retried_not_failed(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    queue(sessions, "busy@agency.test", "ok@agency.test")
    smtp_capture.defer.add("busy@agency.test")

    report = deliver_due(sessions, smtp_transport(smtp_capture), worker_id="w")

    assert (report.sent, report.retried, report.failed) == (1, 1, 0)
    busy = rows(sessions)["busy@agency.test"]
    assert (busy.status, busy.attempts, busy.last_error) == ("pending", 1, "SMTPRecipientsRefused 451")
    assert [m["To"] for m in smtp_capture.messages] == ["ok@agency.test"]


def test_a_refused_recipient_fails_without_blocking_the_others(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    # The refused one is queued first, so the others come after it on the same connection.
    queue(sessions, "gone@agency.test")
    queue(sessions, "one@agency.test", "two@agency.test")
    smtp_capture.refuse.add("gone@agency.test")

    report = deliver_due(sessions, smtp_transport(smtp_capture), worker_id="w")

    assert (report.sent, report.retried, report.failed) == (2, 0, 1)
    by_address = rows(sessions)
    gone = by_address["gone@agency.test"]
    assert (gone.status, gone.attempts, gone.last_error, gone.sent_at) == (
        "failed",
        1,
        "SMTPRecipientsRefused 550",
        None,
    )
    assert {by_address[a].status for a in ("one@agency.test", "two@agency.test")} == {"sent"}
    assert sorted(m["To"] for m in smtp_capture.wait_for(2)) == ["one@agency.test", "two@agency.test"]
    assert smtp_capture.connections == 1  # the batch kept its connection after the refusal
    assert (
        deliver_due(sessions, smtp_transport(smtp_capture), worker_id="w", now=utcnow() + timedelta(days=1)).attempted
        == 0
    )


def test_retries_end_in_failed_when_the_budget_is_spent(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    queue(sessions, "a@agency.test")
    smtp_capture.stop()
    now = utcnow()
    transport = smtp_transport(smtp_capture)
    assert deliver_due(sessions, transport, worker_id="w", now=now, max_attempts=2).retried == 1
    assert deliver_due(sessions, transport, worker_id="w", now=now + timedelta(hours=1), max_attempts=2).failed == 1
    row = rows(sessions)["a@agency.test"]
    assert (row.status, row.attempts) == ("failed", 2)


class _SlowSender:
    """Hold each send a moment, so the other workers claim while this one is busy."""

    def __init__(self, inner: object, seen: Counter[str], lock: threading.Lock, worker: str) -> None:
        self._inner, self._seen, self._lock, self._worker = inner, seen, lock, worker

    def send(self, message: OutboxMessage) -> None:
        time.sleep(0.002)
        self._inner.send(message)  # type: ignore[attr-defined]
        with self._lock:
            self._seen[self._worker] += 1


class _CountingTransport:
    name = "smtp"

    def __init__(self, inner: SmtpTransport, worker: str, seen: Counter[str], lock: threading.Lock) -> None:
        self._inner, self._worker, self._seen, self._lock = inner, worker, seen, lock

    def send(self, message: OutboxMessage) -> None:
        with self.batch() as sender:
            sender.send(message)

    @contextmanager
    def batch(self) -> Iterator[_SlowSender]:
        with self._inner.batch() as sender:
            yield _SlowSender(sender, self._seen, self._lock, self._worker)


def test_racing_workers_never_send_a_message_twice(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    ids = queue(sessions, *(f"spoc{i}@agency.test" for i in range(60)))
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(4)
    reports = {}
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        transport = _CountingTransport(smtp_transport(smtp_capture), worker, seen, lock)
        start.wait()
        try:
            reports[worker] = deliver_due(sessions, transport, worker_id=worker, batch_size=100)
        except BaseException as exc:  # surfaced below: an exception in a thread would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sum(r.sent for r in reports.values()) == 60
    assert sum(seen.values()) == 60 and len([w for w, n in seen.items() if n]) >= 2, seen  # it was a race
    received = smtp_capture.wait_for(60)
    assert len(received) == 60
    assert sorted(m["Message-ID"] for m in received) == sorted(f"<{i}@escalation-portal.invalid>" for i in ids)
    assert {row.status for row in rows(sessions).values()} == {"sent"}


class _Killed(BaseException):
    """Stands for SIGKILL mid-send: nothing after it in the worker runs."""


class _DyingTransport:
    name = "smtp"

    def send(self, message: OutboxMessage) -> None:
        raise _Killed

    def batch(self) -> _DyingTransport:
        return self

    def __enter__(self) -> _DyingTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_message_claimed_by_a_killed_worker_is_taken_over_after_the_lease(
    sessions: Sessions, smtp_capture: SmtpCapture
) -> None:
    queue(sessions, "spoc@agency.test")
    now = utcnow()
    with pytest.raises(_Killed):
        deliver_due(sessions, _DyingTransport(), worker_id="doomed", now=now, lease_seconds=120)
    row = rows(sessions)["spoc@agency.test"]
    assert (row.status, row.claimed_by, row.attempts) == ("pending", "doomed", 0)
    assert row.claimed_until == now + timedelta(seconds=120)

    transport = smtp_transport(smtp_capture)
    # While the lease runs, nobody else may take the message: the worker could still be sending it.
    assert deliver_due(sessions, transport, worker_id="heir", now=now + timedelta(seconds=119)).attempted == 0
    assert smtp_capture.messages == []

    report = deliver_due(sessions, transport, worker_id="heir", now=now + timedelta(seconds=121))
    assert report.sent == 1
    assert deliver_due(sessions, transport, worker_id="heir", now=now + timedelta(hours=1)).attempted == 0
    assert len(smtp_capture.wait_for(1)) == 1
    row = rows(sessions)["spoc@agency.test"]
    assert (row.status, row.claimed_by, row.claimed_until) == ("sent", None, None)


def test_a_stale_claim_written_by_another_process_is_taken_over(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    [message_id] = queue(sessions, "spoc@agency.test")
    now = utcnow()
    with sessions() as db:
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(claimed_by="host:123", claimed_until=now - timedelta(seconds=1))
        )
        db.commit()
    assert deliver_due(sessions, smtp_transport(smtp_capture), worker_id="w", now=now).sent == 1
    assert len(smtp_capture.wait_for(1)) == 1


def test_the_worker_keeps_going_through_database_errors(
    sessions: Sessions, smtp_capture: SmtpCapture, caplog: pytest.LogCaptureFixture
) -> None:
    queue(sessions, "spoc@agency.test")
    outage = {"left": 3}

    def flaky_sessions() -> Session:
        # The first few sessions fail as they would while PostgreSQL restarts.
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("SELECT 1", None, ConnectionRefusedError("connection refused"))
        return sessions()

    caplog.set_level(logging.INFO, logger="portal.infrastructure.mail")
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(flaky_sessions, smtp_transport(smtp_capture)),
        kwargs={"stop": stop, "poll_seconds": 0.01, "worker_id": "w"},
        daemon=True,
    )
    worker.start()
    try:
        smtp_capture.wait_for(1, timeout=5)
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive()
    assert outage["left"] == 0
    assert "database unavailable (OperationalError/ConnectionRefusedError)" in caplog.text
    assert rows(sessions)["spoc@agency.test"].status == "sent"


def test_a_sent_message_is_recorded_even_if_the_database_blips_after_sending(
    sessions: Sessions, smtp_capture: SmtpCapture, caplog: pytest.LogCaptureFixture
) -> None:
    queue(sessions, "spoc@agency.test")
    calls = {"n": 0}

    def blip_after_claim() -> Session:
        # Session 1 claims; session 2 (recording "sent") fails once, as if PostgreSQL had just restarted.
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("UPDATE", None, ConnectionResetError("server closed the connection"))
        return sessions()

    caplog.set_level(logging.WARNING, logger="portal.infrastructure.mail")
    report = deliver_due(blip_after_claim, smtp_transport(smtp_capture), worker_id="w")

    assert report.sent == 1
    assert rows(sessions)["spoc@agency.test"].status == "sent"  # so it will not be sent again
    assert "recording the outcome failed (OperationalError/ConnectionResetError)" in caplog.text
    assert len(smtp_capture.messages) == 1


def test_run_worker_delivers_and_stops(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    queue(sessions, *(f"spoc{i}@agency.test" for i in range(25)))  # more than one batch
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(sessions, smtp_transport(smtp_capture)),
        kwargs={"stop": stop, "poll_seconds": 0.05, "worker_id": "w", "batch_size": 10},
        daemon=True,
    )
    worker.start()
    try:
        assert len(smtp_capture.wait_for(25, timeout=5)) == 25
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive()


def test_the_dev_transport_keeps_mail_on_this_machine(sessions: Sessions, smtp_capture: SmtpCapture) -> None:
    queue(sessions, "spoc@agency.test")
    report = deliver_due(sessions, DevTransport(), worker_id="dev")
    assert report.sent == 1
    row = rows(sessions)["spoc@agency.test"]
    assert (row.status, row.transport) == ("sent", "dev")
    assert smtp_capture.messages == []


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("spoc@agency.test\r\nBcc: all@elsewhere.test", SUBJECT),
        ("spoc@agency.test\n", SUBJECT),
        ("spoc@agency.test", "Notice\r\nBcc: all@elsewhere.test"),
        ("spoc@agency.test", "Notice\nX-Injected: 1"),
        ("spoc@agency.test", "Notice\rX-Injected: 1"),
        ("spoc@agency.test", "Notice\x0bX-Injected: 1"),  # str.splitlines() breaks here too
        ("spoc@agency.test", "Notice\u2028X-Injected: 1"),
        ("spoc@agency.test, other@agency.test", SUBJECT),
        ("Name <spoc@agency.test>", SUBJECT),
        ("not-an-address", SUBJECT),
        ("spoc@agency.test", "x" * 301),
    ],
)
def test_queue_mail_refuses_header_injection_and_non_addresses(sessions: Sessions, to: str, subject: str) -> None:
    with sessions() as db:
        with pytest.raises(ValueError) as raised:
            queue_mail(db, to=to, subject=subject, body=BODY)
        assert not db.new
        assert to not in str(raised.value) and subject not in str(raised.value)


def test_queue_mail_leaves_the_commit_to_the_caller(sessions: Sessions) -> None:
    with sessions() as db:
        message = queue_mail(db, to="spoc@agency.test", subject=SUBJECT, body=BODY)
        assert message in db.new
        db.rollback()
    assert rows(sessions) == {}


def test_nothing_of_a_message_reaches_the_log(
    sessions: Sessions, smtp_capture: SmtpCapture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="portal")
    transport = smtp_transport(smtp_capture)
    queue(sessions, f"{LOCAL_PART}@agency.test", f"{LOCAL_PART}.refused@agency.test")
    smtp_capture.refuse.add(f"{LOCAL_PART}.refused@agency.test")
    smtp_capture.stop()
    now = utcnow()
    deliver_due(sessions, transport, worker_id="w", now=now)  # down: deferred
    smtp_capture.start()
    report = deliver_due(sessions, transport, worker_id="w", now=now + timedelta(hours=1))  # sent and refused
    assert (report.sent, report.failed) == (1, 1)

    portal_records = [r for r in caplog.records if r.name.startswith("portal")]
    assert len(portal_records) >= 4
    logged = "\n".join(r.getMessage() for r in portal_records)
    stored = " ".join(row.last_error or "" for row in rows(sessions).values())
    for secret in ("subjectmarker", "bodymarker", LOCAL_PART, "ROC-2026-0001"):
        assert secret not in logged
        assert secret not in stored


def test_a_stopped_capture_server_refuses_connections_and_restarts_on_the_same_port() -> None:
    server = SmtpCapture()
    server.start()
    port = server.port
    client = smtplib.SMTP("127.0.0.1", port, timeout=5)
    client.sendmail("a@test", ["b@test"], b"Subject: one\r\n\r\nfirst\r\n")
    server.stop()
    started = time.monotonic()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.noop()  # an open connection is dropped, not left hanging
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert time.monotonic() - started < 1
    server.start()
    try:
        assert server.port == port
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as again:
            again.sendmail("a@test", ["b@test"], b"Subject: two\r\n\r\nsecond\r\n")
        assert [m["Subject"] for m in server.wait_for(2)] == ["one", "two"]
    finally:
        server.stop()


def test_backoff_doubles_to_the_maximum_with_downward_jitter() -> None:
    assert [backoff_seconds(n, 5, 900, jitter=0) for n in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert backoff_seconds(1, 5, 900, jitter=1) == pytest.approx(4.5)
    assert backoff_seconds(10_000, 5, 900, jitter=0) == 900
    assert all(4.5 <= backoff_seconds(1, 5, 900) <= 5 for _ in range(100))


def test_build_email_headers() -> None:
    created = datetime(2026, 11, 23, 9, 30, tzinfo=utcnow().tzinfo)
    message = OutboxMessage(
        id="5f0c6f4e-0000-4000-8000-000000000001",
        to_address="spoc@agency.test",
        subject=SUBJECT,
        body_text=BODY,
        created_at=created,
    )
    email = build_email(message, "Escalation Portal <portal@test>")
    assert email["Message-ID"] == "<5f0c6f4e-0000-4000-8000-000000000001@escalation-portal.invalid>"
    assert email["Date"].datetime == created
    assert email["From"].addresses[0].addr_spec == "portal@test"
    assert email.get_content() == BODY


def test_transport_from_config() -> None:
    assert isinstance(transport_from_config({"MAILER": "dev"}), DevTransport)
    smtp = transport_from_config(
        {
            "MAILER": "smtp",
            "MAIL_FROM": "portal@test",
            "SMTP_HOST": "mail.example",
            "SMTP_PORT": "587",
            "SMTP_STARTTLS": "true",
            "SMTP_USERNAME": "portal",
            "SMTP_PASSWORD": "pw",
            "SMTP_TIMEOUT_SECONDS": 7,
        }
    )
    assert isinstance(smtp, SmtpTransport)
    assert (smtp.host, smtp.port, smtp.starttls, smtp.timeout, smtp.name) == ("mail.example", 587, True, 7.0, "smtp")
    assert "pw" not in repr(smtp)
    with pytest.raises(ValueError):
        transport_from_config({"MAILER": "carrier-pigeon"})
    with pytest.raises(ValueError, match="STARTTLS"):
        # A password is never sent in clear over the network.
        SmtpTransport(
            host="mail.example", port=25, starttls=False, username="u", password="p", timeout=5, mail_from="portal@test"
        )


def test_smtp_errors_are_classified_without_their_text() -> None:
    from portal.infrastructure.mail.transport import classify_smtp_error

    refused = classify_smtp_error(smtplib.SMTPRecipientsRefused({"x@y": (550, b"no such user x@y")}))
    assert isinstance(refused, PermanentDeliveryError) and str(refused) == "SMTPRecipientsRefused 550"
    assert isinstance(
        classify_smtp_error(smtplib.SMTPRecipientsRefused({"x@y": (452, b"full")})), TransientDeliveryError
    )
    assert isinstance(classify_smtp_error(smtplib.SMTPDataError(554, b"rejected")), PermanentDeliveryError)
    # Our own configuration is wrong: every message would fail, so none is given up on.
    assert isinstance(classify_smtp_error(smtplib.SMTPSenderRefused(553, b"no", "portal@test")), TransientDeliveryError)
    assert isinstance(classify_smtp_error(smtplib.SMTPAuthenticationError(535, b"bad")), TransientDeliveryError)
    assert str(classify_smtp_error(TimeoutError())) == "TimeoutError"


def test_the_worker_runs_the_chaser_and_delivers_what_it_queues(
    sessions: Sessions, smtp_capture: SmtpCapture, caplog: pytest.LogCaptureFixture
) -> None:
    """The mail worker runs the procedure clocks' chaser at its interval, survives it failing once, and
    delivers the reminders it queues in the same loop."""
    calls = {"n": 0}

    def chaser() -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the chaser failed once")
        if calls["n"] == 2:
            queue(sessions, "responder@agency.test")

    caplog.set_level(logging.INFO, logger="portal.infrastructure.mail")
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(sessions, smtp_transport(smtp_capture)),
        kwargs={"stop": stop, "poll_seconds": 0.01, "worker_id": "w", "periodic": chaser, "periodic_seconds": 0.05},
        daemon=True,
    )
    worker.start()
    try:
        smtp_capture.wait_for(1, timeout=5)
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive() and calls["n"] >= 2
    assert rows(sessions)["responder@agency.test"].status == "sent"
    # The class and the stack are logged, never the exception's message.
    assert "unexpected RuntimeError" in caplog.text and "RuntimeError: the chaser failed once" not in caplog.text
