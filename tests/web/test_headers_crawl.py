"""Security headers on every response (docs/threats.md#property-20): a crawl of every page each role can reach,
plus error pages (404, 405, CSRF 400, 413, a forced 500), the signed PDF, redirects and every static file.

The crawl starts at every GET route in the URL map (with a real notice, draft and file to fill their
arguments) and follows same-origin links, stylesheets, scripts and redirects from there, a bounded number
of requests per role. Every response must carry the CSP (default-src 'none', frame-ancestors 'none',
a nonce'd script-src), nosniff, no-referrer, X-Frame-Options DENY, COOP/CORP and no Server banner, and
everything but static files must say Cache-Control: no-store.
"""

from __future__ import annotations

import io
import re
import time
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.test import TestResponse

from portal import create_app
from portal.commands.setup import ensure_keys
from portal.domain.models import LearningItem, Notice, NoticeAttachment, Role, User
from portal.web import access
from portal.web.database import session_factory
from tests.helpers import Account, Accounts, appendix1_answers, contact_id, csrf_from, raise_notice, sign_in

CSC = "Rochdale Children's Social Care"
MAX_REQUESTS_PER_ROLE = 80
BOOM = "/__test/boom"
NONCE_SRC = re.compile(r"(?:^|;)\s*script-src [^;]*'nonce-([A-Za-z0-9_-]{20,})'")


