"""Aggregates for analysts, from the summary tables, perturbed by cell key and with small counts suppressed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.auth import Principal, require_scope
from api.deps import EngineDep, SettingsDep
from api.openapi import documented
from api.openapi import examples as ex
from api.params import value_set
from register import stats
from register.redaction import redact
from register.scopes import Scope
from register.sectors import Sector

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
    # Every filter takes several values (year=2024&year=2025): each value its own cells (api/params.py).
    sector: list[Sector] | None = Query(default=None),
    year: list[Annotated[int, Field(ge=1900, le=2200)]] | None = Query(default=None),
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
    *,
    principal: Annotated[Principal, Depends(require_scope(Scope.STATS))],
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    dims = stats.parse_group_by(group_by)
    filters: dict[str, Any] = {
        "sector": value_set([s.value for s in sector] if sector else None),
        "year": value_set(year),
        "provider": value_set(provider),
        "level": value_set(level),
        "field": value_set(field),
        "nus": value_set(nus),
        "grade": value_set(grade),
    }
    threshold = settings.suppression_threshold
    key = (tuple(dims), tuple(filters.items()), threshold)

    def compute() -> bytes:
        result = stats.achievement_stats(
            conn,
            group_by=dims,
            filters=filters,
            threshold=threshold,
            on_demand_seconds=settings.stats_on_demand_seconds,
        )
        return _encode(result)

    # Its own transaction, not the unit of work (api/deps.py): one REPEATABLE READ snapshot, so the
    # cache's version and the answer computed under it are read from the same state.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        body = stats.cached_answer(conn, _answers(request), key, compute)
    return Response(body, media_type="application/json")


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
