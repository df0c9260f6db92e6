"""Hypothesis drives every form of the portal with hostile and malformed input.

Two layers:
- the form layer: each WTForms class validated directly (formdata built as a MultiDict, CSRF off), at
  least 2,000 examples per form, about a millisecond each. Lone surrogates can be tried here, which no
  HTTP client can send. Properties: validation never raises; every error is in the error summary and links
  to an input that is on the page; valid answers are plain, storable text that passes the same checks again
  when read back from the draft (submit re-validates them).
- over HTTP with the test client: fewer examples per form, with CSRF tokens right, wrong, missing or
  duplicated, fields missing or duplicated, bodies urlencoded, multipart, JSON or raw bytes. Properties:
  never a 500; a 200 answer to a POST shows a GOV.UK error summary whose links point at inputs on the
  page and whose messages also sit beside the fields; nothing is half-saved (no notice, answer or e-mail
  ever appears from the draft form; a draft's stored answers change only when the POST was valid; a
  safety check or draft is recorded only for a valid answer to the immediate-risk question).

Settings are reproducible in CI: derandomize=True, no example database, no deadline. Known bugs are kept
out of the broad runs (each would have its own strict xfail test below) so that the runs stay green and still
catch anything new: see KNOWN_BUGS.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import pyotp
import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal import forms as portal_forms
from portal.db import get_session, session_factory
from portal.forms import auth as auth_forms
from portal.forms.fields import GovukDateField
from portal.forms.raise_notice import ImmediateRiskForm, SubmitNoticeForm
from portal.forms.rochdale import DEFINITION as APPENDIX1
from portal.models import (
    Notice,
    NoticeAnswer,
    NoticeDocument,
    NoticeDraft,
    NoticeRecipient,
    OutboxMessage,
    Role,
    SafetyCheck,
    User,
)
from portal.services import accounts as account_service
from portal.services import notices, signin
from portal.services.runtime import portal_services
from tests.helpers import Account, Accounts, appendix1_answers, contact_id, csrf_from, errors_on, sign_in

log = logging.getLogger(__name__)
# A failing example can hold a 200 kB value; Hypothesis warns before printing it, which must not hide the failure.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

FORM_EXAMPLES = 2_000
HTTP_EXAMPLES = 100
CSC = "Rochdale Children's Social Care"
GMP = "Greater Manchester Police"
TOO_LARGE = 2 * 1024 * 1024 + 1024

# Inputs that reach a bug already reported (each with a strict xfail test); the broad runs avoid
# exactly these inputs until the bug is fixed, then the exclusion goes with the xfail mark. None now.
KNOWN_BUGS: dict[str, str] = {}

# -- hostile text ---------------------------------------------------------------------------------------

INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width
    "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u2028", "\u2029", "\u00a0", "\u3000", "\u180e", "\u0301", "\u0336", "\u034f",
]  # fmt: skip
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\r", "\n", "\t", "\r\n"]
EMOJI = ["\U0001f600", "\U0001f469\U0001f3fd\u200d\u2695\ufe0f", "\U0001f1ec\U0001f1e7", "\U0001f4a9", "\u2764\ufe0f"]
MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{% raw %}",
    "%(x)s%s%n",
    "'; DROP TABLE notice;--",
    "\\",
    "../../etc/passwd",
    '=HYPERLINK("x")',
    "@SUM(1)",
    "&amp;&#0;&#x202e;",
    "%00%ff%2",
]
DIGITS = ["\u0661\u0662\u0663", "\uff11\uff12", "\u00b2\u00b3", "\u2460", "\u07c0", "\U0001d7d8", "\u0969\u096a", "12"]
SCRIPTS = [
    "Zyxqoria", "\u00d1o\u00f1o", "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2", "\u0414\u043c\u0438\u0442\u0440",
    "\u0645\u062d\u0645\u062f", "\u05e9\u05b8\u05c1\u05dc", "\u674e\u5c0f\u9f99", "\ufdfa", "\u01c5", "\u0130",
    "\u00df",
]  # fmt: skip
TOKENS = INVISIBLE + CONTROL + EMOJI + MARKUP + DIGITS + SCRIPTS + [" ", "  ", ""]
# The portal's length limits and one past each, plus a couple of large values (MAX_CONTENT_LENGTH is 2 MB).
LENGTHS = [6, 7, 12, 13, 20, 21, 30, 31, 200, 201, 254, 255, 256, 257, 300, 301, 10_000, 10_001, 65_537, 200_000]


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


def _repeat(unit: str, length: int) -> str:
    return (unit * (length // max(len(unit), 1) + 1))[:length]


# Hostile values made by combining the tokens, so most draws are one cheap choice from a list (on this
# 2-core machine a drawn string costs ~0.5 ms; a choice from a list ~0.03 ms).
POOL = sorted(
    {
        *TOKENS,
        *(a + b for a in TOKENS for b in TOKENS[::3]),
        *(f"Sam{t}Jones" for t in TOKENS),
        *(t * 3 for t in TOKENS),
    }
)


def hostile_text(*, http: bool) -> st.SearchStrategy[str]:
    """Unicode of every kind (with lone surrogates unless it must travel over HTTP), control characters,
    bidi and zero-width marks, emoji, markup, other scripts' digits, and values at and past every limit."""
    chars = st.characters(codec="utf-8") if http else st.characters()
    pool = st.sampled_from(POOL)
    return st.one_of(
        pool,
        st.builds(_repeat, st.sampled_from(TOKENS[:-1]), st.sampled_from(LENGTHS)),
        pool,
        st.text(chars, max_size=10),
        pool,
        pool,
        st.builds(str.__add__, pool, st.text(chars, max_size=4)),
        pool,
    )


