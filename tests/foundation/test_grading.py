from __future__ import annotations

import pytest

from register.grading import SCALES, GradeScheme, UnknownGrade, normalize_grade, recognise_scale


@pytest.mark.parametrize(
    ("scheme", "raw", "value", "passed"),
    [
        (GradeScheme.NUMERIC_1_6, "6", "6", True),
        (GradeScheme.NUMERIC_1_6, "1", "1", False),
        (GradeScheme.NUMERIC_1_6, "IV", "IV", False),
        (GradeScheme.NUMERIC_1_6, "Fritatt", "fritatt", None),
        (GradeScheme.A_F, "b", "B", True),
        (GradeScheme.A_F, "F", "F", False),
        (GradeScheme.PASS_FAIL, "Bestått", "bestått", True),
        (GradeScheme.PASS_FAIL, "passed", "bestått", True),
        (GradeScheme.PASS_FAIL, "ikke  bestått", "ikke bestått", False),
        (GradeScheme.CONDUCT, "NG", "NG", True),
        (GradeScheme.TRADE, "Bestått meget godt", "bestått meget godt", True),
    ],
)
def test_grades_normalize(scheme: GradeScheme, raw: str, value: str, passed: bool | None) -> None:
    grade = normalize_grade(scheme, raw)
    assert (grade.value, grade.passed) == (value, passed)


@pytest.mark.parametrize(
    ("scheme", "raw"),
    [
        (GradeScheme.NUMERIC_1_6, "7"),
        (GradeScheme.NUMERIC_1_6, "A"),
        (GradeScheme.A_F, "G"),
        (GradeScheme.CONDUCT, "4"),
    ],
)
def test_grades_off_the_scale_are_refused(scheme: GradeScheme, raw: str) -> None:
    with pytest.raises(UnknownGrade, match="not on the"):
        normalize_grade(scheme, raw)


def test_every_scale_value_has_a_pass_fail() -> None:
    for scheme, scale in SCALES.items():
        for grade in scale.values():
            assert grade.passed in (True, False, None), (scheme, grade)


# --- the scales of the countries EMREX connects (issue 13, item 7) ------------------------------------

FOREIGN_GRADES = [
    (GradeScheme.DK_7, "12", "12", True),
    (GradeScheme.DK_7, "02", "02", True),
    (GradeScheme.DK_7, "2", "02", True),
    (GradeScheme.DK_7, "00", "00", False),
    (GradeScheme.DK_7, "-3", "-3", False),
    (GradeScheme.SE_U_G_VG, "VG", "VG", True),
    (GradeScheme.SE_U_G_VG, "u", "U", False),
    (GradeScheme.ECTS, "E", "E", True),
    (GradeScheme.ECTS, "Fx", "FX", False),
    (GradeScheme.ECTS, "F", "F", False),
    (GradeScheme.FI_0_5, "1", "1", True),
    (GradeScheme.FI_0_5, "0", "0", False),
    (GradeScheme.FI_PASS_FAIL, "Hyväksytty", "hyväksytty", True),
    (GradeScheme.FI_PASS_FAIL, "Hylätty", "hylätty", False),
    (GradeScheme.FI_PASS_FAIL, "Godkänd", "hyväksytty", True),
    (GradeScheme.FI_PASS_FAIL, "underkänd", "hylätty", False),
    (GradeScheme.DE_1_5, "1,0", "1,0", True),
    (GradeScheme.DE_1_5, "4.0", "4,0", True),
    (GradeScheme.DE_1_5, "5,0", "5,0", False),
    (GradeScheme.DE_1_5, "5", "5,0", False),
    (GradeScheme.PL_2_5, "2", "2", False),
    (GradeScheme.PL_2_5, "3,5", "3.5", True),
    (GradeScheme.PL_2_5, "5.0", "5", True),
    (GradeScheme.NL_1_10, "5.4", "5.4", False),
    (GradeScheme.NL_1_10, "5,5", "5.5", True),
    (GradeScheme.NL_1_10, "6", "6", True),
    (GradeScheme.NL_1_10, "10.0", "10", True),
]


@pytest.mark.parametrize(("scheme", "raw", "canonical", "passed"), FOREIGN_GRADES)
def test_foreign_scales_decide_pass_and_fail(
    scheme: GradeScheme, raw: str, canonical: str, passed: bool
) -> None:
    grade = normalize_grade(scheme, raw)
    assert (grade.value, grade.passed) == (canonical, passed)


@pytest.mark.parametrize(
    ("value", "country", "description", "expected"),
    [
        ("00", "DK", None, GradeScheme.DK_7),
        ("B", "DK", None, GradeScheme.ECTS),  # not on the 7-point scale: the ECTS letters
        ("Hylätty", "FI", None, GradeScheme.FI_PASS_FAIL),
        ("7", None, "Karakter efter 7-trinsskalaen", GradeScheme.DK_7),  # the description names the scale
        ("3", "FI", None, GradeScheme.FI_0_5),
        ("VG", "SE", None, GradeScheme.SE_U_G_VG),
        ("Fx", "SE", None, GradeScheme.ECTS),
        ("1,7", "DE", None, GradeScheme.DE_1_5),
        ("4.5", "PL", None, GradeScheme.PL_2_5),
        ("7.5", "NL", None, GradeScheme.NL_1_10),
        ("B", "NO", None, GradeScheme.A_F),
        ("B", None, None, GradeScheme.A_F),
        ("30/30", "IT", None, GradeScheme.EXTERNAL),
        ("7", None, None, GradeScheme.EXTERNAL),
    ],
)
def test_recognise_scale(
    value: str, country: str | None, description: str | None, expected: GradeScheme
) -> None:
    assert recognise_scale(value, country, description) is expected
