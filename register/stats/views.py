"""What an answer is made of: cells, their keys, and the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from register import disclosure


@dataclass(frozen=True, slots=True)
class ProviderRef:
    orgnr: str | None
    name: str
    name_en: str | None = None


@dataclass(slots=True)
class StatsCellView:
    """One cell. ``key`` holds the grouped dimensions' values (``None`` = not recorded)."""

    key: dict[str, Any]
    achievements: int | None
    persons: int | None
    credits: dict[str, Decimal] | None  # credit scheme → sum; never added across schemes
    suppressed: bool = False
    perturbed: bool = False  # the figures carry the cell-key noise of register.disclosure


@dataclass(frozen=True, slots=True)
class StatsResult:
    group_by: list[str]
    filters: dict[str, Any]
    threshold: int
    cells: list[StatsCellView] = field(default_factory=list)
    rule: str = disclosure.RULE  # what the figures are, told to the analyst with them
