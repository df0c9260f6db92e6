"""The SPOC directories: the committed CSVs extracted from the published procedures, the loader that checks
them, the extraction script's parsers, and the import into a migrated database."""

from __future__ import annotations

import csv
import dataclasses
import importlib
import importlib.util
import re
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import portal.partnerships
from portal.domain.models import Agency, DirectoryContact, Partnership
from portal.domain.partnership import AgencySpec, ContactSpec
from portal.domain.procedure import AudienceKind
from portal.infrastructure import migrate
from portal.infrastructure.db import make_engine
from portal.partnerships import PARTNERSHIPS, current_procedure
from portal.partnerships.directory_data import COLUMNS, DirectoryDataError, read_directory, role_title
from portal.services.directory import ImportReport, active_contacts, agencies_for, import_partnerships

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
# The review dates the committed CSVs carry: the day of extraction for entries needing review, a year on otherwise.
EXTRACTED = date(2026, 12, 3)
NEXT_YEAR = date(2027, 12, 3)
GMP_NOTE = "All escalations to GMP must include a telephone call to ensure the correct officer is being contacted"
PROPOSAL = "proposal: no published SPOC list"
HALTON_TIERS = (
    "Manager/Named Professional Safeguarding",
    "Next Level Management",
    "HSCB Representative for Agency",
)


def directory(slug: str) -> dict[str, AgencySpec]:
    return {agency.name: agency for agency in read_directory(PARTNERSHIPS[slug].directory)}


def csv_rows(slug: str) -> list[dict[str, str]]:
    with PARTNERSHIPS[slug].directory.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rows_of(slug: str, agency: str) -> list[dict[str, str]]:
    return [row for row in csv_rows(slug) if row["agency"] == agency]


# -- the registry and the files ----------------------------------------------------------------------------


def test_registry_is_in_its_explicit_order_with_distinct_codes() -> None:
    assert list(PARTNERSHIPS) == ["rochdale", "pan-cheshire", "trafford", "bolton", "halton"]
    assert len({spec.code for spec in PARTNERSHIPS.values()}) == 5
    assert [slug for slug, spec in PARTNERSHIPS.items() if spec.is_legacy] == ["halton"]
    assert PARTNERSHIPS["bolton"].procedure_version == "bolton-2022-09"
    assert PARTNERSHIPS["halton"].procedure_version == "halton-2013-09"


def test_each_directory_is_a_csv_in_its_partnerships_package() -> None:
    package = Path(portal.partnerships.__file__).resolve().parent
    modules = ["rochdale", "pan_cheshire", "trafford", "bolton", "halton"]
    assert [spec.directory for spec in PARTNERSHIPS.values()] == [package / m / "directory.csv" for m in modules]
    for spec in PARTNERSHIPS.values():
        assert spec.directory.is_file()
        assert spec.directory.parent == Path(importlib.import_module(spec.package).__file__).parent
        with spec.directory.open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == list(COLUMNS)
    assert '"partnerships/*/directory.csv"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_directory_owner_and_front_door_are_the_published_ones() -> None:
    # Trafford's and Bolton's owners are the business unit mailboxes their directories list.
    assert PARTNERSHIPS["trafford"].directory_owner == "tssp@trafford.gov.uk"
    assert [c.email for c in directory("trafford")["Safeguarding Partnership business unit"].contacts] == [
        "tssp@trafford.gov.uk"
    ]
    bscp = directory("bolton")["Bolton Safeguarding Children Partnership"]
    assert [c.email for c in bscp.contacts] == [PARTNERSHIPS["bolton"].directory_owner]
    # Seed 000: "Please contact RBSB.admin@rochdale.gov.uk for any updates that are required to the SPOC list."
    assert PARTNERSHIPS["rochdale"].directory_owner == "RBSB.admin@rochdale.gov.uk"
    assert all(spec.front_door for spec in PARTNERSHIPS.values())


def test_rochdale_front_door_is_the_ehash_number() -> None:
    assert "01706 925 879" in PARTNERSHIPS["rochdale"].front_door
    (ehash,) = directory("rochdale")["Rochdale Early Help and Safeguarding Hub"].contacts
    assert (ehash.email, ehash.telephone) == ("ehash@rochdale.gov.uk", "01706 925 879")


def test_every_stage_code_in_the_data_is_a_stage_of_the_partnerships_procedure() -> None:
    for slug in PARTNERSHIPS:
        codes = {stage.code for stage in current_procedure(slug).stages}
        for agency in directory(slug).values():
            for contact in agency.contacts:
                assert set(contact.stages) <= codes, (slug, agency.name, contact.stages)


def test_every_row_names_its_source() -> None:
    for slug in PARTNERSHIPS:
        assert all(row["source"] for row in csv_rows(slug)), slug
    assert {row["source"] for row in csv_rows("pan-cheshire")} == {PROPOSAL}
    assert "Appendix A" in rows_of("halton", "YOS")[0]["source"]
    assert "Appendix 1" in rows_of("bolton", "Voluntary Sector")[0]["source"]
    assert "Single Point of Contact (SPOC) List" in rows_of("rochdale", "Adult Care")[0]["source"]


