"""The Rochdale Appendix 1 journey over HTTP: gate, form, check answers, submit, route, read, download."""

from __future__ import annotations

import io
import re

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.domain.models import (
    AuditEvent,
    Notice,
    NoticeEvent,
    NoticeRecipient,
    OutboxMessage,
    Role,
    SafetyCheck,
    User,
)
from portal.infrastructure.mail import deliver_due
from portal.infrastructure.pdf.signing import verify_signed_pdf
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NAME,
    appendix1_answers,
    contact_id,
    csrf_from,
    errors_on,
    raise_notice,
    sign_in,
    smtp_transport,
)

CSC = "Rochdale Children's Social Care"
GMP = "Greater Manchester Police"


def _count(app: Flask, model: type) -> int:
    with session_factory(app)() as db:
        return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_immediate_risk_yes_shows_referral_advice_and_records_it(app: Flask, client: FlaskClient, accounts) -> None:
    practitioner = accounts.make(Role.PRACTITIONER)
    sign_in(client, app, practitioner)
    page = client.get("/notices/new")
    assert "Is the child at immediate risk of significant harm?" in page.text
    response = client.post(
        "/notices/new", data={"immediate_risk": "yes", "csrf_token": csrf_from(page.text)}, follow_redirects=True
    )
    assert "Make a child protection referral now" in response.text
    assert "999" in response.text
    assert "01706 925 879" in response.text  # Rochdale's front door (EHASH) from the seed
    assert "Do not use this portal to make the referral" in response.text
    with session_factory(app)() as db:
        check = db.execute(select(SafetyCheck)).scalar_one()
        assert check.immediate_risk is True and check.referral_advice_shown_at is not None
    assert _count(app, Notice) == 0


