"""The query root and the schema: the same reads, scopes and suppression as REST.

``person`` needs ``kompetanse:read``, ``stats`` needs ``kompetanse:stats`` (checked before any
argument is looked at, so a caller without the scope learns nothing); ``organisation`` and
``specification`` are reference data, open to any scope of the register. No mutations: providers
upload through REST or the CLI.
"""

from __future__ import annotations

import re

import strawberry
from graphql import GraphQLError
from sqlalchemy import Connection
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from api.errors import ApiError
from api.graphql.context import GraphContext
from api.graphql.errors import log_errors
from api.graphql.execution import FastExecutor
from api.graphql.limits import Limits, NoIntrospection, limits_extension
from api.graphql.reference_types import Organisation, Specification
from api.graphql.stats_types import StatsCell, StatsDimension, StatsFilter, StatsFormat, StatsLanguage
from api.graphql.types import DEFAULT_PAGE, Person, PersonName
from register import stats as register_stats
from register.errors import NotFound
from register.persons import person_not_found
from register.scopes import Scope
from register.settings import Settings
from register.stats import outputs

#: a document longer than this many tokens is not even parsed to the end
MAX_TOKENS = 4000
#: distinct documents whose parse and validation results are kept (least recently used go first)
DOCUMENT_CACHE = 256

Info = strawberry.Info[GraphContext, None]


@strawberry.type
class Query:
    @strawberry.field(
        description="A person by national identity number (fødselsnummer, D- or H-nummer). Scope "
        "kompetanse:read. Send the number in the POST body (best as a variable), never in a URL."
    )
    async def person(self, info: Info, nin: str) -> Person | None:
        context = info.context
        context.require(Scope.READ)
        try:
            person_id = await context.loaders.person_id.load(nin)
        except NotFound:
            context.audit.unknown()  # an existence probe leaves a trace, as REST's 404 does
            raise
        record = await context.loaders.person.load(person_id)
        if record is None:  # the identifier row outlived its person: as REST, treat as unknown
            context.audit.unknown()
            raise person_not_found()
        context.audit.person(person_id)
        return Person(
            id=record.id,
            name=PersonName(given=record.given_name, family=record.family_name),
            birth_date=record.birth_date,
        )

    @strawberry.field(description="An organisation by organisasjonsnummer. Any register scope.")
    async def organisation(self, info: Info, orgnr: str) -> Organisation | None:
        info.context.require(Scope.READ, Scope.STATS, Scope.WRITE, Scope.ADMIN)
        if not (len(orgnr) == 9 and orgnr.isdigit()):
            raise ApiError(422, "request.invalid", "orgnr must be nine digits")
        view = await info.context.loaders.organisation_by_orgnr.load(orgnr)
        if view is None:
            raise ApiError(404, "organisation.not_found", f"organisation {orgnr} is not registered")
        return Organisation.of_view(view)

    @strawberry.field(
        description="A learning specification by its id (as given on achievements). Any register scope."
    )
    async def specification(self, info: Info, id: int) -> Specification | None:
        info.context.require(Scope.READ, Scope.STATS, Scope.WRITE, Scope.ADMIN)
        view = await info.context.loaders.specification.load(id)
        if view is None:
            raise ApiError(404, "specification.not_found", f"no learning specification has id {id}")
        return Specification.of(view)

    @strawberry.field(
        description="Counts, distinct persons and credits per scheme, grouped, perturbed by cell key, with "
        "suppression — the same "
        "cells as GET /v1/stats/achievements. Scope kompetanse:stats."
    )
    async def stats(
        self, info: Info, group_by: list[StatsDimension], filter: StatsFilter | None = None
    ) -> list[StatsCell]:
        result = await _stats_result(info, group_by, filter)
        return [StatsCell.of(cell) for cell in result.cells]

    @strawberry.field(
        description="The same table as stats, as a document: JSON-stat 2.0 or CSV (Norwegian: `;` and decimal "
        "comma; English: `,` and decimal point) — what GET /v1/stats/achievements?format=… answers. "
        "Scope kompetanse:stats."
    )
    async def stats_table(
        self,
        info: Info,
        group_by: list[StatsDimension],
        format: StatsFormat,
        filter: StatsFilter | None = None,
        lang: StatsLanguage | None = None,
    ) -> str:
        result = await _stats_result(info, group_by, filter)
        if format is StatsFormat.JSON_STAT:
            return outputs.json_stat_bytes(result, (lang or StatsLanguage.EN).value).decode()
        return outputs.csv_text(result, "nb" if format is StatsFormat.CSV_NB else "en")


