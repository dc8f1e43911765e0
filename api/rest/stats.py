"""Aggregates for analysts, from the summary tables, perturbed by cell key and with small counts suppressed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.auth import Principal, require_scope
from api.deps import EngineDep, SettingsDep, UnitOfWork
from api.openapi import documented
from api.openapi import examples as ex
from api.params import value_set
from register import stats
from register.redaction import redact
from register.scopes import Scope
from register.sectors import Sector
from register.stats import metadata, outputs

router = APIRouter(prefix="/v1", tags=["stats"])


class ProviderOut(BaseModel):
    orgnr: str | None
    name: str


class GradeKeyOut(BaseModel):
    scheme: str
    value: str | None


class StatsCellOut(BaseModel):
    sector: str | None = None
    year: int | None = None
    provider: ProviderOut | None = None
    level: str | None = Field(default=None, description='NKR level, or "EQF n" where only EQF is known')
    field: str | None = Field(default=None, description="ISCED-F field code")
    nus: str | None = Field(default=None, description="NUS code")
    grade: GradeKeyOut | None = None
    gender: str | None = Field(default=None, description="female or male, as delivered")
    age_group: str | None = Field(default=None, description="age in the result's year: 0-19, 20-24, … 50+")
    county: str | None = Field(default=None, description="the provider's county (SSB's code)")
    achievements: int | None = Field(description="null when suppressed; perturbed (within ±4) otherwise")
    persons: int | None = Field(description="distinct persons; null when suppressed; perturbed (within ±4)")
    credits: dict[str, float] | None = Field(
        description="credit scheme → sum; null when suppressed; perturbed (within ±max(10 %, 10))"
    )
    suppressed: bool
    perturbed: bool = Field(description="the figures carry cell-key noise (see disclosure_control)")


class StatsOut(BaseModel):
    group_by: list[str]
    filters: dict[str, Any]
    threshold: int = Field(description="cells with fewer persons than this are suppressed")
    disclosure_control: str = Field(description="how the figures are perturbed and suppressed")
    cells: list[StatsCellOut]


@router.get(
    "/stats/achievements",
    response_model=StatsOut,
    summary="Counts, distinct persons and credits per scheme, grouped, perturbed, with suppression",
    **documented(
        example=ex.STATS,
        errors={
            422: (
                "stats.unknown_dimension",
                "stats.repeated_dimension",
                "stats.year_filter",
                "stats.unknown_code",
                "stats.grade_filter",
                "stats.too_many_cells",
                "stats.too_expensive",
            )
        },
    ),
)
def achievements(
    request: Request,
    group_by: str | None = Query(
        default=None,
        max_length=200,
        description=f"comma-separated dimensions: {', '.join(stats.DIMENSIONS)}",
        examples=["sector,year"],
    ),
    # Filters take several values (sector=higher&sector=micro): each value its own cells
    # (api/params.py). Years are the exception: a set or range, given once or repeated, is one table
    # whose persons are counted once (register/stats/query.py); group by year for a figure per year.
    sector: list[Sector] | None = Query(default=None),
    year: list[Annotated[str, Field(max_length=200, pattern=r"^[0-9][0-9,\- ]*$")]] | None = Query(
        default=None,
        description="a year, a set (2021,2023) or a range (2020-2024); several years not grouped by year"
        " count their persons once",
        examples=["2020-2024"],
    ),
    provider: list[Annotated[str, Field(pattern=r"^\d{9}$")]] | None = Query(
        default=None, description="orgnr of the awarding organisation"
    ),
    level: list[Annotated[str, Field(max_length=8)]] | None = Query(
        default=None, description='NKR level ("5.1"), or "EQF n" where only EQF is known'
    ),
    field: list[Annotated[str, Field(max_length=16)]] | None = Query(
        default=None, description="ISCED-F code"
    ),
    nus: list[Annotated[str, Field(max_length=16)]] | None = Query(default=None, description="NUS code"),
    grade: list[Annotated[str, Field(max_length=64)]] | None = Query(
        default=None, description="SCHEME:VALUE, e.g. a-f:A"
    ),
    gender: list[Annotated[str, Field(max_length=8)]] | None = Query(
        default=None, description="female or male"
    ),
    age_group: list[Annotated[str, Field(max_length=8)]] | None = Query(
        default=None, description="0-19, 20-24, 25-29, 30-39, 40-49, 50+"
    ),
    county: list[Annotated[str, Field(max_length=2)]] | None = Query(
        default=None, description="county code (SSB), e.g. 46"
    ),
    format: Literal["json", "json-stat", "csv-nb", "csv-en"] | None = Query(
        default=None,
        description="the output: JSON (default), JSON-stat 2.0, CSV in the Norwegian (`;`, decimal comma) or"
        " English variant; overrides Accept (application/json, application/json-stat+json, text/csv with"
        " Accept-Language nb for the Norwegian variant)",
    ),
    lang: Literal["nb", "en"] | None = Query(
        default=None, description="the language of JSON-stat labels (CSV: the variant's language)"
    ),
    *,
    principal: Annotated[Principal, Depends(require_scope(Scope.STATS))],
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    dims = stats.parse_group_by(group_by)
    filters: dict[str, Any] = {
        "sector": value_set([s.value for s in sector] if sector else None),
        "year": stats.parse_years(",".join(year)) if year else None,
        "provider": value_set(provider),
        "level": value_set(level),
        "field": value_set(field),
        "nus": value_set(nus),
        "grade": value_set(grade),
        "gender": value_set(gender),
        "age_group": value_set(age_group),
        "county": value_set(county),
    }
    threshold = settings.suppression_threshold
    chosen = format or negotiate(request.headers.get("accept"), request.headers.get("accept-language"))
    language = lang or ("nb" if chosen == "csv-nb" else "en")
    key = (tuple(dims), tuple(filters.items()), threshold, chosen, language)

    def compute() -> bytes:
        result = stats.achievement_stats(
            conn,
            group_by=dims,
            filters=filters,
            threshold=threshold,
            on_demand_seconds=settings.stats_on_demand_seconds,
        )
        if chosen == "json-stat":
            return outputs.json_stat_bytes(result, language)
        if chosen in ("csv-nb", "csv-en"):
            return outputs.csv_text(result, chosen.removeprefix("csv-")).encode()
        return _encode(result)

    # Its own transaction, not the unit of work (api/deps.py): one REPEATABLE READ snapshot, so the
    # cache's version and the answer computed under it are read from the same state.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        body = stats.cached_answer(conn, _answers(request), key, compute)
    headers = {"Vary": "Accept, Accept-Language"}
    if chosen != "json":
        name = "-".join(["achievements", *dims]) + (
            ".json" if chosen == "json-stat" else f"-{chosen[4:]}.csv"
        )
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA_TYPES[chosen], headers=headers)


MEDIA_TYPES = {
    "json": "application/json",
    # JSON-stat has no media type of its own; its readers (and PxWeb, Eurostat) use application/json
    "json-stat": "application/json",
    "csv-nb": "text/csv; charset=utf-8; header=present",
    "csv-en": "text/csv; charset=utf-8; header=present",
}
_ACCEPTED = {
    "application/json-stat+json": "json-stat",
    "application/vnd.json-stat+json": "json-stat",
    "text/csv": "csv",
    "application/json": "json",
    "application/*": "json",
    "*/*": "json",
}


def negotiate(accept: str | None, accept_language: str | None) -> str:
    """The output an Accept header asks for (by its q-values); JSON where it names nothing we make.

    text/csv is the Norwegian variant when Accept-Language prefers bokmål, nynorsk or Norwegian.
    """
    offers: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media.lower() in _ACCEPTED and q > 0:
            offers.append((-q, position, _ACCEPTED[media.lower()]))
    if not offers:
        return "json"
    chosen = min(offers)[2]
    if chosen == "csv":
        first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
        return "csv-nb" if first.split("-")[0] in ("nb", "nn", "no") else "csv-en"
    return chosen


@router.get(
    "/stats",
    summary="Table of contents: the tables, their measures, dimensions and outputs",
    **documented(example=metadata.table_of_contents()),
)
def contents(principal: Annotated[Principal, Depends(require_scope(Scope.STATS))]) -> dict[str, Any]:
    return metadata.table_of_contents()


@router.get(
    "/stats/dimensions/{name}",
    summary="One dimension's codes with labels in bokmål and English",
    **documented(example=ex.STATS_DIMENSION, errors={404: "stats.unknown_dimension_metadata"}),
)
def dimension(
    name: Annotated[str, Path(max_length=32, pattern=r"^[a-z_]+$")],
    principal: Annotated[Principal, Depends(require_scope(Scope.STATS))],
    conn: UnitOfWork,
) -> dict[str, Any]:
    return metadata.dimension_out(metadata.dimension(conn, name))


def _answers(request: Request) -> stats.VersionedCache[bytes]:
    """The app's cache of encoded answers; they change only when a refresh commits."""
    cache: stats.VersionedCache[bytes] = request.app.state.stats_answers
    return cache


