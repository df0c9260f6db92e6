"""Each partnership's package holds together: its notice definition (domain) and its form (web) declare the same
questions, its layout prints them, its procedure starts where the notice says, and the registry lists it once."""

from __future__ import annotations

import importlib

import pytest

from portal import partnerships
from portal.services.documents import layout_for
from portal.web.forms import notice_form
from portal.web.forms.base import date_fields, unbound_fields

SPECS = list(partnerships.REGISTRY)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.slug)
def test_the_form_asks_exactly_the_questions_the_notice_defines(spec: partnerships.PartnershipSpec) -> None:
    notice = spec.notice
    form_class = notice_form(notice.code)
    asked = [name for name, _ in unbound_fields(form_class) if name != "submit"]
    assert sorted(asked) == sorted(notice.field_order)
    assert len(notice.field_order) == len(set(notice.field_order))
    assert set(notice.date_fields) == date_fields(form_class)
    for names in (notice.recipient_fields, notice.agency_fields, notice.identifier_fields, notice.proposed_fields):
        assert set(names) <= set(notice.field_order)
    assert set(notice.choice_labels) <= set(notice.field_order)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.slug)
def test_no_section_anchor_is_also_a_question_id(spec: partnerships.PartnershipSpec) -> None:
    # An error summary links to a question by its id: a section with the same id would take the focus.
    anchors = [section.anchor for section in spec.notice.sections]
    assert len(anchors) == len(set(anchors))
    assert not set(anchors) & set(spec.notice.field_order)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.slug)
def test_the_package_holds_the_procedure_notice_layout_and_directory(spec: partnerships.PartnershipSpec) -> None:
    package = importlib.import_module(spec.package)
    assert package.SPEC is spec
    assert spec.procedure.partnership_slug == spec.slug
    assert spec.procedure.stage(spec.notice.initial_stage).code == spec.notice.initial_stage
    assert layout_for(spec.form_code).form_code == spec.form_code
    assert spec.directory.is_file() and spec.directory.parent.name == spec.package.rpartition(".")[2]
    assert partnerships.notice_definition(spec.form_code) is spec.notice
    assert partnerships.procedure_for(spec.slug, spec.procedure_version) is spec.procedure


def test_the_registry_lists_each_partnership_once_with_distinct_codes() -> None:
    assert list(partnerships.PARTNERSHIPS) == [spec.slug for spec in SPECS]
    assert len({spec.code for spec in SPECS}) == len({spec.form_code for spec in SPECS}) == len(SPECS)


def test_a_part_other_than_form_or_layout_is_refused() -> None:
    with pytest.raises(ValueError):
        partnerships.part("rochdale-appendix-1", "procedure")
    with pytest.raises(LookupError):
        partnerships.part("no-such-form", "form")