def test_review_dates_are_the_extraction_day_for_entries_needing_review_and_a_year_later_otherwise() -> None:
    for slug in PARTNERSHIPS:
        for agency in directory(slug).values():
            assert agency.review_by == (EXTRACTED if agency.needs_review else NEXT_YEAR), (slug, agency.name)


# -- Rochdale --------------------------------------------------------------------------------------------


def test_rochdale_lists_twelve_services_in_the_published_order() -> None:
    agencies = list(directory("rochdale"))
    assert len(agencies) == 12
    assert agencies[0] == "Rochdale Children's Social Care"
    assert agencies[5] == "Greater Manchester Police"
    assert agencies[-1] == "National Probation Service"


def test_rochdale_childrens_social_care_has_four_heads_of_service() -> None:
    csc = directory("rochdale")["Rochdale Children's Social Care"]
    assert [(c.role_title, c.email) for c in csc.contacts] == [
        ("Head of Service – First Response Team", "Tracy.Chatterton@Rochdale.Gov.UK"),
        ("Head of Service – Child Protection and Court", "Chris.James@Rochdale.Gov.UK"),
        ("Head of Service – Cared 4 Children / Youth Justice Service", "rachel.meyrick@rochdale.gov.uk"),
        ("Head of Service – Head of Provider Services", "Ian.Godfrey@Rochdale.Gov.UK"),
    ]
    assert csc.sender_note == "Escalations should be directed to the relevant team in Children's Social Care"


def test_rochdale_sender_notes_and_telephones() -> None:
    agencies = directory("rochdale")
    gmp = agencies["Greater Manchester Police"]
    assert gmp.sender_note == GMP_NOTE
    assert [c.email for c in gmp.contacts] == ["Rochdale.publicprotection@gmp.pnn.police.uk"]
    assert gmp.contacts[0].role_title == "Single point of contact (SPOC)"
    pennine = agencies["Pennine Care Foundation Trust"]
    assert pennine.sender_note == (
        "Escalations should be directed to the Named Nurse for Safeguarding Children and Looked After Children"
    )
    assert pennine.contacts[0].telephone == "0161 716 3785"
    unit = agencies["Rochdale Safeguarding Children Unit"]
    assert unit.contacts[0].email == "Safeguarding.Children@Rochdale.Gov.UK"
    assert unit.contacts[0].telephone == "01706 925 897"
    assert unit.sender_note == ""
    assert agencies["Early Break"].contacts[0].telephone == "0161 723 3880"
    assert agencies["Rochdale Boroughwide Housing"].contacts[0].telephone is None


def test_rochdale_education_keeps_the_stage_text_without_tags() -> None:
    education = directory("rochdale")["Education Establishments"]
    assert education.sender_note.split("\n") == [
        "Stage 1 Escalations: School Designated Safeguarding Lead",
        "Stage 2 Escalations: School Head Teacher (if different to DSL)",
        "Contact to be made with the school to clarify Designated Safeguarding Lead Arrangements",
    ]
    assert "<" not in education.sender_note
    assert [(c.role_title, c.email, c.stages) for c in education.contacts] == [
        ("Any other escalations", "Claire.heap@rochdale.gov.uk", ("stage-3", "stage-4"))
    ]
    (row,) = rows_of("rochdale", "Education Establishments")
    assert (row["tier"], row["role"], row["name"]) == ("Any other escalations", "", "")


def test_rochdale_flags_bodies_that_no_longer_exist() -> None:
    review = {name for name, agency in directory("rochdale").items() if agency.needs_review}
    assert review == {
        "Heywood, Middleton and Rochdale Clinical Commissioning Group",
        "National Probation Service",
    }


# -- Bolton ----------------------------------------------------------------------------------------------


def test_bolton_lists_fourteen_services_across_both_table_parts() -> None:
    agencies = directory("bolton")
    assert len(agencies) == 14
    assert "Service" not in agencies
    assert list(agencies)[0] == "Bolton Safeguarding Children Partnership"
    assert list(agencies)[-1] == "Voluntary Sector"
    assert not any(agency.needs_review for agency in agencies.values())


def test_bolton_roles_telephones_and_emails() -> None:
    agencies = directory("bolton")
    (gmp,) = agencies["Greater Manchester Police"].contacts
    assert (gmp.role_title, gmp.email, gmp.telephone) == (
        "Vulnerability Lead",
        "Vikki.Gibson@gmp.police.uk",
        None,
    )
    (housing,) = agencies["Housing Partners"].contacts
    assert housing.telephone is None
    (trust,) = agencies["Bolton NHS Foundation Trust"].contacts
    assert (trust.role_title, trust.telephone) == ("Safeguarding Team", "01204 390267")
    (voluntary,) = agencies["Voluntary Sector"].contacts
    assert voluntary.telephone == "07547409726"


