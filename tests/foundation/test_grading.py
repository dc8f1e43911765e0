from __future__ import annotations

import pytest

from register.grading import SCALES, GradeScheme, UnknownGrade, normalize_grade


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