def sign_in_now(client: FlaskClient, app: Flask, account: Account) -> str:
    """helpers.sign_in, with the code taken from the current TOTP step rather than the one before it.

    helpers.fresh_code picks the previous step for an account with no step used yet; if a 30 s boundary
    passes before the server checks the code, that step has left the window and the sign-in fails now and
    then. Marking the previous step as used first (a test-only rewind of the replay guard) makes
    fresh_code take the current step, which stays in the window across one boundary.
    """
    with session_factory(app)() as db:
        db.get(User, account.id).last_totp_step = int(time.time() // 30) - 1
        db.commit()
    return sign_in(client, app, account)


def header_problems(response: TestResponse, *, static: bool) -> list[str]:
    """What is wrong with one response's security headers (empty when nothing is)."""
    h = response.headers
    problems = []
    csp = h.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    if directives.get("default-src") != "default-src 'none'":
        problems.append(f"CSP default-src is not 'none': {csp!r}")
    if directives.get("frame-ancestors") != "frame-ancestors 'none'":
        problems.append("CSP has no frame-ancestors 'none'")
    if not NONCE_SRC.search(csp):
        problems.append("CSP script-src has no nonce")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("CSP allows unsafe-inline or unsafe-eval")
    expected = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    for name, value in expected.items():
        if h.get(name) != value:
            problems.append(f"{name} is {h.get(name)!r}, not {value!r}")
    if not static and h.get("Cache-Control") != "no-store":
        problems.append(f"Cache-Control is {h.get('Cache-Control')!r}, not 'no-store'")
    if re.search(r"\d", h.get("Server", "")):
        problems.append(f"Server header gives a version: {h.get('Server')!r}")
    if response.mimetype == "text/html":
        # Every script on a page carries this response's nonce (no inline script runs without it).
        nonce = NONCE_SRC.search(csp)
        for attrs in re.findall(r"<script\b([^>]*)>", response.get_data(as_text=True)):
            if not nonce or f'nonce="{nonce.group(1)}"' not in attrs:
                problems.append(f"a <script{attrs}> lacks this response's nonce")
    return problems


class Recorder:
    """Makes requests, checks every response's headers, and remembers which endpoints were reached."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.adapter = app.url_map.bind("localhost")
        self.problems: list[str] = []
        self.endpoints: set[str] = set()
        self.statuses: set[int] = set()
        self.count = 0

    def endpoint(self, path: str, method: str = "GET") -> str | None:
        try:
            return str(self.adapter.match(urlsplit(path).path, method=method)[0])
        except (NotFound, MethodNotAllowed, RequestRedirect):
            return None

    def request(self, client: FlaskClient, who: str, method: str, path: str, **kwargs: object) -> TestResponse:
        response = client.open(path, method=method, **kwargs)
        endpoint = self.endpoint(path, method)
        static = endpoint == "static" and response.status_code in (200, 304)
        body_needed = response.mimetype == "text/html"
        for problem in header_problems(response, static=static):
            self.problems.append(f"{who} {method} {path} -> {response.status_code}: {problem}")
        if endpoint:
            self.endpoints.add(endpoint)
        self.statuses.add(response.status_code)
        self.count += 1
        if not body_needed:
            response.close()
        return response


def same_origin_links(base: str, html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for tag, attr in (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src")):
        for element in soup.find_all(tag):
            value = element.get(attr)
            if not value or value.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
                continue
            url = urlsplit(urljoin(f"http://localhost{base}", value))
            if url.scheme in ("http", "https") and url.netloc == "localhost":
                found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


def crawl(recorder: Recorder, client: FlaskClient, who: str, seeds: list[str]) -> int:
    queue, seen, made = deque(seeds), set(seeds), 0
    while queue and made < MAX_REQUESTS_PER_ROLE:
        path = queue.popleft()
        response = recorder.request(client, who, "GET", path)
        made += 1
        nexts = []
        if response.status_code in (301, 302, 303, 307, 308):
            nexts.append(urlsplit(urljoin(f"http://localhost{path}", response.headers["Location"])).path)
        elif response.mimetype == "text/html":
            nexts += same_origin_links(path, response.get_data(as_text=True))
        response.close()
        for link in nexts:
            if link not in seen and (link.startswith("/") and not link.startswith("//")):
                seen.add(link)
                queue.append(link)
    return made


def get_seeds(app: Flask, args: dict[str, str]) -> list[str]:
    """One URL for every GET route whose arguments are known (the authorisation matrix fails on the rest)."""
    seeds = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or not rule.arguments <= args.keys():
                continue
            url = url_for(rule.endpoint, **{a: args[a] for a in rule.arguments})
            if rule.endpoint == "notices.pdf":
                url += "?version=1"
            seeds.append(url)
    return sorted(set(seeds))


def test_every_response_carries_the_security_headers(app: Flask, accounts: Accounts) -> None:
    # A route that fails, registered before the app's first request, to see the 500 page's headers.
    def boom() -> str:
        raise RuntimeError("forced failure for the header crawl")

    app.add_url_rule(BOOM, "test_boom", access.rule("public")(boom))

    practitioner = accounts.make(Role.PRACTITIONER)
    others = {
        "spoc": accounts.make(Role.SPOC, agency=CSC),
        "business_manager": accounts.make(Role.BUSINESS_MANAGER),
        "admin": accounts.make(Role.ADMIN),
    }
    recorder = Recorder(app)
    clients: dict[str, FlaskClient] = {"anonymous": app.test_client(), "practitioner": app.test_client()}
    sign_in_now(clients["practitioner"], app, practitioner)
    notice_id, _ = raise_notice(clients["practitioner"], appendix1_answers(contact_id(app, CSC)))
    page = clients["practitioner"].get("/notices/new")
    draft_url = (
        clients["practitioner"]
        .post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)})
        .headers["Location"]
    )
    for name, account in others.items():
        clients[name] = app.test_client()
        sign_in_now(clients[name], app, account)
    # A piece of evidence on the notice, and a learning log item, so their pages are crawled too.
    page = clients["practitioner"].get(f"/notices/{notice_id}/evidence")
    clients["practitioner"].post(
        f"/notices/{notice_id}/evidence",
        data={"file": (io.BytesIO(b"%PDF-1.7 minutes"), "minutes.pdf"), "csrf_token": csrf_from(page.text)},
        content_type="multipart/form-data",
    )
    with session_factory(app)() as db:
        attachment_id = db.execute(select(NoticeAttachment.id)).scalar_one()
        notice = db.get(Notice, notice_id)
        assert notice is not None
        item = LearningItem(notice_id=notice_id, partnership_id=notice.partnership_id)
        db.add(item)
        db.commit()
        item_id = item.id

    seeds = get_seeds(
        app,
        {
            "notice_id": notice_id,
            "draft_id": draft_url.rstrip("/").split("/")[-1],
            "filename": "js/init.mjs",
            "token": "not-a-token-that-was-issued",
            # The administration pages (issue 9): a user and a directory contact of the admin's partnership.
            "user_id": str(practitioner.id),
            "contact_id": str(contact_id(app, CSC)),
            "attachment_id": attachment_id,
            "item_id": item_id,
        },
    )
    crawled = {who: crawl(recorder, c, who, seeds) for who, c in clients.items()}

    # Error pages, anonymous and signed in.
    for who in ("anonymous", "practitioner"):
        c = clients[who]
        token = csrf_from(c.get("/sign-in" if who == "anonymous" else "/accessibility").text)
        for method, path, kwargs, status in (
            ("GET", "/no-such-page", {}, 404),
            ("GET", f"/notices/{notice_id}x", {}, 302 if who == "anonymous" else 404),
            ("POST", "/health", {"data": {"csrf_token": token}}, 404),  # 405, answered as 404
            ("PUT", "/sign-in", {}, 404),
            ("DELETE", f"/notices/{notice_id}", {}, 404),
            ("POST", "/sign-in", {"data": {"email": "a@b.test", "password": "x" * 12}}, 400),  # no CSRF token
            ("POST", "/notices/new", {"data": {"immediate_risk": "no", "csrf_token": "forged"}}, 400),
            ("POST", "/sign-in", {"data": {"csrf_token": token, "email": "x" * (2 * 1024 * 1024 + 10)}}, 413),
            ("GET", BOOM, {}, 500),
            ("HEAD", "/sign-in", {}, 302 if who != "anonymous" else 200),
            ("OPTIONS", f"/notices/{notice_id}", {}, 302 if who == "anonymous" else 200),
        ):
            response = recorder.request(c, who, method, path, **kwargs)
            if response.status_code != status:
                recorder.problems.append(f"{who} {method} {path}: expected {status}, got {response.status_code}")
            response.close()

    # The PDF, explicitly (the crawl reaches it from the notice page too).
    pdf = recorder.request(clients["practitioner"], "practitioner", "GET", f"/notices/{notice_id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    # A piece of evidence, uploaded then downloaded: always an attachment, never shown inline.
    page = clients["practitioner"].get(f"/notices/{notice_id}/evidence")
    clients["practitioner"].post(
        f"/notices/{notice_id}/evidence",
        data={"file": (io.BytesIO(b"%PDF-1.7 minutes"), "minutes.pdf"), "csrf_token": csrf_from(page.text)},
        content_type="multipart/form-data",
    )
    link = clients["practitioner"].get(f"/notices/{notice_id}").text.split(f'href="/notices/{notice_id}/evidence/')[1]
    evidence = recorder.request(
        clients["practitioner"], "practitioner", "GET", f"/notices/{notice_id}/evidence/{link.split(chr(34))[0]}"
    )
    assert evidence.status_code == 200 and evidence.headers["Content-Disposition"].startswith("attachment;")

    # Every file under portal/static, then again as a conditional request (304).
    static_root = Path(app.static_folder or "")
    files = sorted(p.relative_to(static_root).as_posix() for p in static_root.rglob("*") if p.is_file())
    assert any(f.endswith(".css") for f in files) and any(f.endswith(".js") for f in files), files
    anonymous = clients["anonymous"]
    for name in files:
        response = recorder.request(anonymous, "anonymous", "GET", f"/static/{name}")
        if response.status_code != 200:
            recorder.problems.append(f"/static/{name}: {response.status_code}")
            continue
        etag = response.headers.get("ETag")
        if etag:
            again = recorder.request(anonymous, "anonymous", "GET", f"/static/{name}", headers={"If-None-Match": etag})
            if again.status_code != 304:
                recorder.problems.append(f"/static/{name} with If-None-Match: {again.status_code}, not 304")

    get_endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}
    assert not get_endpoints - recorder.endpoints, f"never fetched: {sorted(get_endpoints - recorder.endpoints)}"
    assert {200, 302, 304, 400, 404, 413, 500} <= recorder.statuses, recorder.statuses
    assert not recorder.problems, f"{len(recorder.problems)} problems in {recorder.count} responses:\n" + "\n".join(
        recorder.problems
    )
    assert all(n > 5 for n in crawled.values()), crawled
    # Each template keeps a copy of the environment's globals taken when it loads (portal.web.app._Environment):
    # after every page has been rendered, no global may have been added that a template loaded earlier lacks.
    loaded = list(app.jinja_env.cache.values())  # type: ignore[union-attr]
    assert len(loaded) > 50
    assert all(set(app.jinja_env.globals) <= set(t.globals) for t in loaded)


def test_a_missing_static_file_is_answered_with_no_store(app: Flask, accounts: Accounts) -> None:
    client = app.test_client()
    sign_in_now(client, app, accounts.make(Role.PRACTITIONER, name="Robin Cachecheck"))
    response = client.get("/static/no-such-file.css")
    assert response.status_code == 404
    assert "Robin Cachecheck" in response.text  # the page is personal...
    assert header_problems(response, static=False) == []  # ...so it must not be cached


def test_production_adds_hsts_and_a_host_only_cookie(database_url: str, tmp_path: Path) -> None:
    """HSTS is sent in production only (development runs on plain http://127.0.0.1)."""
    keys = tmp_path / "production-keys"
    key_app = Flask("keys")
    key_app.config["KEY_DIR"] = str(keys)
    ensure_keys(key_app, development=False)
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "p" * 40,
            "DATABASE_URL": database_url,
            "KEY_DIR": str(keys),
            "LOG_FILE": str(tmp_path / "portal.log"),
            "BASE_URL": "https://portal.test",
            "MAILER": "smtp",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 1024,
            "ARGON2_PARALLELISM": 1,
        }
    )
    try:
        client = app.test_client()
        for path in ("/sign-in", "/no-such-page", "/static/js/init.mjs"):
            response = client.get(path, base_url="https://portal.test")
            assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=31536000"), path
            assert header_problems(response, static=path.startswith("/static/")) == [], path
            response.close()
        cookie = client.get_cookie("__Host-portal_session", domain="portal.test")
        assert cookie is not None and cookie.secure and cookie.http_only
    finally:
        app.extensions["portal.engine"].dispose()