async def _stats_result(
    info: Info, group_by: list[StatsDimension], filter: StatsFilter | None
) -> register_stats.StatsResult:
    """One statistics answer, from the per-request context's cache (the same for every output)."""
    context = info.context
    context.require(Scope.STATS)
    # The register's own parsing, so a repeated dimension is refused with REST's code.
    dimensions = register_stats.parse_group_by(",".join(d.value for d in group_by))
    filters = _filters(filter)
    settings = context.settings
    key = (tuple(dimensions), tuple(sorted(filters.items())), settings.suppression_threshold)

    def answer(conn: Connection) -> register_stats.StatsResult:
        return register_stats.cached_answer(
            conn,
            context.stats_results,
            key,
            lambda: register_stats.achievement_stats(
                conn,
                group_by=dimensions,
                filters=filters,
                threshold=settings.suppression_threshold,
                on_demand_seconds=settings.stats_on_demand_seconds,
            ),
        )

    return await context.db(answer)


def _filters(given: StatsFilter | None) -> dict[str, object]:
    if given is None:
        return {}
    # The same bounds as REST's query parameters.
    if given.year is not None and not 1900 <= given.year <= 2200:
        raise ApiError(422, "request.invalid", "filter.year must be between 1900 and 2200")
    years: set[int] = set(given.years or ())
    if given.year is not None:
        years.add(given.year)
    if (given.year_from is None) != (given.year_to is None):
        raise ApiError(422, "request.invalid", "filter.yearFrom and filter.yearTo go together")
    if given.year_from is not None and given.year_to is not None:
        # REST's parsing, so a range is bounded alike
        found = register_stats.parse_years(f"{given.year_from}-{given.year_to}")
        years.update(found if isinstance(found, tuple) else (found,))
    for name, value, limit in (
        ("gender", given.gender, 8),
        ("ageGroup", given.age_group, 8),
        ("county", given.county, 2),
    ):
        if value is not None and len(value) > limit:
            raise ApiError(422, "request.invalid", f"filter.{name} is longer than {limit} characters")
    if given.provider is not None and not (len(given.provider) == 9 and given.provider.isdigit()):
        raise ApiError(422, "request.invalid", "filter.provider must be an orgnr (nine digits)")
    for name, value, limit in (("level", given.level, 8), ("field", given.field, 16), ("nus", given.nus, 16)):
        if value is not None and len(value) > limit:
            raise ApiError(422, "request.invalid", f"filter.{name} is longer than {limit} characters")
    grade = None
    if given.grade is not None:
        if len(given.grade.scheme) + len(given.grade.value) > 64:
            raise ApiError(422, "request.invalid", "filter.grade is too long")
        grade = f"{given.grade.scheme}:{given.grade.value}"
    return {
        "sector": given.sector.value if given.sector is not None else None,
        "year": None if not years else (min(years) if len(years) == 1 else tuple(sorted(years))),
        "provider": given.provider,
        "level": given.level,
        "field": given.field,
        "nus": given.nus,
        "grade": grade,
        "gender": given.gender,
        "age_group": given.age_group,
        "county": given.county,
    }


#: graphql-core's suggestion of a near name ("Did you mean 'name'?"), to the end of the message
_SUGGESTION = re.compile(r"\s*Did you mean .*\Z", re.DOTALL)


class RegisterSchema(strawberry.Schema):
    #: with introspection off, an unknown field, argument, type or enum value is answered without the
    #: names it resembles: otherwise guessing near names reads the schema out one suggestion at a time
    hide_suggestions = False

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        if self.hide_suggestions:
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)
        # Strawberry would log each error with its message and traceback; a message can quote the
        # document, so only codes, paths and the request id are logged.
        context = execution_context.context if execution_context is not None else None
        log_errors(errors, getattr(context, "request_id", None))


def build_schema(settings: Settings, *, fast_execution: bool = True) -> strawberry.Schema:
    """The schema with its limits; ``fast_execution=False`` runs graphql-core's executor unchanged
    (the tests compare the two)."""
    limits = Limits(
        max_depth=settings.graphql_max_depth,
        max_cost=settings.graphql_max_cost,
        max_aliases=settings.graphql_max_aliases,
        default_page=DEFAULT_PAGE,
        max_page=settings.graphql_max_page_size,
    )
    rules: list[type] = []
    if not settings.graphql_introspection_enabled:
        rules.append(NoIntrospection)
    schema = RegisterSchema(
        query=Query,
        execution_context_class=FastExecutor if fast_execution else None,
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            # A portal sends the same few documents again and again: parse and validate each once.
            lambda: ParserCache(maxsize=DOCUMENT_CACHE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE),
            lambda: AddValidationRules(rules),
            limits_extension(limits),
        ],
    )
    schema.hide_suggestions = not settings.graphql_introspection_enabled
    return schema