def test_immediate_risk_question_must_be_answered(app: Flask, client: FlaskClient, accounts) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    page = client.get("/notices/new")
    response = client.post("/notices/new", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 200
    assert errors_on(response.text) == ["Select yes if the child is at immediate risk of significant harm"]
    assert BeautifulSoup(response.text, "html.parser").title.text.startswith("Error: ")


def test_form_prefills_the_practitioner_and_lists_the_directory(app: Flask, client: FlaskClient, accounts) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER, name="Pat Example"))
    page = client.get("/notices/new")
    response = client.post(
        "/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}, follow_redirects=True
    )
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.select_one("#completed_by_name")["value"] == "Pat Example"
    options = [o.get_text() for o in soup.select("#sent_to_1 option")]
    assert "Greater Manchester Police: Rochdale public protection" in " ".join(options) or any(
        GMP in o for o in options
    )
    assert any("Head of Service – First Response Team" in o for o in options)
    labels = [e.get_text(" ", strip=True) for e in soup.select("label, legend")]
    expected = [
        "Date of Notification",
        "Name of Child/Young Person",
        "D.O.B",
        "NHS Number",
        "P Number",
        "Name",
        "Role",
        "Agency/Team",
        "Contact Details",
        "1.",
        "2.",
        "Summary of disagreement",
    ]
    # Each label must appear after the one before it, in the seed's order.
    position = -1
    for label in expected:
        position = next((i for i in range(position + 1, len(labels)) if labels[i].startswith(label)), None)
        assert position is not None, f"{label!r} missing or out of the seed's order in {labels}"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"child_name": ""}, "Enter the child or young person's name"),
        ({"child_dob": ["", "", ""]}, "Enter the date of birth"),
        ({"child_dob": ["29", "2", "2015"]}, "Date of birth must be a real date, like 27 3 2016"),
        ({"child_dob": ["1", "", "2016"]}, "Date of birth must include a month"),
        ({"child_dob": ["1", "1", "2099"]}, "Date of birth must be today or in the past"),
        ({"nhs_number": "943 476 5918"}, "Enter a valid NHS number: check the 10 digits against the child's record"),
        ({"nhs_number": "94347659"}, "NHS number must be 10 digits, like 943 476 5919"),
        (
            {"p_number": "P12<script>"},
            "P Number must be 30 characters or fewer and use only letters, numbers, spaces, hyphens and slashes",
        ),
        ({"sent_to_1": ""}, "Choose who the notification is sent to"),
        ({"sent_to_1": "999999"}, "Choose a contact from the list"),
        ({"summary_of_disagreement": "x" * 10_001}, "Summary of disagreement must be 10,000 characters or fewer"),
        ({"desired_outcome": "ok\x07bell"}, "must not contain control characters"),
    ],
)
def test_bad_answers_get_a_message_beside_the_field_and_nothing_is_sent(
    app: Flask, client: FlaskClient, accounts, overrides: dict, message: str
) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    page = client.get("/notices/new")
    draft_url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(draft_url)
    answers = appendix1_answers(contact_id(app, CSC), **overrides)
    response = client.post(draft_url, data={**answers, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 200
    summary = errors_on(response.text)
    assert any(message in e for e in summary), summary
    soup = BeautifulSoup(response.text, "html.parser")
    inline = [e.get_text(" ", strip=True) for e in soup.select(".govuk-error-message")]
    assert any(message in e for e in inline), inline
    # Each summary link points at an input that exists on the page.
    for link in soup.select(".govuk-error-summary__list a"):
        assert soup.select_one(link["href"]) is not None, link["href"]
    assert _count(app, Notice) == 0
    assert _count(app, OutboxMessage) == 0


def test_submit_routes_to_the_chosen_spocs_and_queues_link_only_mail(
    app: Flask, client: FlaskClient, accounts, smtp
) -> None:
    practitioner = accounts.make(Role.PRACTITIONER, agency="Rochdale Early Help and Safeguarding Hub")
    sign_in(client, app, practitioner)
    csc, gmp = contact_id(app, CSC), contact_id(app, GMP)

    page = client.get("/notices/new")
    draft_url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(draft_url)
    check_url = client.post(
        draft_url, data={**appendix1_answers(csc, gmp), "csrf_token": csrf_from(page.text)}
    ).headers["Location"]
    check = client.get(check_url)
    assert "Check your answers before sending the notice" in check.text
    assert CANARY_NAME in check.text
    # The directory's note that matters to the sender is shown before sending.
    assert (
        "All escalations to GMP must include a telephone call to ensure the correct officer is being contacted"
        in check.text
    )
    response = client.post(check_url, data={"csrf_token": csrf_from(check.text)}, follow_redirects=True)
    assert "Notice sent" in response.text
    assert "ROC-2026-0001" in response.text or "ROC-" in response.text
    assert "must include a telephone call" in response.text

    with session_factory(app)() as db:
        notice = db.execute(select(Notice)).scalar_one()
        assert notice.reference.startswith("ROC-") and notice.reference.endswith("-0001")
        recipients = db.execute(select(NoticeRecipient).order_by(NoticeRecipient.position)).scalars().all()
        assert [r.contact_id for r in recipients] == [csc, gmp]
        mails = db.execute(select(OutboxMessage)).scalars().all()
        # Each recipient, and the raiser told that the notice went.
        raiser = db.get(User, notice.raised_by_id).email
        assert sorted(m.to_address for m in mails) == sorted([*(r.email for r in recipients), raiser])
        events = db.execute(select(NoticeEvent)).scalars().all()
        # Raised, stage 3 entered, and GMP's telephone-call prompt shown.
        assert [e.kind for e in events] == ["raised", "stage-entered", "prompt"]
        assert (
            db.execute(select(AuditEvent).where(AuditEvent.action == "notice.submit")).scalar_one().object_id
            == notice.id
        )

    report = deliver_due(
        session_factory(app),
        smtp_transport(smtp.port),
        worker_id="t",
    )
    assert report.sent == 3
    received = smtp.wait_for(3)
    for message in received:
        body = message.get_content()
        assert notice.reference in message["Subject"] and notice.reference in body
        if message["To"] == practitioner.email:
            # The raiser has an account: the notice's own link.
            assert f"http://portal.test/notices/{notice.id}\n" in body, body
        else:
            # The contacts have no account yet, so each gets an invitation link (tests/web/test_invitations.py).
            assert re.search(r"http://portal\.test/invitation/[A-Za-z0-9_-]{43}\n", body), body
        assert CANARY_NAME not in body + message["Subject"]
        assert "2016" not in body and "999" not in body


def test_spoc_reads_and_downloads_a_signed_pdf_others_get_404(app: Flask, client: FlaskClient, accounts) -> None:
    practitioner = accounts.make(Role.PRACTITIONER)
    sign_in(client, app, practitioner)
    notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))

    spoc = accounts.make(Role.SPOC, agency=CSC)
    other_spoc = accounts.make(Role.SPOC, agency=GMP)
    other_practitioner = accounts.make(Role.PRACTITIONER)
    bolton_manager = accounts.make(Role.BUSINESS_MANAGER, partnership="bolton")
    manager = accounts.make(Role.BUSINESS_MANAGER)
    admin = accounts.make(Role.ADMIN)

    for account in (spoc, manager):
        c = app.test_client()
        sign_in(c, app, account)
        page = c.get(f"/notices/{notice_id}")
        assert page.status_code == 200 and CANARY_NAME in page.text and reference in page.text
        pdf = c.get(f"/notices/{notice_id}/pdf")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert pdf.headers["Content-Disposition"] == f'attachment; filename="{reference}-v1.pdf"'
        assert pdf.headers["Cache-Control"] == "no-store"
        assert verify_signed_pdf(pdf.data, _cert(app))
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
        assert CANARY_NAME in text and "OFFICIAL-SENSITIVE" in text

    for account in (other_spoc, other_practitioner, bolton_manager, admin):
        c = app.test_client()
        sign_in(c, app, account)
        page = c.get(f"/notices/{notice_id}")
        assert page.status_code == 404 and CANARY_NAME not in page.text and reference not in page.text
        assert c.get(f"/notices/{notice_id}/pdf").status_code == 404

    with session_factory(app)() as db:
        reads = db.execute(
            select(AuditEvent.outcome, func.count())
            .where(AuditEvent.action.in_(["notice.read", "notice.download"]))
            .group_by(AuditEvent.outcome)
        ).all()
    counts = dict(reads)
    assert counts["allowed"] >= 5  # confirmation + 2 reads + 2 downloads
    assert counts["denied"] == 6  # 3 users who may hold notices x (page + PDF)
    with session_factory(app)() as db:
        route_denials = db.execute(select(AuditEvent).where(AuditEvent.action == "route.denied")).scalars().all()
    assert {e.actor_id for e in route_denials} == {admin.id}  # the admin has no casework rights at all


