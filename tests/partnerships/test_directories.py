"""The SPOC directories parsed from the real seed documents, and their import into a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.domain.models import Agency, DirectoryContact, Partnership
from portal.domain.partnership import AgencySpec
from portal.infrastructure import migrate
from portal.infrastructure.db import make_engine
from portal.partnerships import PARTNERSHIPS
from portal.partnerships.seed_text import SeedFormatError
from portal.services.directory import (
    ImportReport,
    SeedNotFoundError,
    active_contacts,
    agencies_for,
    import_partnerships,
    seed_path,
)

SEED_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
TODAY = date(2026, 11, 23)
GMP_NOTE = "All escalations to GMP must include a telephone call to ensure the correct officer is being contacted"


def seed_text(slug: str) -> str:
    return seed_path(SEED_DIR, PARTNERSHIPS[slug]).read_text(encoding="utf-8")


def parse(slug: str) -> dict[str, AgencySpec]:
    return {agency.name: agency for agency in PARTNERSHIPS[slug].parse_directory(seed_text(slug))}


# -- the registry ----------------------------------------------------------------------------------------


def test_registry_is_in_seed_order_with_distinct_codes() -> None:
    assert list(PARTNERSHIPS) == ["rochdale", "pan-cheshire", "trafford", "bolton", "halton"]
    assert [spec.seed_prefix for spec in PARTNERSHIPS.values()] == ["000_", "001_", "002_", "003_", "004_"]
    assert len({spec.code for spec in PARTNERSHIPS.values()}) == 5
    assert [slug for slug, spec in PARTNERSHIPS.items() if spec.is_legacy] == ["halton"]
    assert PARTNERSHIPS["bolton"].procedure_version == "bolton-2022-09"
    assert PARTNERSHIPS["halton"].procedure_version == "halton-2013-09"


@pytest.mark.parametrize("slug", ["rochdale", "trafford", "bolton"])
def test_directory_owner_and_front_door_come_from_the_seed(slug: str) -> None:
    text = seed_text(slug).casefold()
    assert PARTNERSHIPS[slug].directory_owner.casefold() in text
    assert PARTNERSHIPS[slug].front_door


def test_rochdale_front_door_is_the_ehash_number() -> None:
    assert "01706 925 879" in PARTNERSHIPS["rochdale"].front_door
    assert "01706 925 879" in seed_text("rochdale")


# -- Rochdale --------------------------------------------------------------------------------------------


def test_rochdale_lists_twelve_services_in_seed_order() -> None:
    agencies = list(parse("rochdale"))
    assert len(agencies) == 12
    assert agencies[0] == "Rochdale Children's Social Care"
    assert agencies[5] == "Greater Manchester Police"
    assert agencies[-1] == "National Probation Service"


def test_rochdale_childrens_social_care_has_four_heads_of_service() -> None:
    csc = parse("rochdale")["Rochdale Children's Social Care"]
    assert [(c.role_title, c.email) for c in csc.contacts] == [
        ("Head of Service – First Response Team", "Tracy.Chatterton@Rochdale.Gov.UK"),
        ("Head of Service – Child Protection and Court", "Chris.James@Rochdale.Gov.UK"),
        ("Head of Service – Cared 4 Children / Youth Justice Service", "rachel.meyrick@rochdale.gov.uk"),
        ("Head of Service – Head of Provider Services", "Ian.Godfrey@Rochdale.Gov.UK"),
    ]
    assert csc.sender_note == "Escalations should be directed to the relevant team in Children's Social Care"


def test_rochdale_sender_notes_and_telephones() -> None:
    agencies = parse("rochdale")
    gmp = agencies["Greater Manchester Police"]
    assert gmp.sender_note == GMP_NOTE
    assert [c.email for c in gmp.contacts] == ["Rochdale.publicprotection@gmp.pnn.police.uk"]
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


def test_rochdale_education_keeps_the_stage_text_without_tags() -> None:
    education = parse("rochdale")["Education Establishments"]
    assert "Stage 1 Escalations: School Designated Safeguarding Lead" in education.sender_note
    assert "Stage 2 Escalations: School Head Teacher (if different to DSL)" in education.sender_note
    assert "Contact to be made with the school to clarify Designated Safeguarding Lead Arrangements" in (
        education.sender_note
    )
    assert "<" not in education.sender_note
    assert [(c.role_title, c.email) for c in education.contacts] == [
        ("Any other escalations", "Claire.heap@rochdale.gov.uk")
    ]


def test_rochdale_flags_bodies_that_no_longer_exist() -> None:
    review = {name for name, agency in parse("rochdale").items() if agency.needs_review}
    assert review == {
        "Heywood, Middleton and Rochdale Clinical Commissioning Group",
        "National Probation Service",
    }


# -- Bolton ----------------------------------------------------------------------------------------------


def test_bolton_lists_fourteen_services_across_both_table_parts() -> None:
    agencies = parse("bolton")
    assert len(agencies) == 14
    assert "Service" not in agencies
    assert list(agencies)[0] == "Bolton Safeguarding Children Partnership"
    assert list(agencies)[-1] == "Voluntary Sector"
    assert not any(agency.needs_review for agency in agencies.values())


def test_bolton_roles_telephones_and_emails() -> None:
    agencies = parse("bolton")
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


def test_bolton_nhs_greater_manchester_has_a_website_not_a_mailbox() -> None:
    nhs_gm = parse("bolton")["NHS Greater Manchester"]
    (contact,) = nhs_gm.contacts
    assert contact.email is None
    assert contact.telephone == "01204 463390"
    assert "www.gmintegratedcare.org.uk" in nhs_gm.sender_note
    assert "not a mailbox" in nhs_gm.sender_note


# -- Halton ----------------------------------------------------------------------------------------------


def test_halton_lists_nine_agencies_all_needing_review() -> None:
    agencies = parse("halton")
    assert len(agencies) == 9
    assert list(agencies)[0] == "Bridgewater Community NHS Trust"
    assert list(agencies)[-1] == "YOS"
    assert all(agency.needs_review for agency in agencies.values())


def test_halton_contacts_are_named_by_tier() -> None:
    agencies = parse("halton")
    tiers = (
        "Manager/Named Professional Safeguarding: ",
        "Next Level Management: ",
        "HSCB Representative for Agency: ",
    )
    for agency in agencies.values():
        assert agency.contacts
        assert all(contact.role_title.startswith(tiers) for contact in agency.contacts)
    first = agencies["Bridgewater Community NHS Trust"].contacts[0]
    assert first.role_title == (
        "Manager/Named Professional Safeguarding: Marie Fairbrother – Named Nurse Safeguarding Children"
    )
    assert (first.email, first.telephone) == ("marie.fairbrother@bridgewater.nhs.uk", "0151 511 5844")
    assert len(agencies["Bridgewater Community NHS Trust"].contacts) == 5


def test_halton_skips_the_empty_cri_tier() -> None:
    cri = parse("halton")["CRI"]
    assert [c.role_title.split(":")[0] for c in cri.contacts] == [
        "Manager/Named Professional Safeguarding",
        "Next Level Management",
    ]
    assert cri.contacts[1].email == "john.williams@halton.gov.uk"


def test_halton_warrington_keeps_every_name_and_address() -> None:
    warrington = parse("halton")["Warrington Hospital"]
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


# -- Pan Cheshire and Trafford: no published list ----------------------------------------------------------


def test_pan_cheshire_proposes_generic_agencies_without_contacts() -> None:
    agencies = parse("pan-cheshire")
    assert list(agencies) == [
        "Local authority children's social care",
        "Health",
        "Police",
        "Education",
        "Safeguarding Partnership business unit",
    ]
    assert all(agency.needs_review and not agency.contacts for agency in agencies.values())


def test_trafford_business_unit_has_the_business_manager_mailbox() -> None:
    agencies = parse("trafford")
    unit = agencies.pop("Safeguarding Partnership business unit")
    assert [(c.role_title, c.email) for c in unit.contacts] == [("TSSP Business Manager", "tssp@trafford.gov.uk")]
    assert not unit.needs_review
    assert all(agency.needs_review and not agency.contacts for agency in agencies.values())


@pytest.mark.parametrize("slug", list(PARTNERSHIPS))
def test_parsers_ignore_line_endings_and_extra_spaces(slug: str) -> None:
    text = seed_text(slug)
    messy = text.replace("\n", " \r\n").replace(" ", "  \xa0").replace("\t", " \t ")
    parse_directory = PARTNERSHIPS[slug].parse_directory
    assert parse_directory(messy) == parse_directory(text)


def test_a_parser_rejects_a_seed_without_its_table() -> None:
    with pytest.raises(SeedFormatError):
        PARTNERSHIPS["bolton"].parse_directory(seed_text("trafford"))


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


def copy_seeds(target: Path) -> Path:
    """Copy the seeds as writable files (the shared originals are read-only)."""
    target.mkdir()
    for seed in SEED_DIR.glob("*.txt"):
        (target / seed.name).write_bytes(seed.read_bytes())
    return target


def partnership_id(session: Session, slug: str) -> int:
    return session.scalars(select(Partnership.id).where(Partnership.slug == slug)).one()


def test_import_twice_changes_nothing(db: Session) -> None:
    first = import_partnerships(db, SEED_DIR, today=TODAY)
    db.commit()
    after_first = counts(db)
    # 5 partnerships; 12 + 5 + 5 + 14 + 9 agencies; 15 + 0 + 1 + 14 + 32 contacts.
    assert after_first == (5, 45, 62)
    assert first == ImportReport(added=sum(after_first))

    second = import_partnerships(db, SEED_DIR, today=TODAY + timedelta(days=30))
    db.commit()
    assert counts(db) == after_first
    assert second == ImportReport(unchanged=sum(after_first))


def test_import_sets_partnership_fields_and_review_dates(db: Session) -> None:
    import_partnerships(db, SEED_DIR, today=TODAY)
    rochdale = db.scalars(select(Partnership).where(Partnership.slug == "rochdale")).one()
    assert (rochdale.code, rochdale.form_code, rochdale.directory_owner) == (
        "ROC",
        "rochdale-appendix-1",
        "RBSB.admin@rochdale.gov.uk",
    )
    due = {agency.name: agency.review_due for agency in agencies_for(db, rochdale.id)}
    assert due["National Probation Service"] == TODAY
    assert due["Greater Manchester Police"] == TODAY + timedelta(days=365)

    # A later import does not move a review date.
    import_partnerships(db, SEED_DIR, today=TODAY + timedelta(days=90))
    assert agencies_for(db, rochdale.id)[11].review_due == TODAY


def test_active_contacts_are_in_directory_order_with_agencies_loaded(db: Session) -> None:
    import_partnerships(db, SEED_DIR, today=TODAY)
    contacts = active_contacts(db, partnership_id(db, "rochdale"))
    assert len(contacts) == 15
    assert [c.agency.name for c in contacts[:4]] == ["Rochdale Children's Social Care"] * 4
    assert contacts[0].label == "Rochdale Children's Social Care: Head of Service – First Response Team"
    assert contacts[-1].agency.name == "National Probation Service"


def test_missing_seed_is_named(db: Session, tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path / "seeds")
    missing = seed_path(seeds, PARTNERSHIPS["bolton"])
    missing.unlink()
    with pytest.raises(SeedNotFoundError, match="003_"):
        import_partnerships(db, seeds, today=TODAY)
    assert counts(db) == (0, 0, 0)


def test_contact_removed_from_the_seed_is_deactivated_not_deleted(db: Session, tmp_path: Path) -> None:
    import_partnerships(db, SEED_DIR, today=TODAY)
    db.commit()
    before = counts(db)

    seeds = copy_seeds(tmp_path / "seeds")
    rochdale_seed = seed_path(seeds, PARTNERSHIPS["rochdale"])
    text = rochdale_seed.read_text(encoding="utf-8")
    removed = " Head of Service – Head of Provider Services Ian.Godfrey@Rochdale.Gov.UK"
    assert removed in text
    rochdale_seed.write_text(text.replace(removed, ""), encoding="utf-8")

    report = import_partnerships(db, seeds, today=TODAY)
    db.commit()
    assert report.deactivated == 1 and report.added == 0
    assert counts(db) == before
    gone = db.scalars(select(DirectoryContact).where(DirectoryContact.email == "Ian.Godfrey@Rochdale.Gov.UK")).one()
    assert gone.active is False
    emails = [c.email for c in active_contacts(db, partnership_id(db, "rochdale"))]
    assert "Ian.Godfrey@Rochdale.Gov.UK" not in emails
    assert len(emails) == 14

    # Putting it back reactivates the same row.
    report = import_partnerships(db, SEED_DIR, today=TODAY)
    assert report.updated == 1
    db.refresh(gone)
    assert gone.active is True


def test_a_contact_added_by_hand_survives_a_re_import(db: Session) -> None:
    """Trafford publishes no SPOC list: its partnership adds contacts, and `init` (run on every deployment)
    must not switch them off again."""
    from portal.services.directory import add_contact

    import_partnerships(db, SEED_DIR, today=TODAY)
    added = add_contact(
        db,
        partnership_slug="trafford",
        agency_name="Local authority children's social care",
        role_title="Team Manager",
        email="team.manager@trafford.test",
    )
    db.commit()
    report = import_partnerships(db, SEED_DIR, today=TODAY + timedelta(days=1))
    db.commit()
    db.refresh(added)
    assert added.active and not added.from_seed and report.deactivated == 0