def maybe_missing_or_repeated(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's submission: one value, none (the field is missing), or the field repeated."""
    return st.one_of(value, st.none(), st.lists(value, min_size=2, max_size=3))


def with_hostile(valid: st.SearchStrategy[str], *, http: bool) -> st.SearchStrategy[Any]:
    return maybe_missing_or_repeated(st.one_of(valid, hostile_text(http=http)))


def _flat(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [item for part in value for item in _flat(part)]
    return [value]


def to_multidict(data: dict[str, Any]) -> MultiDict[str, str]:
    """Form data as a browser would send it: a repeated field's values (and a date's parts) in order."""
    md: MultiDict[str, str] = MultiDict()
    for name, value in data.items():
        for item in _flat(value):
            md.add(name, item)
    return md


# Answers a person might really type, in many scripts: the runs need valid submissions too.
PLAIN = [
    "Sam Jones", "O'Brien-Smith", "Zo\u00eb \u00c6lfric", "\u0645\u062d\u0645\u062f \u0639\u0644\u064a",
    "\u674e\u5c0f\u9f99", "\u0414\u043c\u0438\u0442\u0440\u0438\u0439", "Team \U0001f600", "01706 000000",
    "sw@rochdale.gov.uk", "Health Visitor (0-19)", "a", "  padded  ", "\u00a0nbsp\u00a0", "x" * 200, "y" * 10_000,
]  # fmt: skip


def _plain(alphabet_extra: str = "") -> st.SearchStrategy[str]:
    typed = st.text(
        st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs"), include_characters=alphabet_extra),
        min_size=1,
        max_size=40,
    ).filter(str.strip)
    known = st.sampled_from(PLAIN + [f"line one{c}line two" for c in alphabet_extra])
    return st.one_of(known, known, known, typed)


# -- strategies per form --------------------------------------------------------------------------------


def sign_in_data(*, http: bool, known_email: str) -> st.SearchStrategy[dict[str, Any]]:
    local = st.sampled_from(["sam", "sam.jones", "a+b", "\u00e9l\u00e8ve", "x" * 64, '"quoted"', "o'brien"])
    domain = st.sampled_from(
        ["rochdale.test", "bolton.gov.uk", "xn--bcher-kva.example", "\u0645\u062b\u0627\u0644.test"]
    )
    emails = st.one_of(
        st.builds("{}@{}".format, local, domain), st.just(known_email), st.just(known_email.upper() + " ")
    )
    return st.fixed_dictionaries(
        {"email": with_hostile(emails, http=http), "password": with_hostile(_plain(), http=http)}
    )


def _code(shape: str, n: int) -> str:
    return shape.format(n // 1000, n % 1000) if shape.count("{") == 2 else shape.format(n)


def code_data(*, http: bool) -> st.SearchStrategy[dict[str, Any]]:
    shapes = st.sampled_from(["{:06d}", " {:06d} ", "{:03d} {:03d}", "{:03d}-{:03d}", "{:d}", "{:012d}", "{:013d}"])
    codes = st.builds(_code, shapes, st.integers(0, 999_999))
    return st.fixed_dictionaries({"code": with_hostile(codes, http=http)})


def risk_data(*, http: bool) -> st.SearchStrategy[dict[str, Any]]:
    answers = st.sampled_from(["yes", "no", "Yes", "NO", " no ", "maybe", "yes\x00", "on", "1", "true"])
    return st.fixed_dictionaries({"immediate_risk": with_hostile(answers, http=http)})


def password_data(*, http: bool) -> st.SearchStrategy[dict[str, Any]]:
    shared = st.shared(_plain(), key="new-password")
    value = with_hostile(_plain(), http=http)
    return st.fixed_dictionaries(
        {
            "current_password": value,
            "new_password": st.one_of(value, shared),
            "confirm_password": st.one_of(value, shared),
        }
    )


def extra_fields(*, http: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Fields a form does not have (the check-answers form has none but its CSRF token and button)."""
    names = st.sampled_from(["submit", "child_name", "csrf_token2", "notice_id", "draft_id", *POOL[::7]])
    return st.dictionaries(names, with_hostile(_plain(), http=http), max_size=3)


def _nhs_number(nine: str) -> str | None:
    total = sum(int(d) * w for d, w in zip(nine, (10, 9, 8, 7, 6, 5, 4, 3, 2), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else nine + str(check)


def _date_parts(d: date, pad: bool, space: bool) -> list[str]:
    parts = [f"{d.day:02d}", f"{d.month:02d}", str(d.year)] if pad else [str(d.day), str(d.month), str(d.year)]
    return [f" {p} " for p in parts] if space else parts


def appendix1_data(contacts: list[str], *, http: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A complete, valid Appendix 1 with a few of its fields replaced, removed or repeated."""
    # Lists to choose from rather than values built from several draws: a draw costs ~0.1 ms here.
    first, last = date(1900, 1, 1), date.today() - timedelta(days=2)
    days = [first + timedelta(days=n) for n in range(0, (last - first).days, 97)] + [date(2016, 2, 29), last]
    valid_date = st.sampled_from([_date_parts(d, i % 2 == 0, i % 5 == 0) for i, d in enumerate(days)])
    hostile = hostile_text(http=http)
    date_part = st.one_of(
        st.builds("{}{}".format, st.integers(0, 99_999), st.sampled_from(["", " ", "0"])),
        st.sampled_from(DIGITS),
        hostile,
    )
    odd_date = st.one_of(st.lists(date_part, max_size=5), date_part)
    numbers = [n for n in (_nhs_number(f"{k * 7_919_113 % 10**9:09d}") for k in range(300)) if n]
    formats = ("{}{}{}", "{} {} {}", "{}-{}-{}", " {}  {} {} ")
    nhs = st.sampled_from([formats[i % 4].format(n[:3], n[3:6], n[6:]) for i, n in enumerate(numbers)])
    text_fields = {
        "child_name": _plain(),
        "completed_by_name": _plain(),
        "completed_by_role": _plain(),
        "completed_by_agency_team": _plain(),
        "completed_by_contact": _plain(),
        "nhs_number": nhs,
        "p_number": st.sampled_from(["P778899", "p1", "7", "RN 12/34-5", "P-12/" + "9" * 25, "A" * 30]),
        **{
            name: _plain("\n\r\t")
            for name in ("summary_of_disagreement", "informal_challenge_evidence", "desired_outcome")
        },
        "stage3_evidence": _plain("\n"),
        "stage4_evidence": _plain("\n"),
    }
    choices = st.sampled_from([*contacts, "", "0", "-1", "999999", f"{contacts[0]}.0", f" {contacts[0]}", "\u0665"])
    replacements: dict[str, st.SearchStrategy[Any]] = {
        **{name: with_hostile(valid, http=http) for name, valid in text_fields.items()},
        **{name: maybe_missing_or_repeated(st.one_of(valid_date, odd_date)) for name in APPENDIX1.date_fields()},
        "sent_to_1": maybe_missing_or_repeated(st.one_of(choices, hostile)),
        "sent_to_2": maybe_missing_or_repeated(st.one_of(choices, hostile)),
    }
    base = appendix1_answers(int(contacts[1]))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        data = dict(base)
        for name in draw(st.lists(st.sampled_from(sorted(replacements)), max_size=3, unique=True)):
            data[name] = draw(replacements[name])
        return data

    return build()


# -- checks ---------------------------------------------------------------------------------------------


def summary_problems_in_form(form: Any, order: list[str] | None = None) -> list[str]:
    """The error summary lists every field in error, and each entry targets one of the form's inputs."""
    problems = []
    summary = form.error_list(order)
    targets = {f.first_input_id if isinstance(f, GovukDateField) else f.id: f.name for f in form}
    linked = set()
    for entry in summary:
        target = entry["href"].lstrip("#")
        if target not in targets:
            problems.append(f"summary links to #{target}, which is not an input of the form")
        linked.add(targets.get(target))
        if not entry["text"]:
            problems.append(f"empty message for #{target}")
    in_error = {f.name for f in form if f.errors}
    if in_error - linked:
        problems.append(f"fields in error but not in the summary: {sorted(in_error - linked)}")
    return problems


def page_problems(html: str, *, after_post: bool) -> list[str]:
    """A page answering a POST with 200 has a GOV.UK error summary that links to inputs on the page."""
    soup = BeautifulSoup(html, "html.parser")
    problems = []
    for script in soup.find_all("script"):
        if not script.get("nonce"):
            problems.append("a <script> without the CSP nonce")
    for tag in soup.find_all(True):
        if any(attr.lower().startswith("on") for attr in tag.attrs):
            problems.append(f"an event-handler attribute on <{tag.name}>")
    if not after_post:
        return problems
    links = soup.select(".govuk-error-summary__list a")
    if not links:
        problems.append("a 200 answer to a POST without an error summary")
    if not (soup.title and soup.title.get_text().startswith("Error: ")):
        problems.append("the page title does not start with 'Error: '")
    inline = " ".join(e.get_text(" ", strip=True) for e in soup.select(".govuk-error-message"))
    for link in links:
        target = soup.find(id=link["href"].lstrip("#"))
        if target is None or target.name not in ("input", "select", "textarea"):
            problems.append(f"summary link {link['href']} does not point at an input")
        if link.get_text(strip=True) not in inline:
            problems.append(f"summary message {link.get_text(strip=True)!r} is not shown beside its field")
    return problems


def explore(name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int) -> int:
    """Run `check` on `examples` generated values (reproducibly); return how many were run."""
    count = 0

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        # No "explain" phase: on a failure, the shrunk example is report enough and CI time is short.
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
    @given(strategy)
    def run(value: Any) -> None:
        nonlocal count
        count += 1
        check(value)

    started = time.perf_counter()
    run()
    log.info("%s: %d examples in %.1f s", name, count, time.perf_counter() - started)
    return count


def _sendable(value: str) -> bool:
    """Whether a value could arrive over HTTP at all (lone surrogates cannot be encoded as UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def resubmit_problems(db: Any, partnership_id: int, answers: dict[str, str]) -> list[str]:
    """Submit re-reads a draft through the same checks: saved answers must stay valid and unchanged."""
    again = notices.build_form(
        db,
        APPENDIX1,
        partnership_id,
        formdata=notices.answers_as_formdata(APPENDIX1, answers),
        meta={"csrf": False},
    )
    if not again.validate():
        return [f"saved answers fail the checks at submit: {again.errors}"]
    if APPENDIX1.answers_from(again) != answers:
        return ["saved answers change when read back"]
    return []


LONG_ANSWERS = {
    "summary_of_disagreement",
    "informal_challenge_evidence",
    "desired_outcome",
    "stage3_evidence",
    "stage4_evidence",
}


# -- the form layer -------------------------------------------------------------------------------------


# Two groups of about the same cost, so that the two xdist workers can share the work.
SMALL_FORMS, APPENDIX1_FORM = "sign-in, code, password, immediate-risk and check-answers forms", "Appendix 1 form"


@pytest.mark.parametrize("group", [SMALL_FORMS, APPENDIX1_FORM])
def test_every_form_validates_hostile_input_cleanly(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch, group: str
) -> None:
    account = accounts.make(Role.PRACTITIONER)
    counts: dict[str, int] = {}
    validity: Counter[tuple[str, bool]] = Counter()
    secret = pyotp.random_base32()
    with app.test_request_context(method="POST"):
        db = get_session()
        user = db.get(User, account.id)
        # The directory does not change during the run: list it once rather than once per example.
        contacts = notices.contact_choices(db, user.partnership_id)
        monkeypatch.setattr(notices, "contact_choices", lambda _db, _pid: contacts)
        contact_ids = [value for value, _ in contacts]
        labels = dict(contacts)
        no_csrf = {"csrf": False}

        def check_sign_in(data: dict[str, Any]) -> None:
            form = auth_forms.SignInForm(formdata=to_multidict(data), meta=no_csrf)
            valid = form.validate()
            validity["sign-in", valid] += 1
            if valid and _sendable(form.email.data):
                account_service.normalise_email(form.email.data)
                signin.sign_in_identifier(portal_services().keyring, form.email.data)
            assert summary_problems_in_form(form) == []

        def check_code(data: dict[str, Any]) -> None:
            form = auth_forms.CodeForm(formdata=to_multidict(data), meta=no_csrf)
            valid = form.validate()
            validity["code", valid] += 1
            if valid and _sendable(form.code.data):
                account_service.matching_totp_step(secret, form.code.data, None)
            assert summary_problems_in_form(form) == []

        def check_risk(data: dict[str, Any]) -> None:
            form = ImmediateRiskForm(formdata=to_multidict(data), meta=no_csrf)
            valid = form.validate()
            validity["risk", valid] += 1
            submitted = data["immediate_risk"]
            first = submitted[0] if isinstance(submitted, list) else submitted
            assert valid == (isinstance(first, str) and first.strip() in ("yes", "no")), (first, form.errors)
            assert summary_problems_in_form(form) == []

        def check_submit(data: dict[str, Any]) -> None:
            form = SubmitNoticeForm(formdata=to_multidict(data), meta=no_csrf)
            assert form.validate()

        def check_password(data: dict[str, Any]) -> None:
            form = auth_forms.ChangePasswordForm(formdata=to_multidict(data), meta=no_csrf)
            validity["password", form.validate()] += 1
            assert summary_problems_in_form(form) == []

        def check_appendix1(data: dict[str, Any]) -> None:
            formdata = to_multidict(data)
            form = notices.build_form(db, APPENDIX1, user.partnership_id, formdata=formdata, meta=no_csrf)
            valid = form.validate()
            validity["appendix1", valid] += 1
            assert summary_problems_in_form(form, APPENDIX1.field_order) == []
            if not valid:
                assert form.error_list(APPENDIX1.field_order)
                return
            answers = APPENDIX1.answers_from(form)
            # What is stored is plain text: encodable, trimmed, and free of control characters (long
            # answers may hold line breaks and tabs).
            for name, value in answers.items():
                value.encode("utf-8")
                assert value == value.strip(), name
                allowed = "\n\r\t" if name in LONG_ANSWERS else ""
                assert not [c for c in value if unicodedata.category(c) == "Cc" and c not in allowed], name
            json.dumps(answers, ensure_ascii=False).encode("utf-8")
            APPENDIX1.display(answers, labels)
            assert resubmit_problems(db, user.partnership_id, answers) == []

        if group == SMALL_FORMS:
            counts["sign-in"] = explore(
                "sign-in form", sign_in_data(http=False, known_email=account.email), check_sign_in, FORM_EXAMPLES
            )
            counts["code"] = explore("security code form", code_data(http=False), check_code, FORM_EXAMPLES)
            if hasattr(auth_forms, "ChangePasswordForm"):
                counts["password"] = explore(
                    "change-password form", password_data(http=False), check_password, FORM_EXAMPLES
                )
            counts["risk"] = explore("immediate-risk form", risk_data(http=False), check_risk, FORM_EXAMPLES)
            counts["submit"] = explore("check-answers form", extra_fields(http=False), check_submit, FORM_EXAMPLES)
        else:
            counts["appendix1"] = explore(
                "Appendix 1 form", appendix1_data(contact_ids, http=False), check_appendix1, FORM_EXAMPLES
            )
    assert counts and all(n >= FORM_EXAMPLES for n in counts.values()), counts
    # Each form was seen both accepting and refusing input, so neither branch's properties held vacuously.
    log.info("valid/invalid: %s", dict(validity))
    for name in counts.keys() - {"submit"}:
        assert validity[name, True] and validity[name, False], (name, validity)
    assert set(portal_forms.FORMS) == {APPENDIX1.code}, "a new partnership form: add it to this fuzz run"


# -- over HTTP ------------------------------------------------------------------------------------------

CSRF_VARIANTS = ["valid"] * 10 + ["missing", "empty", "garbage", "other-session", "valid+garbage", "garbage+valid"]
BODIES = ["form"] * 8 + ["multipart", "raw", "json"]


def _decodes(raw: bytes) -> bool:
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class Poster:
    """POSTs hostile submissions for one signed-in (or anonymous) client and checks every answer."""

    def __init__(self, app: Flask, client: FlaskClient, token: str, other_token: str) -> None:
        self.app, self.client, self.token, self.other_token = app, client, token, other_token

    def post(self, url: str, data: dict[str, Any], csrf: str, body: str, raw: bytes) -> tuple[Any, bool | None]:
        """Send one submission; return (response, whether its CSRF token should be accepted)."""
        token = {
            "valid": [self.token],
            "missing": [],
            "empty": [""],
            "garbage": ["IjAwMCI.garbage.token"],
            "other-session": [self.other_token],
            "valid+garbage": [self.token, "garbage"],
            "garbage+valid": ["garbage", self.token],
        }[csrf]
        fields = to_multidict(data)
        fields.setlist("csrf_token", token)
        accepted = bool(token) and token[0] == self.token
        if body == "json":
            response = self.client.post(url, json={k: fields.getlist(k) for k in fields})
            return response, False
        if body == "raw":
            encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in fields.items(multi=True))
            response = self.client.post(
                url, data=encoded.encode() + b"&" + raw, content_type="application/x-www-form-urlencoded"
            )
            # Werkzeug drops a body that is not UTF-8 once decoded, token and all: the answer is then the
            # "page expired" page, which is fine for bytes no browser sends.
            return response, accepted if _decodes(raw) else None
        if body == "multipart":
            return self.client.post(url, data=fields, content_type="multipart/form-data"), accepted
        return self.client.post(url, data=fields), accepted


def _counts(app: Flask) -> dict[str, int]:
    with session_factory(app)() as db:
        return {
            model.__name__: db.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (
                Notice,
                NoticeAnswer,
                NoticeRecipient,
                NoticeDocument,
                OutboxMessage,
                SafetyCheck,
                NoticeDraft,
            )
        }


def _draft_ct(app: Flask, draft_id: str) -> bytes | None:
    with session_factory(app)() as db:
        return db.execute(select(NoticeDraft.answers_ct).where(NoticeDraft.id == draft_id)).scalar_one_or_none()


def _new_draft(client: FlaskClient) -> str:
    page = client.get("/notices/new")
    response = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    return response.headers["Location"]


def _http_settings_check(response: Any, accepted: bool | None, where: str, seen: dict[str, Counter[int]]) -> None:
    """Never a 500; a 400 (with the friendly page) exactly when the CSRF token is wrong (None: either)."""
    seen[where][response.status_code] += 1
    assert response.status_code != 500, f"{where}: 500"
    if response.status_code == 413:
        assert "What you sent is too large" in response.text
    elif response.status_code == 400:
        assert accepted is not True, f"{where}: 400 for a submission with a valid CSRF token"
        assert "The page you were using has expired" in response.text
    else:
        assert accepted is not False, f"{where}: {response.status_code} for a submission with no valid CSRF token"


def _other_sessions_token(app: Flask) -> str:
    return csrf_from(app.test_client().get("/sign-in").text)


REQUEST_KW = st.tuples(st.sampled_from(CSRF_VARIANTS), st.sampled_from(BODIES), st.binary(max_size=64))


def _too_large_is_413(posts: list[tuple[FlaskClient, str, str]]) -> None:
    """A body over MAX_CONTENT_LENGTH is answered 413 with a page, on every form."""
    for client, url, field in posts:
        response = client.post(url, data={"csrf_token": "x", field: "x" * TOO_LARGE})
        assert response.status_code == 413, url
        assert "What you sent is too large" in response.text


def test_notice_and_account_forms_over_http_never_fail_and_save_nothing_half_done(
    app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each example must reach the checks behind the throttle (the throttle itself is tested elsewhere).
    monkeypatch.setattr(signin, "MAX_FAILURES", 10**9)
    practitioner = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    counts: dict[str, int] = {}
    seen: dict[str, Counter[int]] = defaultdict(Counter)
    contact_ids = [str(contact_id(app, CSC)), str(contact_id(app, GMP))]
    other_token = _other_sessions_token(app)

    # A practitioner's session for the notice forms, with a draft for Appendix 1 and an incomplete one to submit.
    signed_in = app.test_client()
    sign_in_now(signed_in, app, practitioner)
    draft_url = _new_draft(signed_in)
    draft_id = draft_url.rstrip("/").split("/")[-1]
    incomplete_url = _new_draft(signed_in)
    token = csrf_from(signed_in.get(draft_url).text)
    poster = Poster(app, signed_in, token, other_token)
    request_kw = REQUEST_KW

    # -- the Appendix 1 form: nothing is ever half-saved ----------------------------------------------
    before = _counts(app)

    def appendix1(example: tuple[dict[str, Any], tuple[str, str, bytes]]) -> None:
        data, (csrf, body, raw) = example
        stored = _draft_ct(app, draft_id)
        response, accepted = poster.post(draft_url, data, csrf, body, raw)
        _http_settings_check(response, accepted, "Appendix 1", seen)
        after = _counts(app)
        assert after == before, "a draft POST created or removed rows"
        if response.status_code == 302:
            assert response.headers["Location"] == f"{draft_url}/check"
            assert _draft_ct(app, draft_id) != stored
            check = signed_in.get(f"{draft_url}/check")
            assert check.status_code == 200, "the check-answers page failed on saved answers"
            with app.test_request_context():
                db = get_session()
                _draft, answers = notices.get_draft(db, portal_services(), db.get(User, practitioner.id), draft_id)
                assert resubmit_problems(db, _draft.partnership_id, answers) == []
        else:
            assert _draft_ct(app, draft_id) == stored, f"{response.status_code} but the draft's answers changed"
            if response.status_code == 200:
                assert page_problems(response.text, after_post=True) == []

    counts["appendix1"] = explore(
        "Appendix 1 over HTTP",
        st.tuples(appendix1_data(contact_ids, http=True), request_kw),
        appendix1,
        HTTP_EXAMPLES,
    )

    # -- check answers and submit: an incomplete draft is shown with what to correct, never half-sent ----
    def submit(example: tuple[dict[str, Any], tuple[str, str, bytes]]) -> None:
        data, (csrf, body, raw) = example
        response, accepted = poster.post(f"{incomplete_url}/check", data, csrf, body, raw)
        _http_settings_check(response, accepted, "check answers", seen)
        if response.status_code not in (400, 413):
            assert response.status_code == 200, response.status_code
            assert errors_on(response.get_data(as_text=True)), "the form came back without saying what to correct"
        assert _counts(app)["Notice"] == 0

    counts["submit"] = explore(
        "check answers over HTTP", st.tuples(extra_fields(http=True), request_kw), submit, HTTP_EXAMPLES
    )

    # -- the immediate-risk question: recorded only when answered -------------------------------------
    def risk(example: tuple[dict[str, Any], tuple[str, str, bytes]]) -> None:
        data, (csrf, body, raw) = example
        was = _counts(app)
        response, accepted = poster.post("/notices/new", data, csrf, body, raw)
        _http_settings_check(response, accepted, "immediate risk", seen)
        now = _counts(app)
        if response.status_code == 302:
            assert now["SafetyCheck"] == was["SafetyCheck"] + 1
            to_draft = "/notices/drafts/" in response.headers["Location"]
            assert now["NoticeDraft"] == was["NoticeDraft"] + (1 if to_draft else 0)
        else:
            assert now == was, "an unanswered immediate-risk question recorded something"
            if response.status_code == 200:
                assert page_problems(response.text, after_post=True) == []

    counts["risk"] = explore(
        "immediate-risk question over HTTP", st.tuples(risk_data(http=True), request_kw), risk, HTTP_EXAMPLES
    )

    # -- change password, where the route exists ------------------------------------------------------
    if "account.password" in app.view_functions:
        with session_factory(app)() as db:
            password_hash = db.get(User, practitioner.id).password_hash

        def change_password(example: tuple[dict[str, Any], tuple[str, str, bytes]]) -> None:
            data, (csrf, body, raw) = example
            response, accepted = poster.post("/account/password", data, csrf, body, raw)
            _http_settings_check(response, accepted, "change password", seen)
            assert response.status_code in (200, 400, 413), response.status_code
            if response.status_code == 200:
                assert page_problems(response.text, after_post=True) == []
            with session_factory(app)() as db:
                assert db.get(User, practitioner.id).password_hash == password_hash

        counts["password"] = explore(
            "change password over HTTP", st.tuples(password_data(http=True), request_kw), change_password, HTTP_EXAMPLES
        )

    _too_large_is_413(
        [
            (signed_in, "/notices/new", "immediate_risk"),
            (signed_in, draft_url, "summary_of_disagreement"),
            (signed_in, f"{incomplete_url}/check", "submit"),
        ]
    )
    assert _counts(app)["Notice"] == 0
    assert all(n >= HTTP_EXAMPLES for n in counts.values()), counts
    # Each run reached every kind of answer, so none of its properties held vacuously.
    log.info("answers: %s", {where: dict(c) for where, c in seen.items()})
    assert {200, 302, 400} <= seen["Appendix 1"].keys(), seen
    assert {200, 400} <= seen["check answers"].keys(), seen
    assert {200, 302, 400} <= seen["immediate risk"].keys(), seen
    if "account.password" in app.view_functions:
        assert {200, 400} <= seen["change password"].keys(), seen


def test_sign_in_forms_over_http_never_fail(app: Flask, accounts: Accounts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signin, "MAX_FAILURES", 10**9)
    practitioner = accounts.make(Role.PRACTITIONER)
    counts: dict[str, int] = {}
    seen: dict[str, Counter[int]] = defaultdict(Counter)
    other_token = _other_sessions_token(app)
    request_kw = REQUEST_KW

    # -- sign in: the password step, then the code step -----------------------------------------------
    anonymous = app.test_client()
    sign_in_poster = Poster(app, anonymous, csrf_from(anonymous.get("/sign-in").text), other_token)

    def password_step(example: tuple[dict[str, Any], tuple[str, str, bytes]]) -> None:
        data, (csrf, body, raw) = example
        response, accepted = sign_in_poster.post("/sign-in", data, csrf, body, raw)
        _http_settings_check(response, accepted, "sign in", seen)
        assert response.status_code in (200, 400, 413), response.status_code
        if response.status_code == 200:
            assert page_problems(response.text, after_post=True) == []
            assert "PwMarker" not in response.text, "the password was sent back in the page"

    def mark_password(data: dict[str, Any]) -> dict[str, Any]:
        value = data["password"]
        if value is not None:
            value = ["PwMarker" + v for v in value] if isinstance(value, list) else "PwMarker" + value
        return {**data, "password": value}

    sign_in_strategy = sign_in_data(http=True, known_email=practitioner.email).map(mark_password)
    counts["sign-in"] = explore(
        "sign-in over HTTP", st.tuples(sign_in_strategy, request_kw), password_step, HTTP_EXAMPLES
    )

    pending = app.test_client()
    page = pending.get("/sign-in")
    response = pending.post(
        "/sign-in",
        data={"email": practitioner.email, "password": practitioner.password, "csrf_token": csrf_from(page.text)},
    )
    assert response.headers["Location"].endswith("/sign-in/code")
    code_poster = Poster(app, pending, csrf_from(pending.get("/sign-in/code").text), other_token)

    def code_step(example: tuple[dict[str, Any], tuple[str, str, bytes]]) -> None:
        data, (csrf, body, raw) = example
        response, accepted = code_poster.post("/sign-in/code", data, csrf, body, raw)
        _http_settings_check(response, accepted, "security code", seen)
        assert response.status_code in (200, 400, 413), response.status_code
        if response.status_code == 200:
            assert page_problems(response.text, after_post=True) == []

    counts["code"] = explore(
        "security code over HTTP", st.tuples(code_data(http=True), request_kw), code_step, HTTP_EXAMPLES
    )

    _too_large_is_413([(anonymous, "/sign-in", "email"), (pending, "/sign-in/code", "code")])
    assert all(n >= HTTP_EXAMPLES for n in counts.values()), counts
    log.info("answers: %s", {where: dict(c) for where, c in seen.items()})
    assert {200, 400} <= seen["sign in"].keys() and {200, 400} <= seen["security code"].keys(), seen


# -- bugs the runs above found (fixed ones stay as regression tests) ---------------------------------


def test_a_nul_byte_in_the_email_address_is_a_clear_message(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"email": "a\x00b@rochdale.test", "password": "x" * 12, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 200
    assert errors_on(response.text)


def test_a_code_typed_in_other_scripts_digits_is_a_clear_message(app: Flask, accounts: Accounts) -> None:
    account = accounts.make(Role.PRACTITIONER)
    client = app.test_client()
    page = client.get("/sign-in")
    client.post(
        "/sign-in", data={"email": account.email, "password": account.password, "csrf_token": csrf_from(page.text)}
    )
    page = client.get("/sign-in/code")
    response = client.post(
        "/sign-in/code", data={"code": "\u0661\u0662\u0663\u0664\u0665\u0666", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 200
    assert errors_on(response.text)


def test_a_date_before_the_year_1000_survives_the_check_answers_page(app: Flask, accounts: Accounts) -> None:
    client = app.test_client()
    sign_in_now(client, app, accounts.make(Role.PRACTITIONER))
    draft_url = _new_draft(client)
    page = client.get(draft_url)
    answers = appendix1_answers(contact_id(app, CSC), child_dob=["1", "1", "0999"])
    response = client.post(draft_url, data={**answers, "csrf_token": csrf_from(page.text)})
    if response.status_code == 200:
        assert errors_on(response.text)  # refused with a message: fine
        return
    check = client.get(f"{draft_url}/check")
    response = client.post(f"{draft_url}/check", data={"csrf_token": csrf_from(check.text)})
    assert "/confirmation" in response.headers["Location"], "submit bounced back to the form"


def test_a_blank_answer_to_a_required_question_is_a_clear_message(app: Flask, accounts: Accounts) -> None:
    client = app.test_client()
    sign_in_now(client, app, accounts.make(Role.PRACTITIONER))
    draft_url = _new_draft(client)
    page = client.get(draft_url)
    answers = appendix1_answers(contact_id(app, CSC), child_name="   ", sent_to_1="\u00a0")
    response = client.post(draft_url, data={**answers, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 200, "blank answers were saved"
    assert "Enter the child or young person's name" in errors_on(response.text)