def test_business_manager_list_shows_no_child_identifiers(app: Flask, client: FlaskClient, accounts) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    _notice_id, reference = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    manager = app.test_client()
    sign_in(manager, app, accounts.make(Role.BUSINESS_MANAGER))
    page = manager.get("/business/notices", follow_redirects=True)
    text = BeautifulSoup(page.text, "html.parser").get_text(" ")
    assert reference in text and CSC in text
    assert CANARY_NAME not in page.text and "999 000 0018" not in page.text and "2016" not in page.text


def test_anonymous_link_from_the_email_asks_to_sign_in_then_returns(app: Flask, client: FlaskClient, accounts) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    notice_id, _ = raise_notice(client, appendix1_answers(contact_id(app, CSC)))
    spoc = accounts.make(Role.SPOC, agency=CSC)
    visitor = app.test_client()
    response = visitor.get(f"/notices/{notice_id}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    # After the second factor the SPOC lands on the notice they followed.
    assert sign_in(visitor, app, spoc).endswith(f"/notices/{notice_id}")


def _cert(app: Flask) -> bytes:
    from pathlib import Path

    return (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()


def test_answers_that_stopped_passing_are_shown_to_correct_not_bounced(
    app: Flask, client: FlaskClient, accounts
) -> None:
    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    gmp = contact_id(app, GMP)
    page = client.get("/notices/new")
    draft_url = client.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = client.get(draft_url)
    check_url = client.post(draft_url, data={**appendix1_answers(gmp), "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    check = client.get(check_url)
    # The chosen contact leaves the directory between checking and sending.
    from portal.domain.models import DirectoryContact

    with session_factory(app)() as db:
        db.get(DirectoryContact, gmp).active = False
        db.commit()
    response = client.post(check_url, data={"csrf_token": csrf_from(check.text)})
    assert response.status_code == 200
    assert "Choose a contact from the list" in errors_on(response.text)
    assert _count(app, Notice) == 0 and _count(app, OutboxMessage) == 0
