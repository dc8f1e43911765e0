"""GraphQL types of the analysts' statistics (the same cells as GET /v1/stats/achievements)."""

from __future__ import annotations

import enum

import strawberry

from api.graphql.reference_types import Credits
from register import sectors
from register.disclosure import RULE
from register.stats import ProviderRef, StatsCellView


@strawberry.enum(description="What a statistics table is grouped by")
class StatsDimension(enum.Enum):
    SECTOR = "sector"
    YEAR = "year"
    PROVIDER = "provider"
    LEVEL = "level"
    FIELD = "field"
    NUS = "nus"
    GRADE = "grade"
    GENDER = "gender"
    AGE_GROUP = "age_group"
    COUNTY = "county"


@strawberry.enum(description="A statistics table as a document (statsTable)")
class StatsFormat(enum.Enum):
    JSON_STAT = "json-stat"
    CSV_NB = "csv-nb"
    CSV_EN = "csv-en"


@strawberry.enum(description="The language of a document's labels")
class StatsLanguage(enum.Enum):
    NB = "nb"
    EN = "en"


@strawberry.input
class GradeKeyInput:
    scheme: str
    value: str


@strawberry.input(description="Equality filters; several filters narrow together")
class StatsFilter:
    sector: sectors.Sector | None = None
    year: int | None = None
    provider: str | None = strawberry.field(default=None, description="orgnr of the awarding organisation")
    level: str | None = strawberry.field(default=None, description="NKR level")
    field: str | None = strawberry.field(default=None, description="ISCED-F code")
    nus: str | None = strawberry.field(default=None, description="NUS code")
    grade: GradeKeyInput | None = None
    years: list[int] | None = strawberry.field(
        default=None, description="several years; not grouped by year, their persons are counted once"
    )
    year_from: int | None = strawberry.field(default=None, description="a range of years, with yearTo")
    year_to: int | None = None
    gender: str | None = strawberry.field(default=None, description="female or male")
    age_group: str | None = strawberry.field(
        default=None, description="0-19, 20-24, 25-29, 30-39, 40-49, 50+"
    )
    county: str | None = strawberry.field(default=None, description="the provider's county (SSB's code)")


@strawberry.type
class StatsProvider:
    orgnr: str | None
    name: str


@strawberry.type
class GradeKey:
    scheme: str
    value: str | None


@strawberry.type(
    description="One cell: null counts and suppressed = true where persons < the threshold; otherwise "
    "perturbed = true and the figures carry cell-key noise (" + RULE + ")"
)
class StatsCell:
    sector: str | None
    year: int | None
    provider: StatsProvider | None
    level: str | None
    field: str | None
    nus: str | None
    grade: GradeKey | None
    gender: str | None
    age_group: str | None
    county: str | None
    achievements: int | None = strawberry.field(description="perturbed: within ±4 of the count")
    persons: int | None = strawberry.field(description="distinct persons, perturbed: within ±4")
    credits: list[Credits] | None = strawberry.field(
        description="sums per credit scheme, perturbed: within ±max(10 %, 10)"
    )
    suppressed: bool
    perturbed: bool = strawberry.field(description="the figures carry cell-key noise")

    @classmethod
    def of(cls, cell: StatsCellView) -> StatsCell:
        key = cell.key
        provider = key.get("provider")
        grade = key.get("grade")
        return cls(
            sector=key.get("sector"),
            year=key.get("year"),
            provider=StatsProvider(orgnr=provider.orgnr, name=provider.name)
            if isinstance(provider, ProviderRef)
            else None,
            level=key.get("level"),
            field=key.get("field"),
            nus=key.get("nus"),
            grade=GradeKey(scheme=grade[0], value=grade[1]) if grade is not None else None,
            gender=key.get("gender"),
            age_group=key.get("age_group"),
            county=key.get("county"),
            achievements=cell.achievements,
            persons=cell.persons,
            credits=[Credits(value=float(v), scheme=s) for s, v in sorted(cell.credits.items())]
            if cell.credits is not None
            else None,
            suppressed=cell.suppressed,
            perturbed=cell.perturbed,
        )
