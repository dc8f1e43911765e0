"""Property-based fuzzing of the national-id and organisation-number validators."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from register.identifiers import (
    InvalidNin,
    is_valid_orgnr,
    nin_check_digits,
    nin_check_rule,
    orgnr_check_digit,
    parse_nin,
)
from tests.fuzz.profile import FUZZ, TIMEOUT

pytestmark = [pytest.mark.fuzz, TIMEOUT]

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
any_text = st.one_of(
    st.text(max_size=40),
    st.text(
        alphabet="0123456789 \t٠١٢٣٤٥٦٧٨٩０１２３", max_size=15
    ),  # Arabic-Indic and full-width digits too
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
)


@FUZZ
@given(any_text, st.booleans())
def test_parse_nin_either_accepts_eleven_ascii_digits_or_raises_its_own_error(
    raw: str, synthetic: bool
) -> None:
    try:
        nin = parse_nin(raw, allow_synthetic=synthetic)
    except InvalidNin as exc:
        assert exc.problem.code in {
            "nin.format",
            "nin.date_part",
            "nin.checksum",
            "nin.synthetic_not_allowed",
        }
        assert not (len(raw.strip()) >= 9 and raw.strip() in exc.problem.message)  # never quotes the number
        return
    assert len(nin.value) == 11 and nin.value.isascii() and nin.value.isdigit()
    assert nin_check_rule(nin.value) is not None


@FUZZ
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_numbers_built_with_the_check_digits_pass_the_check(first_nine: str) -> None:
    check = nin_check_digits(first_nine)
    if check is not None:
        assert nin_check_rule(first_nine + check) is not None


@FUZZ
@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 10), st.integers(1, 9))
def test_every_single_digit_error_in_a_nin_is_caught(first_nine: str, position: int, delta: int) -> None:
    check = nin_check_digits(first_nine)
    if check is None:
        return
    value = first_nine + check
    wrong = value[:position] + str((int(value[position]) + delta) % 10) + value[position + 1 :]
    assert nin_check_rule(wrong) is None


@FUZZ
@given(any_text)
def test_is_valid_orgnr_never_raises_and_accepts_only_nine_ascii_digits(raw: str) -> None:
    if is_valid_orgnr(raw):
        value = raw.strip()
        assert len(value) == 9 and value.isascii() and value.isdigit()


@FUZZ
@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(0, 8), st.integers(1, 9))
def test_orgnr_check_digit_round_trips_and_catches_every_single_digit_error(
    first_eight: str, position: int, delta: int
) -> None:
    check = orgnr_check_digit(first_eight)
    if check is None:
        assert not any(is_valid_orgnr(first_eight + str(d)) for d in range(10))
        return
    value = first_eight + str(check)
    assert is_valid_orgnr(value)
    wrong = value[:position] + str((int(value[position]) + delta) % 10) + value[position + 1 :]
    assert not is_valid_orgnr(wrong)
