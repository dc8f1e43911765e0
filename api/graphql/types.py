"""The GraphQL types: built from the register's read views (``register.queries``), never from ORM rows.

Scalars are plain attributes (the default resolver reads them); only fields that reach further —
identifiers, achievements, partOf, an organisation's codes — have resolvers, and those go through the
request's DataLoaders. Whatever person data a resolver hands out is noted in the request's audit ledger.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Annotated

import strawberry
from strawberry import Private

from api.errors import ApiError
from api.graphql.context import GraphContext, ViewKey
from api.graphql.history_types import AchievementVersion
from api.graphql.reference_types import Credits, Grade, Level, Organisation, Shared, Specification
from api.pagination import decode_cursor, encode_cursor
from register import grading, sectors
from register.queries import EVERYTHING, AchievementView, AssessmentView, PersonView, Selection

DEFAULT_PAGE = 100
# As REST's body (api/rest/persons.py): a student's choice is a handful of results.
MAX_SELECTED = 1000


@strawberry.type(description="How a school result was assessed: standpunkt or an exam, and the exam's form")
class Assessment:
    code: str = strawberry.field(description="vurderingstype as delivered: standpunkt, skriftlig_eksamen …")
    type: str = strawberry.field(description="standpunkt, exam, conduct or trade_test")
    form: str | None = strawberry.field(
        description="an exam's form: written, oral, practical or oral_practical"
    )
    title_nb: str = strawberry.field(description="the label in bokmål")
    title_en: str = strawberry.field(description="the label in English")

    @classmethod
    def of(cls, view: AssessmentView | None) -> Assessment | None:
        if view is None:
            return None
        return cls(
            code=view.code,
            type=view.type,
            form=view.form,
            title_nb=view.title["nb"],
            title_en=view.title["en"],
        )


@strawberry.type(description="One documented result of a person")
class Achievement:
    id: uuid.UUID
    sector: sectors.Sector
    kind: grading.AchievementKind
    specification: Specification
    organisation: Organisation = strawberry.field(description="the awarding organisation")
    grade: Grade | None
    credits: Credits | None = strawberry.field(description="credits awarded by this result")
    level: Level = strawberry.field(description="the level of what was achieved (from its specification)")
    completed_on: dt.date | None
    year: int | None
    term: str | None
    version: int
    assessment: Assessment | None = strawberry.field(
        description="school results: standpunkt or which exam (null for other results)"
    )
    programme: str | None = strawberry.field(
        description="utdanningsprogram of a vitnemål or kompetansebevis, as delivered"
    )
    parts: list[Achievement] = strawberry.field(
        description="the nested results: a degree's courses, a vitnemål's subjects"
    )
    view: Private[AchievementView]
    person_id: Private[uuid.UUID]
    key: Private[ViewKey]

    @classmethod
    def of(
        cls, view: AchievementView, person_id: uuid.UUID, key: ViewKey, shared: Shared | None = None
    ) -> Achievement:
        shared = shared or Shared()
        specification = Specification.of(view.specification, shared)
        return cls(
            id=view.id,
            sector=sectors.Sector(view.sector),
            kind=grading.AchievementKind(view.kind),
            specification=specification,
            organisation=shared.organisation(view.awarding_organisation),
            grade=shared.grade(view.grade),
            credits=shared.credits(view.credits, view.credit_scheme),
            level=specification.level,
            completed_on=view.completed_on,
            year=view.year,
            term=view.term,
            version=view.version,
            assessment=Assessment.of(view.assessment),
            programme=view.programme,
            parts=[cls.of(part, person_id, key, shared) for part in view.parts],
            view=view,
            person_id=person_id,
            key=key,
        )

    def graphql_resolved(self, context: GraphContext) -> None:
        """Called by the executor when any field of this achievement is given out: the audit notes it.

        Noting it here, rather than in the resolvers that return achievements, means an achievement
        reached any way (a page, ``parts``, ``partOf``) is in the audit exactly when its data left.
        """
        context.audit.gave_one(self.person_id, self.view.id)

    @strawberry.field(description="the result this one is part of (the degree of a course)")
    async def part_of(self, info: strawberry.Info[GraphContext, None]) -> Achievement | None:
        parent_id = self.view.part_of_id
        if parent_id is None:
            return None
        context = info.context
        parent = (await _index(context, self.key)).get(parent_id)
        if parent is None:
            # Left out by the filters of the list this came from: look in all valid achievements.
            unfiltered: ViewKey = (self.person_id, EVERYTHING)
            parent = (await _index(context, unfiltered)).get(parent_id)
        if parent is None:
            return None  # the parent is withdrawn
        memo = context.loaders.parents
        built: Achievement | None = memo.get((self.key, parent_id))
        if built is None:
            built = memo[(self.key, parent_id)] = Achievement.of(parent, self.person_id, self.key)
        return built

    @strawberry.field(
        description="every version of this result, oldest first: what it said, who delivered it, when"
    )
    async def versions(self, info: strawberry.Info[GraphContext, None]) -> list[AchievementVersion]:
        context = info.context
        history = await context.loaders.versions.load(self.view.id)
        context.audit.versions(self.person_id, self.view.id, [v.version for v in history.versions])
        return [AchievementVersion.of(v) for v in history.versions]


async def _index(context: GraphContext, key: ViewKey) -> dict[uuid.UUID, AchievementView]:
    index = context.loaders.indexes.get(key)
    if index is None:
        view = await context.loaders.person_view.load(key)
        index = {a.id: a for a in _walk(view.achievements)} if view is not None else {}
        context.loaders.indexes[key] = index
    return index


def _walk(nodes: list[AchievementView]) -> Iterator[AchievementView]:
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.parts))


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class AchievementEdge:
    cursor: str
    node: Achievement


@strawberry.type(description="A page of achievements (Relay connection)")
class AchievementConnection:
    total_count: int = strawberry.field(description="how many match the filters, on all pages")
    page_info: PageInfo
    edges: list[AchievementEdge]
    nodes: list[Achievement] = strawberry.field(description="the page's achievements without cursors")

    @classmethod
    def of(
        cls, page: list[AchievementView], total: int, page_info: PageInfo, person_id: uuid.UUID, key: ViewKey
    ) -> AchievementConnection:
        shared = Shared()
        nodes = [Achievement.of(a, person_id, key, shared) for a in page]
        return cls(
            total_count=total,
            page_info=page_info,
            edges=[AchievementEdge(cursor=_cursor(a), node=n) for a, n in zip(page, nodes, strict=True)],
            nodes=nodes,
        )


def _cursor(achievement: AchievementView) -> str:
    return encode_cursor("achievement", str(achievement.id))


def _page(
    items: list[AchievementView], first: int | None, after: str | None, max_page: int
) -> tuple[list[AchievementView], PageInfo]:
    size = DEFAULT_PAGE if first is None else first
    if not 0 <= size <= max_page:
        raise ApiError(422, "request.invalid", f"first must be between 0 and {max_page}")
    start = 0
    if after is not None:
        kind, ident = decode_cursor(after, 2)
        positions = {str(a.id): i for i, a in enumerate(items)}
        if kind != "achievement" or ident not in positions:
            raise ApiError(422, "request.cursor", "the cursor is not one this API handed out for this list")
        start = positions[ident] + 1
    page = items[start : start + size]
    info = PageInfo(
        has_next_page=start + size < len(items),
        has_previous_page=start > 0,
        start_cursor=_cursor(page[0]) if page else None,
        end_cursor=_cursor(page[-1]) if page else None,
    )
    return page, info


@strawberry.type
class Identifier:
    kind: str = strawberry.field(description="fnr, dnr, hnr, synthetic, esi or foreign")
    scheme: str = strawberry.field(
        description="'' for Norwegian numbers; the issuing country for foreign ids"
    )
    value: str
    valid_from: dt.date | None
    valid_to: dt.date | None


@strawberry.type
class PersonName:
    given: str | None
    family: str | None


@strawberry.type(description="A person in the register and their documented results")
class Person:
    id: uuid.UUID = strawberry.field(description="the register's internal id (not the national id)")
    name: PersonName
    birth_date: dt.date | None = strawberry.field(description="only as delivered; never derived")

    @strawberry.field
    async def identifiers(self, info: strawberry.Info[GraphContext, None]) -> list[Identifier]:
        found = await info.context.loaders.identifiers.load(self.id)
        return [
            Identifier(
                kind=i.kind, scheme=i.scheme, value=i.value, valid_from=i.valid_from, valid_to=i.valid_to
            )
            for i in found
        ]

    @strawberry.field(
        description="Valid achievements matching the filters. Without `kind`: the top level (degrees, "
        "vitnemål, results on their own), with their courses and subjects under `parts`. With `kind`: every "
        "achievement of those kinds, wherever it sits (its parent under `partOf`)."
    )
    async def achievements(
        self,
        info: strawberry.Info[GraphContext, None],
        sector: list[sectors.Sector] | None = None,
        passed_only: bool = False,
        kind: list[grading.AchievementKind] | None = None,
        first: int | None = None,
        after: str | None = None,
        ids: Annotated[
            list[uuid.UUID] | None,
            strawberry.argument(
                description="only these achievements (the student's choice); a parent chosen without its "
                "parts comes without them"
            ),
        ] = None,
        completed_from: Annotated[
            dt.date | None,
            strawberry.argument(name="from", description="only results completed on or after this date"),
        ] = None,
        completed_to: Annotated[
            dt.date | None,
            strawberry.argument(name="to", description="only results completed on or before this date"),
        ] = None,
    ) -> AchievementConnection:
        context = info.context
        if ids is not None and len(ids) > MAX_SELECTED:
            raise ApiError(422, "request.invalid", f"ids: at most {MAX_SELECTED} achievements")
        if completed_from and completed_to and completed_from > completed_to:
            raise ApiError(422, "request.invalid", "'from' is after 'to'")
        selection = Selection(
            achievements=tuple(ids) if ids is not None else None,
            sectors=tuple(sorted({s.value for s in sector})) if sector else None,
            passed_only=passed_only,
            completed_from=completed_from,
            completed_to=completed_to,
        )
        key: ViewKey = (self.id, selection)
        view: PersonView | None = await context.loaders.person_view.load(key)
        roots = view.achievements if view is not None else []
        if kind:
            wanted = {k.value for k in kind}
            items = [a for a in _walk(roots) if a.kind in wanted]
        else:
            items = roots
        page, page_info = _page(items, first, after, context.settings.graphql_max_page_size)
        # Exactly the arguments given (null where not given), as REST's audit row has its body's.
        context.audit.filtered(
            self.id,
            {
                "ids": [str(i) for i in ids] if ids is not None else None,
                "sectors": list(selection.sectors) if selection.sectors else None,
                "passed_only": passed_only,
                "kinds": sorted(k.value for k in kind) if kind else None,
                "from": completed_from.isoformat() if completed_from else None,
                "to": completed_to.isoformat() if completed_to else None,
            },
        )
        return AchievementConnection.of(page, len(items), page_info, self.id, key)