def test_bolton_nhs_greater_manchester_has_a_website_not_a_mailbox() -> None:
    nhs_gm = directory("bolton")["NHS Greater Manchester"]
    (contact,) = nhs_gm.contacts
    assert contact.email is None
    assert contact.telephone == "01204 463390"
    assert "www.gmintegratedcare.org.uk" in nhs_gm.sender_note
    assert "not a mailbox" in nhs_gm.sender_note


# -- Halton ----------------------------------------------------------------------------------------------


def test_halton_lists_nine_agencies_all_needing_review() -> None:
    agencies = directory("halton")
    assert len(agencies) == 9
    assert list(agencies)[0] == "Bridgewater Community NHS Trust"
    assert list(agencies)[-1] == "YOS"
    assert all(agency.needs_review for agency in agencies.values())
    assert {"CRI", "5 Boroughs Partnership"} <= set(agencies)


def test_halton_contacts_are_named_by_tier() -> None:
    agencies = directory("halton")
    for agency in agencies.values():
        assert agency.contacts
        assert all(contact.role_title.startswith(tuple(f"{t}: " for t in HALTON_TIERS)) for contact in agency.contacts)
    first = agencies["Bridgewater Community NHS Trust"].contacts[0]
    assert first.role_title == (
        "Manager/Named Professional Safeguarding: Marie Fairbrother – Named Nurse Safeguarding Children"
    )
    assert (first.email, first.telephone) == ("marie.fairbrother@bridgewater.nhs.uk", "0151 511 5844")
    assert len(agencies["Bridgewater Community NHS Trust"].contacts) == 5
    row = rows_of("halton", "Bridgewater Community NHS Trust")[0]
    assert (row["tier"], row["name"]) == ("Manager/Named Professional Safeguarding", "Marie Fairbrother")


def test_halton_tiers_serve_the_procedure_stage_that_notifies_them() -> None:
    procedure = current_procedure("halton")
    stage_of_tier = {
        notify.audience.tier: stage.code
        for stage in procedure.stages
        for notify in stage.notify
        if notify.audience.kind is AudienceKind.TIER
    }
    assert set(stage_of_tier) == set(HALTON_TIERS)
    for row in csv_rows("halton"):
        assert row["stages"] == stage_of_tier[row["tier"]], row


def test_halton_skips_the_empty_cri_tier() -> None:
    cri = directory("halton")["CRI"]
    assert [c.role_title.split(":")[0] for c in cri.contacts] == [
        "Manager/Named Professional Safeguarding",
        "Next Level Management",
    ]
    assert cri.contacts[1].email == "john.williams@halton.gov.uk"


def test_halton_warrington_keeps_every_name_and_address() -> None:
    warrington = directory("halton")["Warrington Hospital"]
    emails = [c.email for c in warrington.contacts]
    assert emails == [
        "shanazkhan1@nhs.net",
        "nicolarichardson@nhs.uk",
        "nicola.richardson@whh.nhs.uk",
        "Karen.Dawber@whh.nhs.uk",
    ]
    next_level = warrington.contacts[1].role_title
    assert "Jane Scott" in next_level and "Kelly Burns" in next_level and "Nicki Richardson" in next_level
    assert "Melanie Hudson or Karen Dawber" in warrington.contacts[3].role_title
    assert warrington.contacts[3].telephone is None
    assert [row["name"] for row in rows_of("halton", "Warrington Hospital")] == [
        "Shanaz Loftus",
        "Nicki Richardson",
        "Nicki Richardson",
        "Melanie Hudson or Karen Dawber",
    ]


# -- Pan Cheshire and Trafford: no published list ----------------------------------------------------------


def test_pan_cheshire_proposes_generic_agencies_without_contacts() -> None:
    agencies = directory("pan-cheshire")
    assert list(agencies) == [
        "Local authority children's social care",
        "Health",
        "Police",
        "Education",
        "Safeguarding Partnership business unit",
    ]
    assert all(agency.needs_review and not agency.contacts for agency in agencies.values())
    assert agencies["Education"].sender_note == (
        "At Step 3, schools escalate through the Chair of Governors alongside the Head Teacher."
    )
    # One row per agency, its contact columns empty.
    assert all(
        not any(row[c] for c in ("tier", "role", "name", "email", "telephone", "stages"))
        for row in csv_rows("pan-cheshire")
    )


def test_trafford_business_unit_has_the_business_manager_mailbox() -> None:
    agencies = directory("trafford")
    unit = agencies.pop("Safeguarding Partnership business unit")
    assert [(c.role_title, c.email) for c in unit.contacts] == [("TSSP Business Manager", "tssp@trafford.gov.uk")]
    assert unit.sender_note == "A copy of this escalation notice should be shared with the TSSP Business Manager."
    assert not unit.needs_review
    assert all(agency.needs_review and not agency.contacts for agency in agencies.values())
    assert {row["source"] for row in csv_rows("trafford") if row["agency"] in agencies} == {PROPOSAL}


# -- the loader's checks -----------------------------------------------------------------------------------

