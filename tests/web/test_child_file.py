"""The child's file: at closure each involved agency gets a one-page signed summary and a JSON record of the same
facts (portal/domain/child_record.schema.json), downloadable from the closed notice by whoever may read it, audited.

``jsonschema`` is not installed in the project's environment, so the record is checked against the schema by the
small validator below, which implements exactly the keywords the schema uses (and fails on any other, so the
schema cannot grow a keyword this test silently ignores).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pypdf
from bs4 import BeautifulSoup
from flask import Flask
from sqlalchemy import select

from portal.domain.models import AuditEvent, Role
from portal.infrastructure.pdf.signing import verify_signed_pdf
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    CANARY_NHS,
    appendix1_answers,
    contact_id,
    csrf_from,
    raise_notice,
)
from tests.lifecycle.driver import Life, addresses, assert_no_case_details

RAISING = "Rochdale Early Help and Safeguarding Hub"
TARGET = "Rochdale Children's Social Care"
SCHEMA = Path(__file__).resolve().parents[2] / "portal" / "domain" / "child_record.schema.json"
_KNOWN = {
    "$schema", "$id", "title", "description", "type", "additionalProperties", "required", "properties", "const",
    "pattern", "items", "minItems", "format", "enum", "minimum",
}  # fmt: skip
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "null": type(None),
}


def schema_problems(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """What in ``value`` breaks ``schema`` (the keywords the child-record schema uses)."""
    assert set(schema) <= _KNOWN, f"{where}: the schema uses {set(schema) - _KNOWN}; teach this validator"
    problems: list[str] = []
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else types
        if not any(isinstance(value, _TYPES[t]) and not isinstance(value, bool) for t in allowed):
            return [f"{where}: {value!r} is not {allowed}"]
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, int) and "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{where}: {value} is below {schema['minimum']}")
    if isinstance(value, dict):
        problems += [f"{where}: {name} is missing" for name in schema.get("required", ()) if name not in value]
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            problems += [f"{where}: {name} is not in the schema" for name in value if name not in properties]
        for name, item in value.items():
            if name in properties:
                problems += schema_problems(item, properties[name], f"{where}.{name}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: fewer than {schema['minItems']} items")
        for number, item in enumerate(value):
            problems += schema_problems(item, schema.get("items", {}), f"{where}[{number}]")
    return problems


def test_the_validator_catches_what_the_schema_forbids() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema_problems({}, schema)  # everything required is missing
    assert schema_problems({"reference": 7}, schema["properties"]["reference"])
    assert schema_problems("2026-13", schema["properties"]["raised_on"])
    assert schema_problems({"code": "x", "name": "y", "extra": 1}, schema["properties"]["highest_stage"])
    assert schema_problems("won", schema["properties"]["outcome"]["properties"]["code"])


def test_closure_gives_each_agency_a_signed_one_page_summary_and_a_json_record(app: Flask, accounts) -> None:
    life = Life(app)
    raiser = life.party(accounts, "raiser", Role.PRACTITIONER, partnership="rochdale", agency=RAISING)
    spoc = life.party(accounts, "spoc", Role.SPOC, partnership="rochdale", agency=TARGET)
    life.party(accounts, "bm", Role.BUSINESS_MANAGER, partnership="rochdale")
    life.party(accounts, "outsider", Role.SPOC, partnership="rochdale", agency="Greater Manchester Police")
    life.notice_id, life.reference = raise_notice(raiser.client, appendix1_answers(contact_id(app, TARGET)))
    url = f"/notices/{life.notice_id}/child-file"

    # Nothing to download while the notice is open, and no link to it.
    assert raiser.client.get(f"{url}.pdf").status_code == 404
    assert "For the child's file" not in life.page("raiser")

    life.act("spoc", "acknowledge")
    life.respond("spoc", "We agree a strategy discussion is needed", "Strategy discussion on Monday at 10:00")
    life.new_mail()
    life.close("spoc", agreed_outcome="Strategy discussion held; child protection plan agreed")
    closing = life.new_mail()
    # The closure mail (one per address, as before) tells each agency the summary is ready, with no case details.
    assert raiser.account.email in addresses(closing) and len(closing) == len(addresses(closing))
    for _to, _subject, body in closing:
        assert "summary for the child's file" in body
    assert_no_case_details(closing, CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE, "P778899", "Monday at 10:00")

    cert = (Path(app.config["KEY_DIR"]) / "signing-cert.pem").read_bytes()
    for who in ("raiser", "spoc", "bm"):
        page = BeautifulSoup(life.page(who), "html.parser")
        section = page.select_one("#child-file").find_next("ul")
        assert [a["href"] for a in section.select("a")] == [f"{url}.pdf", f"{url}.json"]
        response = life.client(who).get(f"{url}.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{life.reference}-child-file.pdf"'
    pdf = response.data
    assert verify_signed_pdf(pdf, cert)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    for shown in (
        "OFFICIAL-SENSITIVE",
        "Summary for the child's file",
        life.reference,
        CANARY_NAME,
        "29 February 2016",
        CANARY_NHS,
        "P778899",
        RAISING,
        TARGET,
        "Strategy discussion held; child protection plan agreed",
        "Strategy discussion on Monday at 10:00",
        "Strategy meeting or child protection conference convened (meeting-convened)",
        "Spoc Person",
    ):
        assert shown in text, shown
    metadata = " ".join(str(v) for v in (reader.metadata or {}).values())
    assert life.reference in metadata
    for secret in (CANARY_NAME, *CANARY_NAME.split(), CANARY_NHS, CANARY_NHS.replace(" ", ""), "P778899"):
        assert secret not in metadata

    # The JSON: the same facts, in the documented shape.
    got = spoc.client.get(f"{url}.json")
    assert got.status_code == 200 and got.mimetype == "application/json"
    assert got.headers["Content-Disposition"] == f'attachment; filename="{life.reference}-child-file.json"'
    found = json.loads(got.data)
    assert schema_problems(found, json.loads(SCHEMA.read_text())) == []
    closing_version = max(int(v) for v in re.findall(r"version=(\d+)", life.page("raiser")))
    assert found["reference"] == life.reference and found["verify"]["version"] == closing_version
    assert found["summary_pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert {c["field"]: c["value"] for c in found["child"]} == {
        "child_name": CANARY_NAME,
        "child_dob": "2016-02-29",
        "nhs_number": CANARY_NHS,  # as the form recorded it
        "p_number": "P778899",
    }
    assert found["agencies"] == {"raising": RAISING, "receiving": [TARGET]}
    assert [(s["code"], s["ended_by"]) for s in found["stages"]] == [("stage-3", "resolved")]
    assert found["stages"][0]["answered_on"] is not None
    assert found["stages"][0]["agreed_actions"] == "Strategy discussion on Monday at 10:00"
    assert found["highest_stage"] == {"code": "stage-3", "name": "Stage 3"}
    assert found["outcome"]["code"] == "meeting-convened"
    assert found["closed"]["by"]["name"] == "Spoc Person" and found["closed"]["by"]["agency"] == TARGET

    # Only those who may read the notice; each download audited.
    assert life.client("outsider").get(f"{url}.pdf").status_code == 404
    assert life.client("outsider").get(f"{url}.json").status_code == 404
    with session_factory(app)() as db:
        audited = db.execute(
            select(AuditEvent.action, AuditEvent.outcome).where(AuditEvent.action.like("notice.child_file.%"))
        ).all()
        denied = db.execute(
            select(AuditEvent.action).where(AuditEvent.action == "notice.download", AuditEvent.outcome == "denied")
        ).all()
    assert sorted(audited) == [("notice.child_file.json", "allowed")] + [("notice.child_file.pdf", "allowed")] * 3
    # The outsider's two refusals; the raiser's early try at the open notice was a 404 for a reader, not a denial.
    assert len(denied) == 2

    # Anyone holding it can check it on /verify: it is the closing version's summary for the child's file.
    anyone = app.test_client()
    form = anyone.get("/verify")
    answer = anyone.post(
        "/verify",
        data={"file": (io.BytesIO(pdf), "summary.pdf"), "csrf_token": csrf_from(form.text)},
        content_type="multipart/form-data",
    )
    panel = BeautifulSoup(answer.text, "html.parser").select_one(".govuk-panel").get_text(" ", strip=True)
    assert life.reference in panel and f"version {closing_version}" in panel and "child's file" in panel
