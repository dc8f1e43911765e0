"""The ELMO → record mapping rules, each on a small document made for it."""

from __future__ import annotations

import base64

import pytest

from register.grading import AchievementKind, CreditScheme, GradeScheme
from register.namespaces import ELMO_NS
from register.sectors import Sector
from tests.importers.higher.helpers import extract

NS = ELMO_NS


def doc(
    learner: str = "<identifier type='nationalIdentifier'>01010112345</identifier>",
    issuer: str = "<country>NO</country><identifier type='local'>9101</identifier><title>Nordvik</title>",
    los: str = "",
    report_tail: str = "",
    tail: str = "",
) -> bytes:
    return (
        f"<elmo xmlns='{NS}' xmlns:xml='http://www.w3.org/XML/1998/namespace'>"
        f"<generatedDate>2026-01-01T00:00:00Z</generatedDate>"
        f"<learner>{learner}<givenNames>Ada</givenNames><familyName>Nordmann</familyName></learner>"
        f"<report><issuer>{issuer}</issuer>{los}<issueDate>2026-01-01T00:00:00Z</issueDate>{report_tail}</report>"
        f"{tail}</elmo>"
    ).encode()


def course(code: str = "INF1000", grade: str | None = "B", status: str | None = None, credits: str | None = "10",
           extra: str = "", parts: str = "", los_type: str = "Course", date: str = "2024-06-10") -> str:  # fmt: skip
    instance = f"<date>{date}</date>" if date else ""
    instance += f"<status>{status}</status>" if status else ""
    instance += f"<resultLabel>{grade}</resultLabel>" if grade is not None else ""
    instance += f"<credit><scheme>ects</scheme><value>{credits}</value></credit>" if credits else ""
    return (
        f"<learningOpportunitySpecification><identifier type='local'>{code}</identifier>"
        f"<title xml:lang='no'>Emne {code}</title><type>{los_type}</type>"
        f"<specifies><learningOpportunityInstance>{instance}{extra}</learningOpportunityInstance></specifies>"
        f"{parts}</learningOpportunitySpecification>"
    )


def one(data: bytes, sector: Sector = Sector.HIGHER):
    result = extract(data, sector=sector)
    assert result.errors == [] and len(result.records) == 1, result.items
    return result.records[0]


@pytest.mark.parametrize(
    ("citizenship", "issuer_country", "value", "expected"),
    [
        ("NO", "NO", "01010112345", ("nin", "")),
        (None, "NO", "01010112345", ("nin", "")),
        ("SE", "SE", "19740617-7811", ("foreign", "SE")),
        (None, "SE", "19740617-7811", ("foreign", "SE")),  # clearly the Swedish issuer's number
        (None, "SE", "01010112345", ("nin", "")),  # 11 digits, no citizenship: a Norwegian number
        ("FI", "NO", "180766-2213", ("foreign", "FI")),
    ],
)
def test_national_identifier_by_citizenship(
    citizenship: str | None, issuer_country: str, value: str, expected: tuple[str, str]
) -> None:
    learner = (f"<citizenship>{citizenship}</citizenship>" if citizenship else "") + (
        f"<identifier type='nationalIdentifier'>{value}</identifier>"
    )
    issuer = (
        f"<country>{issuer_country}</country><identifier type='schac'>x.example</identifier><title>X</title>"
    )
    record = one(doc(learner=learner, issuer=issuer, los=course()))
    first = record.person.identifiers[0]
    assert (first.kind, first.scheme) == expected


def test_esi_and_local_identifiers() -> None:
    learner = (
        "<identifier type='esi'>urn:schac:personalUniqueCode:int:esi:no:123</identifier>"
        "<identifier type='studentIdentifier'>4711</identifier>"
    )
    record = one(doc(learner=learner, los=course()))
    assert [(i.kind, i.value) for i in record.person.identifiers] == [
        ("esi", "urn:schac:personalUniqueCode:int:esi:no:123")
    ]
    # A student number identifies nobody outside its institution: kept in details, not as a person id.
    assert record.details is not None and record.details["learner_local_identifiers"] == {
        "studentIdentifier": "4711"
    }