HEADER = ",".join(COLUMNS)
GOOD = [
    "Health,Call first,,Named Nurse,,nurse@health.test,0161 000 0000,stage-3,2027-01-31,false,Test list",
    "Health,Call first,Tier B,Manager,Pat Lee,manager@health.test,,stage-3;stage-4,2027-01-31,false,Test list",
    "Police,,,,,,,,2026-12-01,true,proposal: no published SPOC list",
]


def write(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "directory.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_the_loader_reads_rows_into_agencies_and_composes_role_titles(tmp_path: Path) -> None:
    assert read_directory(write(tmp_path, *GOOD)) == [
        AgencySpec(
            name="Health",
            sender_note="Call first",
            contacts=(
                ContactSpec("Named Nurse", "nurse@health.test", "0161 000 0000", ("stage-3",)),
                ContactSpec("Tier B: Pat Lee – Manager", "manager@health.test", None, ("stage-3", "stage-4")),
            ),
            needs_review=False,
            review_by=date(2027, 1, 31),
        ),
        AgencySpec(name="Police", sender_note="", contacts=(), needs_review=True, review_by=date(2026, 12, 1)),
    ]


def test_role_titles_are_tier_then_role_with_a_name_the_role_lacks() -> None:
    assert role_title("", "Named Nurse") == "Named Nurse"
    assert role_title("Tier A", "") == "Tier A"
    assert role_title("Tier A", "Jo Bloggs, Named Nurse", "Jo Bloggs") == "Tier A: Jo Bloggs, Named Nurse"
    assert role_title("Tier A", "Named Nurse", "Jo Bloggs") == "Tier A: Jo Bloggs – Named Nurse"
    assert role_title("", "", "Jo Bloggs") == "Jo Bloggs"


def test_a_quoted_note_over_several_lines_keeps_its_lines_and_later_rows_their_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'Schools,"Stage 1: the DSL\nStage 2: the Head Teacher",Any other escalations,,,schools@la.test,,,'
        "2027-01-31,false,Test list",
        "Police,,,SPOC,,police@police.test,,,2027-01-31,false,",
    )
    with pytest.raises(DirectoryDataError, match=r"directory\.csv, line 4: the source is empty"):
        read_directory(path)
    path.write_text(path.read_text(encoding="utf-8").replace("false,\n", "false,Test list\n"), encoding="utf-8")
    (schools, _police) = read_directory(path)
    assert schools.sender_note == "Stage 1: the DSL\nStage 2: the Head Teacher"


@pytest.mark.parametrize(
    ("lines", "header", "message"),
    [
        (GOOD, HEADER + ",extra", r"line 1: unknown column\(s\) 'extra'"),
        (GOOD, HEADER.replace(",source", ""), r"line 1: missing column\(s\) source"),
        (GOOD, HEADER + ",email", r"line 1: column\(s\) email appear more than once"),
        ([",Note,,Nurse,,n@h.test,,,2027-01-31,false,Test list"], HEADER, "line 2: the agency is empty"),
        (
            [GOOD[0], GOOD[1].replace("manager@health.test", "manager.health.test")],
            HEADER,
            "line 3: email 'manager.health.test' is not an e-mail address",
        ),
        ([GOOD[0].replace("2027-01-31", "2027-02-30")], HEADER, "line 2: review_by '2027-02-30' is not a date"),
        ([GOOD[0].replace("2027-01-31", "31/01/2027")], HEADER, "line 2: review_by '31/01/2027' is not a date"),
        ([GOOD[2].replace("true", "yes")], HEADER, "line 2: needs_review 'yes' must be true or false"),
        ([GOOD[0].replace("0161 000 0000", "call the office")], HEADER, "line 2: telephone 'call the office'"),
        ([GOOD[0].replace("stage-3", "Stage 3")], HEADER, "line 2: stages 'Stage 3' must be stage codes"),
        ([GOOD[0] + ",surplus"], HEADER, "line 2: 12 fields, but the header has 11"),
        ([GOOD[0], GOOD[2], GOOD[1]], HEADER, "line 4: agency 'Health' already ended at an earlier row"),
        ([GOOD[0], GOOD[1].replace("Call first", "Call")], HEADER, "line 3: sender_note differs from line 2"),
        ([GOOD[0], GOOD[1].replace("2027-01-31", "2027-02-01")], HEADER, "line 3: review_by differs from line 2"),
        ([GOOD[0], GOOD[1].replace("false", "true")], HEADER, "line 3: needs_review differs from line 2"),
        ([GOOD[0].replace("nurse@health.test,0161 000 0000", ",")], HEADER, "line 2: a contact needs an email or"),
        ([GOOD[0].replace(",Named Nurse,", ",,")], HEADER, "line 2: a contact needs a tier or a role"),
        ([GOOD[2], GOOD[2]], HEADER, "line 3: agency 'Police' already has a row without a contact"),
        (
            [GOOD[2], "Police,,,SPOC,,p@police.test,,,2026-12-01,true,proposal: no published SPOC list"],
            HEADER,
            "line 3: a row without a contact must be its agency's only row",
        ),
        ([GOOD[0].replace("Test list", "")], HEADER, "line 2: the source is empty"),
        ([], HEADER, "no agencies below the header"),
    ],
)
def test_the_loader_names_file_and_line_of_a_bad_row(
    tmp_path: Path, lines: list[str], header: str, message: str
) -> None:
    path = write(tmp_path, *lines, header=header)
    with pytest.raises(DirectoryDataError) as problem:
        read_directory(path)
    assert str(problem.value).startswith(f"{path}")
    assert re.search(message, str(problem.value)), str(problem.value)


