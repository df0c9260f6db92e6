"""The notice form's directory choices: read once per worker, read again whenever the directory changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event, select, update

from portal.domain.models import Agency, DirectoryContact, Partnership
from portal.services import directory, routing
from tests.services.builders import TARGET, World


def test_choices_are_cached_until_the_directory_changes_however_it_is_changed(app: Flask) -> None:
    world = World(app)
    engine = app.extensions["portal.engine"]
    directory_reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM directory_contact" in statement or "FROM agency" in statement:
            directory_reads.append(statement)

    def choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        with world.session() as db:
            rochdale = db.execute(select(Partnership).where(Partnership.slug == "rochdale")).scalar_one()
            return routing.form_choices(db, world.services, rochdale, with_agencies=True)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        contacts, agencies = choices()
        assert directory_reads and any(label.startswith(TARGET) for _v, label in contacts) and agencies
        directory_reads.clear()
        assert choices() == (contacts, agencies) and directory_reads == []  # the second form page reads none

        # Changed by hand in SQL, bypassing the portal: the triggers still move the version on.
        with world.session() as db:
            gone = (
                db.execute(
                    select(DirectoryContact.id).join(Agency).where(Agency.name == TARGET).order_by(DirectoryContact.id)
                )
                .scalars()
                .first()
            )
            db.execute(update(DirectoryContact).where(DirectoryContact.id == gone).values(active=False))
            db.commit()
        fewer, _agencies = choices()
        assert directory_reads and str(gone) not in {v for v, _l in fewer} and len(fewer) == len(contacts) - 1

        # Added through the portal's own command path: offered on the next page.
        with world.session() as db:
            added = directory.add_contact(
                db, partnership_slug="rochdale", agency_name=TARGET, role_title="Duty manager", email="duty@x.test"
            )
            db.commit()
        assert (str(added.id), f"{TARGET}: Duty manager") in choices()[0]

        # Another partnership's change leaves Rochdale's cached choices alone.
        directory_reads.clear()
        with world.session() as db:
            db.execute(
                update(Agency)
                .where(
                    Agency.partnership_id
                    == select(Partnership.id).where(Partnership.slug == "bolton").scalar_subquery()
                )
                .values(sender_note="Call first")
            )
            db.commit()
        choices()
        assert directory_reads == []
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_review_notes_are_kept_with_the_choices_and_read_again_when_the_day_turns(app: Flask) -> None:
    world = World(app)
    with world.session() as db:
        rochdale = db.execute(select(Partnership).where(Partnership.slug == "rochdale")).scalar_one()
        contact = (
            db.execute(select(DirectoryContact).join(Agency).where(Agency.name == TARGET).order_by(DirectoryContact.id))
            .scalars()
            .first()
        )
        assert contact is not None and contact.review_by is not None
        due = contact.review_by
    world.services.clock.fixed = due  # the last day the entry is in date: no note
    with world.session() as db:
        shown = routing.form_directory(db, world.services, db.merge(rochdale), with_agencies=False)
    assert not any(agency == TARGET for agency, _note in shown.review_notes)
    world.services.clock.fixed = due + timedelta(days=1)  # midnight passes, nothing in the directory changes
    with world.session() as db:
        shown = routing.form_directory(db, world.services, db.merge(rochdale), with_agencies=False)
    assert any(agency == TARGET and "was due for review" in note for agency, note in shown.review_notes)