def test_learner_with_only_a_student_number_is_rejected() -> None:
    result = extract(doc(learner="<identifier type='studentIdentifier'>4711</identifier>", los=course()))
    assert [e.code for e in result.errors] == ["elmo.learner_unidentified"]
    assert "4711" not in result.errors[0].message


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [
        ("<country>NO</country><identifier type='local'>185</identifier><identifier type='erasmus'>N  OSLO01</identifier>",
         ("fs", "185")),
        ("<country>PL</country><identifier type='local'>185</identifier><identifier type='erasmus'>PL  WARSZAW01</identifier>",
         ("erasmus", "PL WARSZAW01")),
        ("<identifier type='pic'>999</identifier><identifier type='schac'>UIO.no</identifier>", ("schac", "uio.no")),
        ("<identifier type='orgnr'>971035854</identifier><identifier type='local'>185</identifier>", ("orgnr", "971035854")),
    ],
)  # fmt: skip
def test_issuer_identifier_preference(identifiers: str, expected: tuple[str, str]) -> None:
    record = one(doc(issuer=identifiers + "<title>I</title>", los=course()))
    assert (record.awarding_org.scheme, record.awarding_org.value) == expected


@pytest.mark.parametrize(
    ("grade", "status", "scheme", "passed"),
    [
        ("B", None, GradeScheme.A_F, True),
        ("f", "failed", GradeScheme.A_F, False),
        ("Bestått", "passed", GradeScheme.PASS_FAIL, True),
        ("passed", None, GradeScheme.PASS_FAIL, True),
        ("7", None, GradeScheme.EXTERNAL, True),  # absent status means passed
        ("-3", "failed", GradeScheme.EXTERNAL, False),
        ("VG", "in-progress", GradeScheme.EXTERNAL, None),
    ],
)
def test_grade_kept_as_delivered_with_pass_fail(grade: str, status: str | None, scheme: GradeScheme,
                                               passed: bool | None) -> None:  # fmt: skip
    record = one(doc(los=course(grade=grade, status=status)))
    assert record.grade is not None
    assert (record.grade.scheme, record.grade.value, record.grade.passed) == (scheme, grade, passed)


def test_grading_scheme_description_goes_with_the_grade() -> None:
    los = course(extra="").replace(
        "<resultLabel>", "<gradingSchemeLocalId>G7</gradingSchemeLocalId><resultLabel>"
    )
    tail = "<gradingScheme localId='G7'><description xml:lang='en'>Seven-step scale</description></gradingScheme>"
    record = one(doc(los=los, report_tail=tail))
    assert record.grade is not None and record.grade.scheme_description == "Seven-step scale"
    assert record.details is not None and record.details["grading_scheme_id"] == "G7"


def test_no_double_counting_keeps_the_outermost_credits() -> None:
    parts = "".join(f"<hasPart>{course(code=c, credits='10')}</hasPart>" for c in ("A1", "A2"))
    degree = course(code="BA", credits="180", los_type="Degree Programme", parts=parts, grade="Bestått")
    result = extract(doc(los=degree))
    top, first, second = result.records
    assert top.kind is AchievementKind.DEGREE and top.credits == 180
    assert first.credits is None and second.credits is None
    assert first.specification.credits == 10  # the course is still a 10-credit course
    assert first.parent_key == second.parent_key == top.source_key
    assert "elmo.credits_double_counted" in result.warning_codes()


def test_credits_on_the_parts_only_stay_on_the_parts() -> None:
    parts = "".join(f"<hasPart>{course(code=c, credits='7.50')}</hasPart>" for c in ("A1", "A2"))
    result = extract(doc(los=course(code="BA", credits=None, los_type="Degree Programme", parts=parts)))
    top, first, second = result.records
    assert top.credits is None
    assert (str(first.credits), str(second.credits)) == ("7.5", "7.5")
    assert first.credit_scheme is CreditScheme.ECTS
    assert "elmo.credits_double_counted" not in result.warning_codes()


def test_fagskole_credits_are_fagskolepoeng_with_nkr_level() -> None:
    los = course(
        extra="<level><type>NQF</type><value>5.1</value></level><level><type>EQF</type><value>5</value></level>"
    )
    record = one(doc(los=los), sector=Sector.VOCATIONAL)
    assert record.sector is Sector.VOCATIONAL and record.credit_scheme is CreditScheme.FAGSKOLEPOENG
    assert record.specification.nkr_level == "5.1" and record.specification.eqf_level == 5


