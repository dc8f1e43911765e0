"""The GraphQL types: built from the register's read views (``register.queries``), never from ORM rows.

Scalars are plain attributes (the default resolver reads them); only fields that reach further —
identifiers, achievements, partOf, an organisation's codes — have resolvers, and those go through the
request's DataLoaders. Whatever person data a resolver hands out is noted in the request's audit ledger.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterator
from decimal import Decimal

import strawberry
from strawberry import Private

from api.errors import ApiError
from api.graphql.context import GraphContext, ViewKey
from api.pagination import decode_cursor, encode_cursor
from register import grading, sectors
from register.disclosure import RULE
from register.models.organisation import CODE_SCHEMES
from register.organisations import OrganisationView
from register.queries import AchievementView, GradeView, OrganisationRef, PersonView, SpecificationView
from register.stats import ProviderRef, StatsCellView

DEFAULT_PAGE = 100

# The register's own enums, exposed as GraphQL enums (the names are the members: HIGHER, COURSE_RESULT …).
strawberry.enum(sectors.Sector, name="Sector", description=sectors.listed(sectors.Sector))
strawberry.enum(grading.AchievementKind, name="AchievementKind", description="what kind of result")


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


@strawberry.type(description="A text in Norwegian Bokmål, Nynorsk and English, where given")
class LocalizedText:
    nb: str | None
    nn: str | None
    en: str | None

    @classmethod
    def of(cls, value: dict[str, str] | None) -> LocalizedText | None:
        if not value:
            return None
        return cls(nb=value.get("nb"), nn=value.get("nn"), en=value.get("en"))


@strawberry.type(
    description="Credits in one scheme: ECTS, fagskolepoeng or hours (never added across schemes)"
)
class Credits:
    value: float
    scheme: str


@strawberry.type
class Level:
    nkr: str | None = strawberry.field(description="NKR level as text: 4, 5.1, 5.2, 6, 7, 8")
    eqf: int | None = strawberry.field(description="EQF level 1–8")


@strawberry.type
class Grade:
    as_delivered: str = strawberry.field(description="the grade exactly as the provider wrote it")
    value: str = strawberry.field(
        description="the grade in its scale's canonical spelling (as delivered on external scales)"
    )
    scheme: str = strawberry.field(description="no-1-6, a-f, pass-fail, conduct, trade or external")
    passed: bool | None = strawberry.field(description="normalized; null where pass/fail does not apply")


@strawberry.type(description="What can be achieved: a subject, course, programme, qualification, trade …")
class Specification:
    id: int
    kind: str
    code: str | None
    code_scheme: str | None
    title: LocalizedText | None
    description: LocalizedText | None
    credits: Credits | None
    level: Level
    nus_code: str | None
    iscedf_code: str | None
    learning_outcomes: list[str] | None

    @classmethod
    def of(cls, view: SpecificationView, shared: Shared | None = None) -> Specification:
        shared = shared or Shared()
        return cls(
            id=view.id,
            kind=view.kind,
            code=view.code,
            code_scheme=view.code_scheme,
            title=LocalizedText.of(view.title),
            description=LocalizedText.of(view.description),
            credits=shared.credits(view.credits, view.credit_scheme),
            level=shared.level(view.nkr_level, view.eqf_level),
            nus_code=view.nus_code,
            iscedf_code=view.iscedf_code,
            learning_outcomes=view.learning_outcomes,
        )


@strawberry.type(description="A cross-walk code of an organisation in another system")
class OrganisationCode:
    scheme: str = strawberry.field(description=sectors.listed(CODE_SCHEMES))
    value: str


@strawberry.type(description="A school, county, fagskole, university or course provider")
class Organisation:
    orgnr: str | None = strawberry.field(description="organisasjonsnummer; null for foreign institutions")
    name: str
    name_en: str | None
    kind: str
    country: str
    org_id: Private[int | None]
    details: Private[OrganisationView | None]

    @classmethod
    def of_ref(cls, ref: OrganisationRef) -> Organisation:
        return cls(
            orgnr=ref.orgnr,
            name=ref.name,
            name_en=ref.name_en,
            kind=ref.kind,
            country=ref.country,
            org_id=ref.id,
            details=None,
        )

    @classmethod
    def of_view(cls, view: OrganisationView) -> Organisation:
        return cls(
            orgnr=view.orgnr,
            name=view.name_nb,
            name_en=view.name_en,
            kind=view.kind,
            country=view.country,
            org_id=view.id,
            details=view,
        )

    async def _details(self, info: strawberry.Info[GraphContext, None]) -> OrganisationView | None:
        if self.details is None and self.org_id is not None:
            self.details = await info.context.loaders.organisation.load(self.org_id)
        return self.details

    @strawberry.field(description="codes in NSR, FS, Erasmus, SCHAC, PIC or an issuer id")
    async def codes(self, info: strawberry.Info[GraphContext, None]) -> list[OrganisationCode]:
        details = await self._details(info)
        if details is None:
            return []
        return [
            OrganisationCode(scheme=s, value=v) for s, values in sorted(details.codes.items()) for v in values
        ]

    @strawberry.field(description="orgnr of the organisations this one delivers results for")
    async def delivers_for(self, info: strawberry.Info[GraphContext, None]) -> list[str]:
        details = await self._details(info)
        return list(details.delivers_for) if details is not None else []


class Shared:
    """Equal small objects (an organisation, a grade, credits, a level) made once per answer.

    A page of 300 achievements from 12 organisations then holds 12 organisation objects, not 300:
    fewer allocations, less work for the garbage collector. Only objects that no resolver mutates
    per achievement are shared (an organisation's details are the same for every achievement).
    """

    def __init__(self) -> None:
        self._objects: dict[tuple[object, ...], object] = {}

    def credits(self, value: Decimal | None, scheme: str | None) -> Credits | None:
        if value is None or not scheme:
            return None
        key = ("credits", value, scheme)
        found = self._objects.get(key)
        if found is None:
            found = self._objects[key] = Credits(value=float(value), scheme=scheme)
        return found  # type: ignore[return-value]

    def level(self, nkr: str | None, eqf: int | None) -> Level:
        key = ("level", nkr, eqf)
        found = self._objects.get(key)
        if found is None:
            found = self._objects[key] = Level(nkr=nkr, eqf=eqf)
        return found  # type: ignore[return-value]

    def grade(self, grade: GradeView | None) -> Grade | None:
        if grade is None:
            return None
        key = ("grade", grade.scheme, grade.value, grade.as_delivered, grade.passed)
        found = self._objects.get(key)
        if found is None:
            found = self._objects[key] = Grade(
                as_delivered=grade.as_delivered, value=grade.value, scheme=grade.scheme, passed=grade.passed
            )
        return found  # type: ignore[return-value]

    def organisation(self, ref: OrganisationRef) -> Organisation:
        key = ("organisation", ref.id, ref.orgnr, ref.name)
        found = self._objects.get(key)
        if found is None:
            found = self._objects[key] = Organisation.of_ref(ref)
        return found  # type: ignore[return-value]


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
            unfiltered: ViewKey = (self.person_id, None, False)
            parent = (await _index(context, unfiltered)).get(parent_id)
        if parent is None:
            return None  # the parent is withdrawn
        memo = context.loaders.parents
        built: Achievement | None = memo.get((self.key, parent_id))
        if built is None:
            built = memo[(self.key, parent_id)] = Achievement.of(parent, self.person_id, self.key)
        return built


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
    ) -> AchievementConnection:
        context = info.context
        sectors = tuple(sorted({s.value for s in sector})) if sector else None
        key: ViewKey = (self.id, sectors, passed_only)
        view: PersonView | None = await context.loaders.person_view.load(key)
        roots = view.achievements if view is not None else []
        if kind:
            wanted = {k.value for k in kind}
            items = [a for a in _walk(roots) if a.kind in wanted]
        else:
            items = roots
        page, page_info = _page(items, first, after, context.settings.graphql_max_page_size)
        context.audit.filtered(
            self.id,
            {
                "sectors": list(sectors) if sectors else None,
                "passed_only": passed_only,
                "kinds": sorted(k.value for k in kind) if kind else None,
            },
        )
        return AchievementConnection.of(page, len(items), page_info, self.id, key)


# --- statistics -----------------------------------------------------------------------------------


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