def _redacted(value: Any) -> Any:
    if isinstance(value, tuple):  # several values of one filter
        return [_redacted(v) for v in value]
    return redact(value) if isinstance(value, str) else value


def _encode(result: stats.StatsResult) -> bytes:
    cells = []
    for cell in result.cells:
        key: dict[str, Any] = {}
        for name, value in cell.key.items():
            if name == "provider" and value is not None:
                key[name] = ProviderOut(orgnr=value.orgnr, name=value.name)
            elif name == "grade" and value is not None:
                key[name] = GradeKeyOut(scheme=value[0], value=value[1])
            else:
                key[name] = value
        cells.append(
            StatsCellOut(
                **key,
                achievements=cell.achievements,
                persons=cell.persons,
                credits={k: float(v) for k, v in cell.credits.items()} if cell.credits is not None else None,
                suppressed=cell.suppressed,
                perturbed=cell.perturbed,
            )
        )
    # The filters are echoed as given: free-text ones (nus, grade, field) through the one redaction.
    filters = {k: _redacted(v) for k, v in result.filters.items()}
    out = StatsOut(
        group_by=result.group_by,
        filters=filters,
        threshold=result.threshold,
        disclosure_control=result.rule,
        cells=cells,
    )
    return out.model_dump_json().encode()