def test_dates_are_read_liberally_with_warnings() -> None:
    los = course(date=" 2024-06-10+02:00 ")
    result = extract(doc(los=los))
    assert str(result.records[0].completed_on) == "2024-06-10"
    assert "elmo.date_whitespace" in result.warning_codes()
    bad = extract(doc(los=course(date="tiende juni")))
    assert bad.records[0].completed_on is None and "elmo.date_invalid" in bad.warning_codes()


def test_version_two_is_told_by_date_of_birth() -> None:
    data = doc().replace(b"</familyName>", b"</familyName><dateOfBirth>1990-01-20</dateOfBirth>")
    data = data.replace(b"<issueDate>", course().encode() + b"<issueDate>")
    result = extract(data)
    assert result.facts.details["elmo_versions"] == {"2.0": 1}
    assert str(result.records[0].person.birth_date) == "1990-01-20"


def test_attachments_are_kept_as_raw_bytes_by_reference() -> None:
    pdf = b"%PDF-1.4 a diploma, never rendered"
    content = base64.b64encode(pdf).decode()
    los = course(extra="<attachments><ref>D1</ref><ref>G1</ref></attachments>")
    report_attachment = (
        f"<attachment><identifier type='internal'>D1</identifier><title xml:lang='en'>Diploma</title>"
        f"<type>Diploma</type><content>data:application/pdf;base64,{content}</content></attachment>"
    )
    global_attachment = (
        "<attachment><identifier type='internal'>G1</identifier><title>Note</title>"
        "<content>data:text/plain,hello%20there</content></attachment>"
    )
    record = one(doc(los=los, report_tail=report_attachment, tail=global_attachment))
    assert [(a.media_type, a.content, a.title) for a in record.attachments] == [
        ("application/pdf", pdf, "Diploma"),
        ("text/plain", b"hello there", "Note"),
    ]


def test_source_keys_do_not_depend_on_position_or_whitespace() -> None:
    a, b = course(code="A1"), course(code="B2", grade="C")
    first = extract(doc(los=a + b)).records
    second = extract(doc(los=b + "\n   " + a).replace(b"<resultLabel>", b"<resultLabel> ")).records
    assert {r.source_key for r in first} == {r.source_key for r in second}
    assert all("01010112345" not in r.source_key for r in first)  # no national id in a key


def test_retake_in_another_term_is_another_result() -> None:
    result = extract(doc(los=course(grade="F", status="failed", date="2023-12-10") + course(grade="C")))
    assert len({r.source_key for r in result.records}) == 2


def test_identical_duplicate_in_one_report_is_kept_apart_with_a_warning() -> None:
    result = extract(doc(los=course() + course()))
    assert len({r.source_key for r in result.records}) == 2
    assert "elmo.duplicate_result" in result.warning_codes()


def test_many_learners_in_one_file() -> None:
    elmo = doc(los=course()).decode()
    batch = f"<batch xmlns='urn:example:batch'>{elmo}{elmo.replace('01010112345', '02020212345')}</batch>"
    result = extract(batch.encode())
    assert len(result.records) == 2 and result.facts.details["learners"] == 2
    assert result.records[0].source_key != result.records[1].source_key


def test_record_refs_and_messages_never_carry_the_national_id() -> None:
    result = extract(doc(issuer="<identifier type='national'>UMU</identifier><title>U</title>", los=course()))
    assert [e.code for e in result.errors] == ["elmo.issuer_unidentified"]
    assert "01010112345" not in result.errors[0].message + result.errors[0].record


@pytest.mark.parametrize(("grade", "status"), [("F", None), ("Ikke bestått", None), ("7", "failed")])
def test_a_failed_result_counts_no_credits(grade: str, status: str | None) -> None:
    result = extract(doc(los=course(grade=grade, status=status, credits="10")))
    record = result.records[0]
    assert record.credits is None and record.specification.credits == 10
    assert record.details is not None and record.details["credits_as_delivered"] == "10"
    assert "elmo.credits_on_fail" in result.warning_codes()


def test_a_result_without_a_grade_keeps_its_pass_from_status() -> None:
    assert one(doc(los=course(grade=None))).details["passed"] is True  # absent status: passed
    assert one(doc(los=course(grade=None, status="failed"))).details["passed"] is False
    assert "passed" not in one(doc(los=course(grade=None, status="in-progress"))).details
