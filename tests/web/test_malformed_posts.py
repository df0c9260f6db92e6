"""Malformed requests of any shape, over real HTTP, to every POST route: never a 5xx.

The test client hands Werkzeug a well-formed request; a real client does not have to. Here 3,000 requests go
through sockets to the app on a threaded server (SQLite or PostgreSQL as the suite runs), two at a time, as five
people (anonymous, a practitioner with a draft and a notice, the SPOC it went to, the business manager, an
administrator), each to a POST route found in the app's URL map (so a new route is covered without editing
this file), with a body drawn from the shapes below: hostile answers with a valid CSRF token, file parts in
text fields, broken multipart, invalid percent-encoding and UTF-8, huge years and odd digits in dates, bodies
over the size limit, too many fields, JSON and raw bytes, and ids in the path that are not ours.
"""

from __future__ import annotations

import http.client
import random
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup
from flask import Flask

from portal.domain.models import Role
from tests.concurrency.live import browser_for, serving
from tests.helpers import Accounts, appendix1_answers, contact_id, raise_notice, sign_in

REQUESTS = 3000
RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"
HOSTILE_IDS = ["00000000-0000-0000-0000-000000000000", "..%2F..%2Fetc", "%00", "x" * 300, "%E2%80%AE", "1%0d%0aX:%20y"]
HOSTILE_VALUES = [
    "",
    " ",
    "\x00",
    "a" * 120_000,
    "²",
    "٣",
    "99999999999999999999",
    "-1",
    "1e309",
    "None",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil.test")',
    "\r\nBcc: x@evil.test",
    "\u202eevil",
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    "../../etc/passwd",
    "https://evil.test/",
    "//evil.test",
]


@dataclass
class Shot:
    """One request as bytes: method, path, headers, body."""

    path: str
    headers: dict[str, str]
    body: bytes


def send(base: str, shot: Shot) -> int:
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.putrequest("POST", shot.path, skip_accept_encoding=True)
        headers = {"Content-Length": str(len(shot.body)), **shot.headers}
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(shot.body)
        response = connection.getresponse()
        response.read()
        return response.status
    except (ConnectionResetError, BrokenPipeError):
        # The server may close the connection on a body over the limit before reading it: that is a refusal
        # (413), not a failure; what matters is that it answered nothing in the 5xx range.
        return 413
    finally:
        connection.close()


def field_names(app: Flask, client: object, paths: list[str]) -> list[str]:
    """Every input name on the forms the people can open (a form's own questions, date parts and all)."""
    names: set[str] = set()
    for path in paths:
        page = client.get(path)  # type: ignore[attr-defined]
        if page.status_code == 200:
            soup = BeautifulSoup(page.text, "html.parser")
            names |= {el["name"] for el in soup.select("input[name], textarea[name], select[name]")}
    names.discard("csrf_token")
    return sorted(names)


def multipart(fields: list[tuple[str, str | None, bytes]], boundary: str = "----fuzzb0undary") -> tuple[str, bytes]:
    """A multipart body; a part with a file name is a file part."""
    chunks = []
    for name, filename, value in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            chunks.append(b"Content-Type: application/octet-stream\r\n")
        chunks.append(b"\r\n" + value + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)


