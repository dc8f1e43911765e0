"""Disclosure control for the statistics: the cell-key method, consistent across every table.

Suppression alone protects one table against its own margins, not against an analyst who combines
tables (issue 14: micro 8 in the sector table minus the one provider shown with 6 in the provider table
gave the hidden 2 exactly). So every published figure carries noise, and the noise is a function of
*who* is in the cell, not of the question asked:

- every person and every achievement has a fixed record key, a 64-bit hash of its id under the
  register's secret seed (``stats_state.key_seed``, random per database), computed when the summary
  tables are refreshed;
- a cell's keys are the sums of its persons' keys and of its achievements' keys modulo 2³²
  (``stats_cell.person_key`` / ``achievement_key``, kept current by the refresh like the counts; a
  person counts once per cell, as in ``persons``);
- a figure's perturbation is drawn from the cell key (a keyed hash per figure, so persons,
  achievements and each credit scheme get independent draws): the same set of contributors always
  gets the same noise, in whatever table, with whatever filter, over REST or GraphQL. Asking again
  gives the same answer, so averaging repeated asks gains nothing, and two cells holding the same
  people agree, so no difference of them reveals noise.

The p-table (what a draw becomes): counts (persons, achievements) get an integer uniform on
−``COUNT_NOISE``…+``COUNT_NOISE`` (variance 20/3, sd 2.6); credits get a uniform on ±max(10 % of the
sum, ``CREDIT_NOISE_FLOOR``), rounded to a half credit, never below 0. Bounded on purpose: an analyst
can rely on a published count being within 4 of the truth.

Suppression stays on top: a cell whose true *or* perturbed number of persons is under the threshold
is suppressed, then the secondary suppression of ``register.stats`` runs as before.

Why ±4 and not ±2: a hidden figure is estimated by differencing figures that each carry a draw of
sd 2.6; draws of one population cancel, but then so do their true values, so every estimate of a
hidden count keeps at least one draw (usually two: a margin and an inner cell, sd 3.7). To know a count
to within ±2 at 95 % an attacker needs a standard error of 1: the average of more than 6 independent
one-draw derivations of the same cell, or 13 two-draw ones. The tables of this API give far fewer
(tests/api/test_stats_attack.py measures it: the smallest standard error it reaches is 2.5). With ±2
noise (sd 1.4) two derivations would do. The limits are in docs/privacy.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

#: cell keys are sums of record keys modulo this (stored in ``stats_cell``; 2³² keeps sums in a bigint)
KEY_MODULUS = 2**32
#: a published count is the true count plus an integer uniform on −COUNT_NOISE…+COUNT_NOISE
COUNT_NOISE = 4
#: credits: ± this share of the sum, and at least ± CREDIT_NOISE_FLOOR credits
CREDIT_NOISE_SHARE = Decimal("0.10")
CREDIT_NOISE_FLOOR = Decimal("10")

#: what an analyst is told with every table (REST ``disclosure_control``, GraphQL field descriptions)
RULE = (
    "Published figures are perturbed by the cell-key method: persons and achievements by an integer "
    f"within ±{COUNT_NOISE}, credits by up to ±max({int(CREDIT_NOISE_SHARE * 100)} %, "
    f"{CREDIT_NOISE_FLOOR:g}) — the same cell always shows the same figures, in every table. Cells with "
    "fewer persons than the threshold (true or perturbed) are suppressed, and further cells with them so "
    "that no line of a table has a lone suppressed cell. Cells do not add up exactly to their totals."
)


def _draw(cell_key: int, figure: str) -> float:
    """A uniform number in [0, 1) fixed by the cell key and which figure of the cell it perturbs."""
    digest = hashlib.blake2b(f"{figure}:{cell_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def count_noise(cell_key: int, figure: str) -> int:
    return int(_draw(cell_key, figure) * (2 * COUNT_NOISE + 1)) - COUNT_NOISE


def credit_amplitude(value: Decimal | float) -> Decimal:
    return max(Decimal(value) * CREDIT_NOISE_SHARE, CREDIT_NOISE_FLOOR)


def credit_noise_variance(value: Decimal | float) -> float:
    """The variance of the credit perturbation of a sum of about ``value`` (uniform on ±amplitude)."""
    return float(credit_amplitude(value)) ** 2 / 3


def perturb_credits(value: Decimal, cell_key: int, scheme: str) -> Decimal:
    noise = (Decimal(_draw(cell_key, f"credits:{scheme}")) * 2 - 1) * credit_amplitude(value)
    halves = ((value + noise) * 2).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return max(halves / 2, Decimal(0)).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Perturbed:
    persons: int
    achievements: int
    credits: dict[str, Decimal]


def perturb(
    *, persons: int, achievements: int, credits: dict[str, Any], person_key: int, achievement_key: int
) -> Perturbed:
    """The published figures of one cell: persons from the persons' cell key, the rest from the achievements'."""
    shown_persons = persons + count_noise(person_key, "persons")
    # Never fewer achievements than persons shown: every person in a cell holds one at least.
    shown_achievements = max(achievements + count_noise(achievement_key, "achievements"), shown_persons)
    return Perturbed(
        persons=shown_persons,
        achievements=shown_achievements,
        credits={
            scheme: perturb_credits(Decimal(value), achievement_key, scheme)
            for scheme, value in credits.items()
        },
    )
