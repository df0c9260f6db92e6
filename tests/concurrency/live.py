"""A real server for races: the app served by Werkzeug's threaded server on loopback, and clients that send
many requests at once through real sockets (not the test client, which runs one request at a time)."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests.helpers import Account, csrf_from, sign_in


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port with a thread per request; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Answer:
    status: int
    location: str
    body: str


@dataclass
class Browser:
    """One signed-in person's cookie, used over real HTTP."""

    base: str
    cookie: str

    def request(self, method: str, path: str, data: dict[str, Any] | None = None) -> Answer:
        parts = urllib.parse.urlsplit(self.base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        body = urllib.parse.urlencode(data or {}, doseq=True) if method == "POST" else None
        headers = {"Cookie": self.cookie}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.getheader("Location") or "", response.read().decode())
        finally:
            connection.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def get_bytes(self, path: str) -> tuple[int, bytes]:
        """GET a file (a PDF): its status and its bytes as sent."""
        parts = urllib.parse.urlsplit(self.base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            connection.request("GET", path, headers={"Cookie": self.cookie})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def post(self, path: str, data: dict[str, Any]) -> Answer:
        return self.request("POST", path, data)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        assert page.status == 200, (path, page.status)
        return csrf_from(page.body)


def browser_for(app: Flask, base: str, account: Account, client: FlaskClient | None = None) -> Browser:
    """Sign in through the pages with the test client, then carry the session cookie to the real server."""
    if client is None:
        client = app.test_client()
        sign_in(client, app, account)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return Browser(base, f"{cookie.key}={cookie.value}")


def at_once(calls: list[Callable[[], Answer]]) -> list[Answer]:
    """Run the calls in parallel threads, released together by a barrier; return their answers in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Answer]) -> Answer:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