def shapes(rng: random.Random, names: list[str], csrf: str) -> list[Callable[[], tuple[dict[str, str], bytes]]]:
    def pick_fields(count: int) -> list[str]:
        return rng.sample(names, min(count, len(names)))

    def urlencoded(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], bytes]:
        body = urllib.parse.urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode()
        return {"Content-Type": "application/x-www-form-urlencoded"}, body

    def hostile_answers() -> tuple[dict[str, str], bytes]:
        pairs = [(n, rng.choice(HOSTILE_VALUES)[: rng.choice([10, 500, 200_000])]) for n in pick_fields(12)]
        return urlencoded([("csrf_token", csrf), *pairs])

    def duplicated_fields() -> tuple[dict[str, str], bytes]:
        pairs = [(n, rng.choice(HOSTILE_VALUES)[:50]) for n in pick_fields(6) for _ in range(3)]
        return urlencoded([("csrf_token", csrf), ("csrf_token", "forged"), *pairs])

    def odd_dates() -> tuple[dict[str, str], bytes]:
        pairs = [("csrf_token", csrf)]
        for name in pick_fields(8):
            for _ in range(3):
                pairs.append((name, rng.choice(["²", "٣", "99999999999", "-5", "0", "31", "2", "", "1e9"])))
        pairs += [("immediate_risk", "no"), ("to_stage", rng.choice(["stage-4", "stage-99", ""]))]
        return urlencoded(pairs)

    def bad_percent() -> tuple[dict[str, str], bytes]:
        junk = rng.choice([b"%ZZ", b"%FF%FE", b"%", b"%0", b"%ED%A0%80", b"%C0%AF", b"\xff\xfe", b"%00"])
        body = b"csrf_token=" + csrf.encode() + b"&" + b"&".join(n.encode() + b"=" + junk for n in pick_fields(5))
        return {"Content-Type": "application/x-www-form-urlencoded; charset=" + rng.choice(["utf-8", "utf-7", "x"])}, (
            body
        )

    def file_parts() -> tuple[dict[str, str], bytes]:
        parts: list[tuple[str, str | None, bytes]] = [("csrf_token", None, csrf.encode())]
        parts += [(n, rng.choice(["a.pdf", "", "../x", "\u202egpj.exe"]), rng.randbytes(200)) for n in pick_fields(8)]
        content_type, body = multipart(parts)
        return {"Content-Type": content_type}, body

    def broken_multipart() -> tuple[dict[str, str], bytes]:
        content_type, body = multipart(
            [("csrf_token", None, csrf.encode()), *[(n, None, b"x") for n in pick_fields(4)]]
        )
        variant = rng.randrange(5)
        if variant == 0:
            return {"Content-Type": "multipart/form-data"}, body  # no boundary
        if variant == 1:
            return {"Content-Type": content_type}, body[: len(body) // 2]  # cut off mid-part
        if variant == 2:
            return {"Content-Type": content_type}, body.replace(b"Content-Disposition", b"Content-Dispotision")
        if variant == 3:
            return {"Content-Type": content_type}, body.replace(b'name="', b'name="\x00')
        return {"Content-Type": "multipart/form-data; boundary=" + "b" * 200}, rng.randbytes(300)

    def too_many_fields() -> tuple[dict[str, str], bytes]:
        return urlencoded([("csrf_token", csrf)] + [(f"f{i}", "x") for i in range(5000)])

    def over_the_limit() -> tuple[dict[str, str], bytes]:
        return {"Content-Type": "application/x-www-form-urlencoded"}, b"csrf_token=" + csrf.encode() + b"&a=" + (
            b"x" * (2 * 1024 * 1024 + 10)
        )

    def not_a_form() -> tuple[dict[str, str], bytes]:
        content_type = rng.choice(
            ["application/json", "text/plain", "application/octet-stream", "application/xml", "", "a/b; c"]
        )
        body = rng.choice(
            [b'{"csrf_token": "' + csrf.encode() + b'", "response": [1, {"a": null}]}', rng.randbytes(500)]
        )
        return ({"Content-Type": content_type} if content_type else {}), body

    def no_csrf() -> tuple[dict[str, str], bytes]:
        return urlencoded([(n, "x") for n in pick_fields(5)])

    weighted = [
        (hostile_answers, 30),
        (duplicated_fields, 8),
        (odd_dates, 12),
        (bad_percent, 10),
        (file_parts, 12),
        (broken_multipart, 10),
        (too_many_fields, 2),
        (over_the_limit, 1),
        (not_a_form, 8),
        (no_csrf, 7),
    ]
    return [shape for shape, weight in weighted for _ in range(weight)]


def test_three_thousand_malformed_posts_to_every_route_answer_no_5xx(app: Flask, accounts: Accounts) -> None:
    rng = random.Random(20261204)
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING)
    people = {
        "practitioner": raiser,
        "spoc": accounts.make(Role.SPOC, agency=TARGET),
        "business_manager": accounts.make(Role.BUSINESS_MANAGER),
        "admin": accounts.make(Role.ADMIN),
    }
    clients = {name: app.test_client() for name in people}
    for name, account in people.items():
        sign_in(clients[name], app, account)
    practitioner = clients["practitioner"]
    notice_id, _ = raise_notice(practitioner, appendix1_answers(contact_id(app, TARGET)))
    page = practitioner.get("/notices/new")
    started = practitioner.post(
        "/notices/new",
        data={"immediate_risk": "no", "csrf_token": re.search(r'csrf_token" value="([^"]+)', page.text)[1]},
    )
    draft_id = started.headers["Location"].rstrip("/").split("/drafts/")[1].split("/")[0]

    routes = sorted(rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ()))
    assert len(routes) >= 15, routes
    forms = [r.replace("<draft_id>", draft_id).replace("<notice_id>", notice_id) for r in routes]
    names = field_names(app, practitioner, forms) + field_names(app, clients["spoc"], forms)
    names = sorted(set(names) | {"next", "email", "password", "code", "current_password", "new_password"})
    assert {"child_name", "child_dob", "response", "reason"} <= set(names), names

    answers: Counter[int] = Counter()
    by_route: dict[str, Counter[int]] = {route: Counter() for route in routes}
    with serving(app) as base:
        browsers = {name: browser_for(app, base, people[name], clients[name]) for name in people}
        csrf = {name: browsers[name].csrf("/account/password") for name in people}
        anonymous_page = http.client.HTTPConnection(*urllib.parse.urlsplit(base).netloc.split(":"))
        anonymous_page.request("GET", "/sign-in")
        response = anonymous_page.getresponse()
        anonymous_cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        csrf["anonymous"] = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode())[1]
        anonymous_page.close()
        cookies = {name: browser.cookie for name, browser in browsers.items()} | {"anonymous": anonymous_cookie}
        shape_lists = {who: shapes(rng, names, token) for who, token in csrf.items()}

        plan: list[tuple[str, Shot]] = []
        for i in range(REQUESTS):
            route = routes[i % len(routes)]
            who = rng.choice([*people, "anonymous"])
            path = route
            for param, real in (("<draft_id>", draft_id), ("<notice_id>", notice_id)):
                path = path.replace(param, real if rng.random() < 0.75 else rng.choice(HOSTILE_IDS))
            if rng.random() < 0.1:
                path += "?" + rng.choice(
                    ["next=%0d%0aLocation:%20//evil.test", "a=%ZZ", "next=//evil.test", "x=%C3%A9%FF"]
                )
            headers, body = rng.choice(shape_lists[who])()
            if route == "/sign-out" and who != "anonymous":
                # A valid sign-out would end this person's session for the rest of the run.
                body = body.replace(csrf[who].encode(), b"forged")
            headers["Cookie"] = cookies[who]
            plan.append((route, Shot(path, headers, body)))

        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = list(pool.map(lambda item: send(base, item[1]), plan))
        for (route, _shot), status in zip(plan, statuses, strict=True):
            answers[status] += 1
            by_route[route][status] += 1

        # The people are still served afterwards.
        assert browsers["practitioner"].get(f"/notices/{notice_id}").status == 200
        assert browsers["spoc"].get("/").status == 200

    failed = {route: {c: n for c, n in counts.items() if c >= 500} for route, counts in by_route.items()}
    failed = {route: codes for route, codes in failed.items() if codes}
    assert not failed, failed
    assert sum(answers.values()) == REQUESTS
    # Most malformed requests are refused with a message (400, 404, 413, 429) or a redirect; none is a 5xx.
    assert answers[400] > REQUESTS // 10, answers
    log = Path(app.config["LOG_FILE"]).read_text(encoding="utf-8") if Path(app.config["LOG_FILE"]).exists() else ""
    assert "Traceback" not in log