def test_the_loader_names_a_missing_empty_or_undecodable_file(tmp_path: Path) -> None:
    with pytest.raises(DirectoryDataError, match=r"nowhere\.csv: no such directory file"):
        read_directory(tmp_path / "nowhere.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DirectoryDataError, match=r"empty\.csv, line 1: the file is empty"):
        read_directory(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\n" + GOOD[0].replace("Call first", "Café") + "\n").encode("latin-1"))
    with pytest.raises(DirectoryDataError, match=r"latin\.csv: not UTF-8"):
        read_directory(latin)


# -- the extraction script's parsers, on made-up text in the seeds' layouts ----------------------------------


@pytest.fixture(scope="module")
def extract() -> Iterator[ModuleType]:
    """scripts/extract_directories.py, imported by path (it is a tool, not part of the portal package)."""
    spec = importlib.util.spec_from_file_location("extract_directories", ROOT / "scripts" / "extract_directories.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def table(*rows: tuple[str, ...]) -> str:
    """Lines of tab-separated cells, as the seed texts hold their tables."""
    return "\n".join("\t".join(cells) for cells in rows) + "\n"


ROCHDALE_TEXT = (
    "Effective Challenge Guidance\n\nSingle Point of Contact (SPOC) List Testshire\n\n"
    + table(
        ("Service", "Contact Details"),
        (
            "Children's Social Care",
            "Escalations go to the right team Head of Service – Front Door a.one@cs.test "
            "Head of Service – Court b.two@cs.test Head of Service – Care c.three@cs.test",
        ),
        ("Safeguarding Unit", "unit@cs.test / 01234 567 890"),
        (
            "Testshire Clinical Commissioning Group",
            "ccg@nhs.test / Main office number: 01234 567891 Ask for the Designated Nurse",
        ),
        (
            "Schools",
            "Stage 1 Escalations: School DSL Stage 2 Escalations: Head Teacher "
            "<i>Check the school's arrangements</i> Any other escalations: schools@cs.test",
        ),
        ("Helpline", "Telephone the duty desk on 0161 723 3880"),
    )
    + "\nPlease contact admin@cs.test for any updates.\n"
)

BOLTON_TEXT = (
    "Resolution Single Points of Contact (SPOC)\n\n"
    + table(
        ("Service", "Role", "Telephone", "Email"),
        ("Partnership", "Business Manager", "01204 000001", "partnership@bolton.test"),
        ("Police", "Vulnerability Lead", "n/a", "lead@police.test"),
    )
    + "\n"
    + table(
        ("Service", "Role", "Telephone", "Email"),
        ("Police", "Deputy Lead", "-", "deputy@police.test"),
        ("NHS Testshire", "Designated Nurse", "01204 000002", "www.nhs-testshire.test"),
    )
)

HALTON_TEXT = "APPENDIX A – AGENCY CONTACT DETAILS\n\n" + table(
    ("AGENCY", *HALTON_TIERS),
    (
        "Community Trust",
        "Ann Able – Named Nurse Tel No: 0151 000 0001 Email: ann.able@trust.test "
        "Bob Baker - Nurse Tel No: 0151 000 0002 Email: bob.baker@trust.test",
        "Cal Cole, Head of Service Mob No: 07000000003 Email: cal@trust.test or cal.cole@trust.test",
        "",
    ),
    (
        "Police PPU",
        "Det/Sgt Dee Dunn Tel No: 01606 000004 Email: dee.dunn@police.test",
        "Matron (Paeds -Eve East) Named Nurse -Fay Ford Tel No: 01606 000005, Email: fay@police.test",
        "Gus Green Tel No: 01606 000006",
    ),
)


def contacts_of(agency: object) -> list[tuple[str, str, str, str, str, tuple[str, ...]]]:
    return [(c.tier, c.role, c.name, c.email, c.telephone, c.stages) for c in agency.contacts]  # type: ignore[attr-defined]


def test_the_script_parses_a_rochdale_style_spoc_list(extract: ModuleType) -> None:
    agencies = {agency.name: agency for agency in extract.parse_rochdale(ROCHDALE_TEXT)}
    assert list(agencies) == [
        "Children's Social Care",
        "Safeguarding Unit",
        "Testshire Clinical Commissioning Group",
        "Schools",
        "Helpline",
    ]
    spoc = "Single point of contact (SPOC)"
    csc = agencies["Children's Social Care"]
    assert csc.sender_note == "Escalations go to the right team"
    assert contacts_of(csc) == [
        ("", "Head of Service – Front Door", "", "a.one@cs.test", "", ()),
        ("", "Head of Service – Court", "", "b.two@cs.test", "", ()),
        ("", "Head of Service – Care", "", "c.three@cs.test", "", ()),
    ]
    assert contacts_of(agencies["Safeguarding Unit"]) == [("", spoc, "", "unit@cs.test", "01234 567 890", ())]
    ccg = agencies["Testshire Clinical Commissioning Group"]
    assert ccg.needs_review and not csc.needs_review
    assert ccg.sender_note == "Ask for the Designated Nurse"
    assert contacts_of(ccg) == [("", spoc, "", "ccg@nhs.test", "01234 567891", ())]
    schools = agencies["Schools"]
    assert schools.sender_note == (
        "Stage 1 Escalations: School DSL\nStage 2 Escalations: Head Teacher\nCheck the school's arrangements"
    )
    assert contacts_of(schools) == [("Any other escalations", "", "", "schools@cs.test", "", ("stage-3", "stage-4"))]
    helpline = agencies["Helpline"]
    assert contacts_of(helpline) == [("", spoc, "", "", "0161 723 3880", ())]
    assert helpline.sender_note == "Telephone the duty desk on 0161 723 3880"


def test_the_script_parses_a_bolton_style_table_split_over_two_pages(extract: ModuleType) -> None:
    agencies = {agency.name: agency for agency in extract.parse_bolton(BOLTON_TEXT)}
    assert list(agencies) == ["Partnership", "Police", "NHS Testshire"]
    assert contacts_of(agencies["Police"]) == [
        ("", "Vulnerability Lead", "", "lead@police.test", "", ()),
        ("", "Deputy Lead", "", "deputy@police.test", "", ()),
    ]
    nhs = agencies["NHS Testshire"]
    assert contacts_of(nhs) == [("", "Designated Nurse", "", "", "01204 000002", ())]
    assert "www.nhs-testshire.test" in nhs.sender_note and "not a mailbox" in nhs.sender_note
    assert not any(agency.needs_review for agency in agencies.values())


def test_the_script_parses_a_halton_style_appendix_by_tier(extract: ModuleType) -> None:
    agencies = {agency.name: agency for agency in extract.parse_halton(HALTON_TEXT)}
    manager, next_level, hscb = HALTON_TIERS
    assert contacts_of(agencies["Community Trust"]) == [
        (
            manager,
            "Ann Able – Named Nurse",
            "Ann Able",
            "ann.able@trust.test",
            "0151 000 0001",
            ("manager-named-professional",),
        ),
        (
            manager,
            "Bob Baker - Nurse",
            "Bob Baker",
            "bob.baker@trust.test",
            "0151 000 0002",
            ("manager-named-professional",),
        ),
        (
            next_level,
            "Cal Cole, Head of Service",
            "Cal Cole",
            "cal@trust.test",
            "07000000003",
            ("next-level-management",),
        ),
        (
            next_level,
            "Cal Cole, Head of Service",
            "Cal Cole",
            "cal.cole@trust.test",
            "07000000003",
            ("next-level-management",),
        ),
    ]
    assert contacts_of(agencies["Police PPU"]) == [
        (
            manager,
            "Det/Sgt Dee Dunn",
            "Det/Sgt Dee Dunn",
            "dee.dunn@police.test",
            "01606 000004",
            ("manager-named-professional",),
        ),
        (
            next_level,
            "Matron (Paeds -Eve East) Named Nurse -Fay Ford",
            "Fay Ford",
            "fay@police.test",
            "01606 000005",
            ("next-level-management",),
        ),
        (hscb, "Gus Green", "Gus Green", "", "01606 000006", ("hscb-representative",)),
    ]
    assert all(agency.needs_review for agency in agencies.values())


def test_the_script_proposes_agencies_where_no_list_is_published(extract: ModuleType) -> None:
    pan_cheshire = extract.parse_pan_cheshire("Pan  Cheshire\nProcedure for Multi-agency Professional Challenge")
    assert [a.name for a in pan_cheshire][-1] == "Safeguarding Partnership business unit"
    assert all(a.needs_review and not a.contacts and a.source == PROPOSAL for a in pan_cheshire)
    trafford = extract.parse_trafford("A copy should be shared with the TSSP Business\nManager tssp@trafford.test.")
    *proposed, unit = trafford
    assert all(a.needs_review and not a.contacts and a.source == PROPOSAL for a in proposed)
    assert contacts_of(unit) == [("", "TSSP Business Manager", "", "tssp@trafford.test", "", ("stage-3", "stage-4"))]
    assert not unit.needs_review


@pytest.mark.parametrize("name", ["rochdale", "bolton", "halton"])
def test_the_script_ignores_line_endings_and_extra_spaces(extract: ModuleType, name: str) -> None:
    text = {"rochdale": ROCHDALE_TEXT, "bolton": BOLTON_TEXT, "halton": HALTON_TEXT}[name]
    messy = text.replace("\n", " \r\n").replace(" ", "  \xa0").replace("\t", " \t ")
    parse = getattr(extract, f"parse_{name}")
    assert parse(messy) == parse(text)


def test_the_script_rejects_a_seed_without_its_table(extract: ModuleType) -> None:
    for parse in (
        extract.parse_rochdale,
        extract.parse_bolton,
        extract.parse_halton,
        extract.parse_trafford,
        extract.parse_pan_cheshire,
    ):
        with pytest.raises(extract.SeedFormatError):
            parse("A procedure with no contact table at all.")


@pytest.mark.parametrize("name", ["rochdale", "bolton", "halton", "trafford"])
def test_the_scripts_csv_loads_back_as_the_parsed_directory(extract: ModuleType, tmp_path: Path, name: str) -> None:
    text = {
        "rochdale": ROCHDALE_TEXT,
        "bolton": BOLTON_TEXT,
        "halton": HALTON_TEXT,
        "trafford": "shared with the TSSP Business Manager tssp@trafford.test.",
    }[name]
    parsed = getattr(extract, f"parse_{name}")(text)
    path = tmp_path / name / "directory.csv"
    extract.write_csv(path, extract.csv_rows(parsed, date(2026, 1, 5)))
    assert read_directory(path) == [
        AgencySpec(
            name=agency.name,
            sender_note=agency.sender_note,
            contacts=tuple(
                ContactSpec(role_title(c.tier, c.role, c.name), c.email or None, c.telephone or None, c.stages)
                for c in agency.contacts
            ),
            needs_review=agency.needs_review,
            review_by=date(2026, 1, 5) if agency.needs_review else date(2027, 1, 5),
        )
        for agency in parsed
    ]


def test_the_script_writes_the_loaders_columns_for_the_registered_partnerships(extract: ModuleType) -> None:
    assert extract.COLUMNS == COLUMNS
    assert extract.PROPOSAL == PROPOSAL
    assert [module for module, _prefix, _parse in extract.PARSERS] == [
        spec.directory.parent.name for spec in PARTNERSHIPS.values()
    ]
    assert extract.DEFAULT_OUT == Path(portal.partnerships.__file__).resolve().parent
    halton = current_procedure("halton")
    assert {tier: halton.stage(code).name for tier, code in extract.HALTON_TIER_STAGES.items()} == {
        tier: tier for tier in HALTON_TIERS
    }


def test_the_script_needs_a_seed_folder(extract: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        extract.main([])
    with pytest.raises(SystemExit, match="expected one seed"):
        extract.main([str(tmp_path), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


# -- import ----------------------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as session:
        yield session
    engine.dispose()


def counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Partnership)) or 0,
        session.scalar(select(func.count()).select_from(Agency)) or 0,
        session.scalar(select(func.count()).select_from(DirectoryContact)) or 0,
    )


def partnership_id(session: Session, slug: str) -> int:
    return session.scalars(select(Partnership.id).where(Partnership.slug == slug)).one()


def use_directory(monkeypatch: pytest.MonkeyPatch, slug: str, path: Path) -> None:
    """Point a partnership at another directory CSV for one test."""
    monkeypatch.setitem(PARTNERSHIPS, slug, dataclasses.replace(PARTNERSHIPS[slug], directory=path))


def edited_copy(tmp_path: Path, slug: str, drop: str = "", replace: tuple[str, str] = ("", "")) -> Path:
    """A copy of a partnership's CSV without the lines containing ``drop`` and with ``replace`` applied."""
    lines = PARTNERSHIPS[slug].directory.read_text(encoding="utf-8").splitlines(keepends=True)
    text = "".join(line for line in lines if not (drop and drop in line))
    if replace[0]:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / slug / "directory.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_import_twice_changes_nothing(db: Session) -> None:
    first = import_partnerships(db, today=TODAY)
    db.commit()
    after_first = counts(db)
    # 5 partnerships; 12 + 5 + 5 + 14 + 9 agencies; 15 + 0 + 1 + 14 + 32 contacts.
    assert after_first == (5, 45, 62)
    assert first == ImportReport(added=sum(after_first))

    second = import_partnerships(db, today=TODAY + timedelta(days=30))
    db.commit()
    assert counts(db) == after_first
    assert second == ImportReport(unchanged=sum(after_first))


def test_import_sets_partnership_fields_and_review_dates_from_the_data(db: Session) -> None:
    import_partnerships(db, today=TODAY)
    rochdale = db.scalars(select(Partnership).where(Partnership.slug == "rochdale")).one()
    assert (rochdale.id, rochdale.code, rochdale.form_code, rochdale.directory_owner) == (
        1,
        "ROC",
        "rochdale-appendix-1",
        "RBSB.admin@rochdale.gov.uk",
    )
    assert list(db.scalars(select(Partnership.slug).order_by(Partnership.id))) == list(PARTNERSHIPS)
    due = {agency.name: agency.review_due for agency in agencies_for(db, rochdale.id)}
    # The CSV's review_by, not a date counted from the day of the import.
    assert due["National Probation Service"] == EXTRACTED
    assert due["Greater Manchester Police"] == NEXT_YEAR
    gmp = agencies_for(db, rochdale.id)[5]
    assert (gmp.name, gmp.sender_note, gmp.position) == ("Greater Manchester Police", GMP_NOTE, 5)

    # A later import does not move a review date, even one a reviewer has set since.
    gmp.review_due = date(2027, 3, 1)
    db.commit()
    import_partnerships(db, today=TODAY + timedelta(days=90))
    assert agencies_for(db, rochdale.id)[11].review_due == EXTRACTED
    assert agencies_for(db, rochdale.id)[5].review_due == date(2027, 3, 1)


def test_an_agency_without_a_review_date_is_reviewed_from_the_import_day(
    db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = edited_copy(tmp_path, "trafford", replace=(f",{EXTRACTED.isoformat()},", ",,"))
    path.write_text(path.read_text(encoding="utf-8").replace(f",{NEXT_YEAR.isoformat()},", ",,"), encoding="utf-8")
    use_directory(monkeypatch, "trafford", path)
    import_partnerships(db, today=TODAY)
    due = {agency.name: agency.review_due for agency in agencies_for(db, partnership_id(db, "trafford"))}
    assert due["Health"] == TODAY
    assert due["Safeguarding Partnership business unit"] == TODAY + timedelta(days=365)


def test_active_contacts_are_in_directory_order_with_agencies_loaded(db: Session) -> None:
    import_partnerships(db, today=TODAY)
    contacts = active_contacts(db, partnership_id(db, "rochdale"))
    assert len(contacts) == 15
    assert [c.agency.name for c in contacts[:4]] == ["Rochdale Children's Social Care"] * 4
    assert contacts[0].label == "Rochdale Children's Social Care: Head of Service – First Response Team"
    assert [c.position for c in contacts[:4]] == [0, 1, 2, 3]
    assert contacts[-1].agency.name == "National Probation Service"
    halton = active_contacts(db, partnership_id(db, "halton"))
    assert halton[0].label == (
        "Bridgewater Community NHS Trust: Manager/Named Professional Safeguarding: "
        "Marie Fairbrother – Named Nurse Safeguarding Children"
    )


def test_a_missing_directory_file_is_named(db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_directory(monkeypatch, "bolton", tmp_path / "bolton" / "directory.csv")
    with pytest.raises(DirectoryDataError, match=r"bolton/directory\.csv: no such directory file"):
        import_partnerships(db, today=TODAY)
    assert counts(db) == (0, 0, 0)


def test_a_bad_row_in_any_file_fails_before_anything_is_written(
    db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Halton is imported last: its bad row must still stop Rochdale … Bolton from being written.
    path = edited_copy(tmp_path, "halton", replace=("becky.norton@cri.org.uk", "becky.norton at cri.org.uk"))
    use_directory(monkeypatch, "halton", path)
    with pytest.raises(DirectoryDataError, match=r"halton/directory\.csv, line \d+: email 'becky.norton at"):
        import_partnerships(db, today=TODAY)
    assert counts(db) == (0, 0, 0)


def test_contact_removed_from_the_data_is_deactivated_not_deleted(
    db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_partnerships(db, today=TODAY)
    db.commit()
    before = counts(db)

    original = PARTNERSHIPS["rochdale"]
    use_directory(monkeypatch, "rochdale", edited_copy(tmp_path, "rochdale", drop="Ian.Godfrey@Rochdale.Gov.UK"))
    report = import_partnerships(db, today=TODAY)
    db.commit()
    assert report.deactivated == 1 and report.added == 0
    assert counts(db) == before
    gone = db.scalars(select(DirectoryContact).where(DirectoryContact.email == "Ian.Godfrey@Rochdale.Gov.UK")).one()
    assert gone.active is False
    emails = [c.email for c in active_contacts(db, partnership_id(db, "rochdale"))]
    assert "Ian.Godfrey@Rochdale.Gov.UK" not in emails
    assert len(emails) == 14

    # Putting it back reactivates the same row.
    monkeypatch.setitem(PARTNERSHIPS, "rochdale", original)
    report = import_partnerships(db, today=TODAY)
    assert report.updated == 1
    db.refresh(gone)
    assert gone.active is True


def test_a_contact_added_by_hand_survives_a_re_import(db: Session) -> None:
    """Trafford publishes no SPOC list: its partnership adds contacts, and `init` (run on every deployment)
    must not switch them off again."""
    from portal.services.directory import add_contact

    import_partnerships(db, today=TODAY)
    added = add_contact(
        db,
        partnership_slug="trafford",
        agency_name="Local authority children's social care",
        role_title="Team Manager",
        email="team.manager@trafford.test",
    )
    db.commit()
    report = import_partnerships(db, today=TODAY + timedelta(days=1))
    db.commit()
    db.refresh(added)
    assert added.active and not added.from_seed and report.deactivated == 0
