"""The ELMO reader defects found with real documents from other countries, each on a document of the
same shape (issue 13, item 5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.conftest import FORMATS_DIR
from tests.importers.higher.helpers import extract
from tests.importers.higher.test_mapping import NS, course, doc

LEGACY = "http://purl.org/net/elmo"


def test_an_empty_learner_in_a_report_does_not_override_the_documents_learner() -> None:
    data = doc(los=course("INF1000")).replace(b"<report>", b"<report><learner/>")
    result = extract(data)
    assert result.errors == []
    assert [r.person.identifiers[0].value for r in result.records] == ["01010112345"]
    assert "elmo.report_learner_empty" in result.warning_codes()


def test_elmo_without_a_namespace_is_read_as_elmo() -> None:
    data = doc(los=course("DYE", grade="7")).replace(f" xmlns='{NS}'".encode(), b"")
    assert b"xmlns=" not in data
    result = extract(data)
    assert result.errors == [] and len(result.records) == 1
    assert result.records[0].specification.code == "DYE"
    assert "elmo.no_namespace" in result.warning_codes()


def test_elmo_without_a_namespace_is_chosen_by_the_registry() -> None:
    from intake.registry import choose
    from register.sectors import Sector

    head = b"<?xml version='1.0'?>\n<elmo><learner></learner></elmo>"
    assert choose(Sector.HIGHER, head, "transcript.xml", "application/xml").name == "elmo"


def _legacy(report_body: str) -> bytes:
    return (
        f"<elmo xmlns='{LEGACY}'><report><learner>"
        "<identifier type='nationalIdentifier'>01010112345</identifier>"
        "<givenNames>Ada</givenNames><familyName>Nordmann</familyName>"
        "<bday dtf='dd.MM.yyyy'>02.03.1992</bday></learner>"
        f"{report_body}<issueDate dtf='dd.MM.yyyy'>04.06.2015</issueDate></report></elmo>"
    ).encode()


def _legacy_los(code: str, result: str = "B", start: str = "2012 Høst", credit: str = "10") -> str:
    return (
        f"<learningOpportunitySpecification><identifier type='local'>{code}</identifier>"
        f"<title xml:lang='no'>Emne {code}</title><type>Module</type>"
        f"<credit><scheme>ECTS</scheme><value>{credit}</value></credit>"
        f"<specifies><learningOpportunityInstance><start>{start}</start>"
        f"<result scheme='NO30'>{result}</result></learningOpportunityInstance></specifies>"
        "</learningOpportunitySpecification>"
    )


def _legacy_issuer(erasmus: str) -> str:
    return f"<issuer><identifier type='erasmus'>{erasmus}</identifier><title>{erasmus}</title></issuer>"


def test_a_legacy_reports_second_issuer_gets_its_own_results() -> None:
    data = _legacy(
        _legacy_issuer("N OSLO01") + _legacy_los("A1") + _legacy_issuer("N BERGEN01") + _legacy_los("B1")
    )
    result = extract(data)
    assert result.errors == []
    by_code = {r.specification.code: r.awarding_org.value for r in result.records}
    assert by_code == {"A1": "N OSLO01", "B1": "N BERGEN01"}
    assert "elmo.issuer_several" in result.warning_codes()


def test_results_before_the_first_of_several_issuers_are_rejected_as_ambiguous() -> None:
    data = _legacy(_legacy_los("A0") + _legacy_issuer("N OSLO01") + _legacy_issuer("N BERGEN01"))
    result = extract(data)
    assert result.records == []
    assert [e.code for e in result.errors] == ["elmo.issuer_ambiguous"]


def test_zero_credits_on_an_outer_node_do_not_wipe_the_parts_credits() -> None:
    inner = course("INF1000", credits="7.5") + course("INF1010", credits="7.5")
    outer = course(
        "GROUP", grade=None, credits="0", los_type="Module group", parts=f"<hasPart>{inner}</hasPart>"
    )
    result = extract(doc(los=outer))
    credits = {r.specification.code: r.credits for r in result.records}
    assert credits == {"GROUP": Decimal(0), "INF1000": Decimal("7.5"), "INF1010": Decimal("7.5")}


def test_the_legacy_dtf_attribute_is_honoured() -> None:
    result = extract(_legacy(_legacy_issuer("N OSLO01") + _legacy_los("A1")))
    assert result.errors == []
    assert result.records[0].person.birth_date == dt.date(1992, 3, 2)
    assert "elmo.date_invalid" not in result.warning_codes()


def test_an_undated_result_does_not_take_the_reports_issue_year() -> None:
    result = extract(doc(los=course("INF1000", date="")))
    assert result.errors == []
    assert result.records[0].year is None
    assert result.records[0].completed_on is None


def test_danish_stads_output_without_its_namespace_reads_on_the_7_point_scale() -> None:
    """The real STADS document, written without a namespace as STADS and the EMREX guide do."""

    from register.grading import GradeScheme

    examples = FORMATS_DIR / "elmo" / "examples"
    real = (examples / "dk-stads-unsigned.xml").read_bytes()
    bare = real.replace(f' xmlns="{NS}"'.encode(), b"").replace(
        b'<identifier type="local">TODO : Issuer ID unknown</identifier>',
        b'<identifier type="erasmus">DK KOBENHA01</identifier>',  # the placeholder, made resolvable
    )
    assert NS.encode() not in bare
    result = extract(bare)
    assert result.errors == [] and result.records
    assert {r.grade.scheme for r in result.records if r.grade} == {GradeScheme.DK_7}
    assert all(r.grade.passed for r in result.records if r.grade)


def test_an_unidentified_second_issuer_costs_only_its_own_results() -> None:
    nameless = "<issuer><identifier type='local'>TODO</identifier><title>?</title></issuer>"
    data = _legacy(_legacy_issuer("N OSLO01") + _legacy_los("A1") + nameless + _legacy_los("B1"))
    result = extract(data)
    assert [r.specification.code for r in result.records] == ["A1"]
    assert [(e.code, e.record) for e in result.errors] == [
        ("elmo.issuer_unidentified", "elmo[1]/report[1]/learningOpportunitySpecification[2]")
    ]
