"""GraphQL types of reference data and small values: texts, credits, levels, grades, specifications,
organisations — shared by the person and statistics types."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry import Private

from api.graphql.context import GraphContext
from register import grading, sectors
from register.models.organisation import CODE_SCHEMES
from register.organisations import OrganisationView
from register.queries import GradeView, OrganisationRef, SpecificationView

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
