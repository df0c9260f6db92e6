"""A real SMTP server on loopback for the suite: capture what the portal sends, refuse or defer chosen
recipients, and stop and restart on the same port to play an outage."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class CapturedEnvelope:
    """The SMTP envelope of a captured message (the addresses it was really delivered to)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _free_port(host: str) -> int:
    """Pick a port that is free now, below the ephemeral range where possible.

    Outgoing connections take their local ports from the ephemeral range; keeping the server out of it
    means no client socket can be sitting on its port when the server is restarted.
    """
    low, _high = _ephemeral_range()
    rng = random.Random()
    candidates = [rng.randrange(20000, low) for _ in range(50)] if low > 21000 else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError("no free port for the test SMTP server")


class _Handler:
    """aiosmtpd handler hooks: accept, refuse (5xx) or defer (4xx) each recipient; capture each message."""

    def __init__(self, capture: SmtpCapture) -> None:
        self._capture = capture

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # the new-style hook must do what aiosmtpd otherwise does
        self._capture._count_connection()
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self._capture.refuse:
            return "550 5.1.1 Recipient address rejected"
        if address.lower() in self._capture.defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        # Wire CRLF to Python's "\n", as a mail client would, so bodies compare equal to what was queued.
        parsed = message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self._capture._record(parsed, CapturedEnvelope(str(envelope.mail_from), tuple(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """A Controller that closes its clients' connections when stopped, so they fail at once instead of hanging."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._servers: list[SMTP] = []

    def factory(self) -> SMTP:
        server = super().factory()
        self._servers.append(server)
        return server

    async def _drop_clients(self) -> None:
        for server in self._servers:
            if server.transport is not None:
                server.transport.abort()
        await asyncio.sleep(0)  # let connection_lost run and the sockets close

    def stop(self, no_assert: bool = False) -> None:
        if self._thread is not None and self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self._drop_clients(), self.loop).result(timeout=5)
        super().stop(no_assert)


class SmtpCapture:
    """An SMTP server on 127.0.0.1 whose port stays the same across stop() and start().

    messages holds every message received since construction (across restarts), parsed with
    email.policy.default. Add lower-case addresses to refuse (550) or defer (451) to have RCPT refused.
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self._messages: list[EmailMessage] = []
        self._envelopes: list[CapturedEnvelope] = []
        self._connections = 0
        self._changed = threading.Condition()
        self._controller: _Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def messages(self) -> list[EmailMessage]:
        """Return a snapshot of the messages received so far."""
        with self._changed:
            return list(self._messages)

    @property
    def envelopes(self) -> list[CapturedEnvelope]:
        """Return the envelopes of the messages received so far, in the same order."""
        with self._changed:
            return list(self._envelopes)

    @property
    def connections(self) -> int:
        """Return how many SMTP sessions (EHLO greetings) clients have opened so far."""
        with self._changed:
            return self._connections

    def _count_connection(self) -> None:
        with self._changed:
            self._connections += 1

    def _record(self, message: EmailMessage, envelope: CapturedEnvelope) -> None:
        with self._changed:
            self._messages.append(message)
            self._envelopes.append(envelope)
            self._changed.notify_all()

    def start(self) -> None:
        """Listen on the fixed port (a new controller each time: a stopped one's event loop is closed)."""
        if self._controller is not None:
            return
        # server_hostname spares aiosmtpd a slow FQDN lookup.
        controller = _Controller(
            _Handler(self), hostname=self.host, port=self.port, server_hostname="smtp.test", ready_timeout=5
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and drop open connections: afterwards a connection attempt is refused at once."""
        if self._controller is None:
            return
        controller, self._controller = self._controller, None
        controller.stop()

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Wait until at least count messages have arrived and return them all; fail after timeout seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} message(s) within {timeout} s, got {len(self._messages)}")
            return list(self._messages)

    def __enter__(self) -> SmtpCapture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
