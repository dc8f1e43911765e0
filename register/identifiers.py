"""National identity numbers and organisation numbers.

Fødselsnummer (birth number) and D-nummer (for people without a birth number) have eleven digits:
six "date-like" digits, three individual digits and two mod-11 check digits. Variants mark themselves
in the date part: a D-nummer adds 4 to the first digit, an H-nummer (assistance number) adds 40 to the
month, and Skatteetaten's Tenor test population adds 80 to the month (synthetic test numbers).

Rule of the register: the number is an identifier, nothing more. Birth date and gender are never derived
from it; the date part is read only to tell which kind of number it is.

From 2032 Skatteetaten may issue numbers whose first check digit follows a relaxed rule (the weighted
remainder may be 0, 1, 2 or 3 instead of only 0). Both rules are accepted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


class NinKind(enum.StrEnum):
    FODSELSNUMMER = "fnr"
    D_NUMMER = "dnr"
    H_NUMMER = "hnr"
    SYNTHETIC = "synthetic"


class NinRule(enum.StrEnum):
    """Which check-digit rule a number satisfied."""

    CLASSIC = "classic"  # the rule in force until 2032
    RULE_2032 = "2032"  # only the relaxed first check digit


@dataclass(frozen=True, slots=True)
class NinProblem:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Nin:
    value: str
    kind: NinKind
    rule: NinRule


class InvalidNin(ValueError):
    def __init__(self, problem: NinProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def nin_check_rule(value: str) -> NinRule | None:
    """Which check-digit rule an 11-digit string satisfies, or None if neither."""
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        return None
    k1, k2 = int(value[9]), int(value[10])
    if (_weighted(value[:10], _K2_WEIGHTS) + k2) % 11 != 0:
        return None  # the second check digit is the same under both rules
    remainder = (_weighted(value[:9], _K1_WEIGHTS) + k1) % 11
    if remainder == 0:
        return NinRule.CLASSIC
    if remainder in (1, 2, 3):
        return NinRule.RULE_2032
    return None


def _kind_of(value: str) -> NinKind | None:
    day, month = int(value[0:2]), int(value[2:4])
    kind = NinKind.FODSELSNUMMER
    if day > 40:
        kind, day = NinKind.D_NUMMER, day - 40
    if month > 80:
        kind, month = NinKind.SYNTHETIC, month - 80
    elif month > 40:
        # D + H at once does not exist
        if kind is NinKind.D_NUMMER:
            return None
        kind, month = NinKind.H_NUMMER, month - 40
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    return kind


def parse_nin(raw: str, *, allow_synthetic: bool) -> Nin:
    """Validate a fødselsnummer, D-nummer, H-nummer or (when allowed) a synthetic test number.

    Raises InvalidNin with a stable code: ``nin.format``, ``nin.date_part``, ``nin.checksum`` or
    ``nin.synthetic_not_allowed``.
    """
    value = raw.strip().replace(" ", "")
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        raise InvalidNin(NinProblem("nin.format", "a national identity number has exactly 11 digits"))
    kind = _kind_of(value)
    if kind is None:
        raise InvalidNin(
            NinProblem("nin.date_part", "the first six digits are not a valid date part for any number kind")
        )
    rule = nin_check_rule(value)
    if rule is None:
        raise InvalidNin(
            NinProblem("nin.checksum", "the check digits do not match (mod-11, classic or 2032 rule)")
        )
    if kind is NinKind.SYNTHETIC and not allow_synthetic:
        raise InvalidNin(
            NinProblem(
                "nin.synthetic_not_allowed",
                "synthetic test numbers (month + 80) are not accepted by this register"
                " (REGISTER_ALLOW_SYNTHETIC_IDS is off)",
            )
        )
    return Nin(value=value, kind=kind, rule=rule)


def nin_check_digits(first_nine: str) -> str | None:
    """The two classic check digits for nine digits, or None if the first would be 10 (no valid number)."""
    k1 = (11 - _weighted(first_nine, _K1_WEIGHTS) % 11) % 11
    if k1 == 10:
        return None
    k2 = (11 - _weighted(first_nine + str(k1), _K2_WEIGHTS) % 11) % 11
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def is_valid_orgnr(raw: str) -> bool:
    """Organisasjonsnummer: nine digits, mod-11 with weights 3 2 7 6 5 4 3 2; remainder 1 is invalid."""
    value = raw.strip()
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        return False
    remainder = _weighted(value[:8], _ORGNR_WEIGHTS) % 11
    if remainder == 1:
        return False
    check = 0 if remainder == 0 else 11 - remainder
    return check == int(value[8])


def orgnr_check_digit(first_eight: str) -> int | None:
    remainder = _weighted(first_eight, _ORGNR_WEIGHTS) % 11
    if remainder == 1:
        return None
    return 0 if remainder == 0 else 11 - remainder
