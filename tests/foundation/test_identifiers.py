from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from register.identifiers import (
    InvalidNin,
    NinKind,
    NinRule,
    is_valid_orgnr,
    nin_check_digits,
    nin_check_rule,
    orgnr_check_digit,
    parse_nin,
)

digits = st.text(alphabet="0123456789", min_size=0, max_size=14)


def test_skatteetaten_2032_example_passes_only_the_new_rule() -> None:
    nin = parse_nin("30108299939", allow_synthetic=False)
    assert nin.rule is NinRule.RULE_2032
    assert nin.kind is NinKind.FODSELSNUMMER


def complete(date_part: str) -> str:
    """A number with this date part and the first individual digits that give valid check digits."""
    for individual in range(1000):
        check = nin_check_digits(f"{date_part}{individual:03d}")
        if check is not None:
            return f"{date_part}{individual:03d}{check}"
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("date_part", "kind"),
    [
        ("150195", NinKind.FODSELSNUMMER),
        ("550195", NinKind.D_NUMMER),  # day + 40
        ("155195", NinKind.H_NUMMER),  # month + 40
        ("159195", NinKind.SYNTHETIC),  # month + 80
    ],
)
def test_kinds(date_part: str, kind: NinKind) -> None:
    nin = parse_nin(complete(date_part), allow_synthetic=True)
    assert (nin.kind, nin.rule) == (kind, NinRule.CLASSIC)


def test_synthetic_numbers_need_the_setting() -> None:
    nin = complete("159195")  # month 91 = November + 80
    assert parse_nin(nin, allow_synthetic=True).kind is NinKind.SYNTHETIC
    with pytest.raises(InvalidNin) as exc:
        parse_nin(nin, allow_synthetic=False)
    assert exc.value.problem.code == "nin.synthetic_not_allowed"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1234567891", "nin.format"),
        ("123456789012", "nin.format"),
        ("1501951234a", "nin.format"),
        ("00019512345", "nin.date_part"),
        ("15139512345", "nin.date_part"),
        ("12345678910", "nin.date_part"),  # Sikt's sample learner id: month 34 exists in no kind
        ("15019512345", "nin.checksum"),
    ],
)
def test_invalid_numbers_have_a_stable_code(value: str, code: str) -> None:
    with pytest.raises(InvalidNin) as exc:
        parse_nin(value, allow_synthetic=True)
    assert exc.value.problem.code == code
    assert value not in str(exc.value)  # the number itself is never in a message


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_computed_check_digits_always_validate(first_nine: str) -> None:
    check = nin_check_digits(first_nine)
    if check is not None:
        assert nin_check_rule(first_nine + check) is NinRule.CLASSIC


@given(st.text(alphabet="0123456789", min_size=11, max_size=11), st.integers(0, 10), st.integers(1, 9))
def test_changing_one_digit_breaks_a_valid_number(number: str, position: int, delta: int) -> None:
    check = nin_check_digits(number[:9])
    if check is None:
        return
    valid = number[:9] + check
    changed = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1 :]
    # The second check digit catches every single-digit change (weights are non-zero mod 11).
    assert nin_check_rule(changed) is None


@given(digits)
def test_parse_never_raises_anything_but_invalid_nin(value: str) -> None:
    with contextlib.suppress(InvalidNin):
        parse_nin(value, allow_synthetic=True)


def test_orgnr() -> None:
    assert is_valid_orgnr("974760673")  # Brønnøysundregistrene
    assert not is_valid_orgnr("974760674")
    assert not is_valid_orgnr("97476067")
    assert not is_valid_orgnr("97476067a")


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_orgnr_check_digit_round_trip(first_eight: str) -> None:
    check = orgnr_check_digit(first_eight)
    if check is None:
        assert not any(is_valid_orgnr(first_eight + str(d)) for d in range(10))
    else:
        assert is_valid_orgnr(first_eight + str(check))
        assert sum(is_valid_orgnr(first_eight + str(d)) for d in range(10)) == 1


def test_distinct_synthetic_numbers_are_valid_distinct_and_seeded() -> None:
    import itertools

    from register.synthetic import distinct_synthetic_nins

    numbers = list(itertools.islice(distinct_synthetic_nins(7), 50_000))
    assert len(set(numbers)) == len(numbers)
    assert all(parse_nin(n, allow_synthetic=True).kind is NinKind.SYNTHETIC for n in numbers[:2000])
    assert numbers[:10] == list(itertools.islice(distinct_synthetic_nins(7), 10))
    assert numbers[:10] != list(itertools.islice(distinct_synthetic_nins(8), 10))
