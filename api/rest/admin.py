"""Administration: organisations, their cross-walk codes and "delivers for" relations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from api.auth import Principal, require_scope
from api.deps import UnitOfWork
from api.errors import ApiError
from api.openapi import documented
from api.openapi import examples as ex
from register.models.organisation import CODE_SCHEMES, ORGANISATION_KINDS
from register.organisations import OrganisationView, add_organisation, list_organisations
from register.scopes import Scope

router = APIRouter(prefix="/v1", tags=["admin"])

_ORGNR = Path(pattern=r"^\d{9}$", description="organisasjonsnummer")


class OrganisationOut(BaseModel):
    orgnr: str | None
    name: str
    name_en: str | None
    kind: str
    country: str
    county: str | None = None
    codes: dict[str, list[str]]
    delivers_for: list[str]

    @classmethod
    def of(cls, view: OrganisationView) -> OrganisationOut:
        return cls(
            orgnr=view.orgnr,
            name=view.name_nb,
            name_en=view.name_en,
            kind=view.kind,
            country=view.country,
            county=view.county,
            codes=view.codes,
            delivers_for=view.delivers_for,
        )


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scheme: str = Field(description=f"one of {', '.join(CODE_SCHEMES)}", max_length=16)
    value: str = Field(min_length=1, max_length=200)


class OrganisationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orgnr: str | None = Field(default=None, pattern=r"^\d{9}$", description="absent for foreign institutions")
    name: str = Field(min_length=1, max_length=300)
    name_nn: str | None = Field(default=None, max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    kind: str = Field(default="other", description=f"one of {', '.join(ORGANISATION_KINDS)}", max_length=32)
    country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2; NO by default only with an orgnr",
    )
    name_lang: str | None = Field(default=None, max_length=16, description="language of name; nb for NO")
    county: str | None = Field(
        default=None, pattern=r"^\d{2}$", description="county (fylke), SSB's code; Norwegian organisations"
    )
    codes: list[CodeIn] = Field(default_factory=list, max_length=50)
    delivers_for: list[str] = Field(default_factory=list, max_length=1000)


class DeliversForIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orgnr: str = Field(pattern=r"^\d{9}$", description="the organisation delivered for")


#: what registering an organisation, a code or a relation can answer (docs/errors.md, organisations)
_CHANGE_ERRORS = {
    404: ("organisation.not_found", "organisation.unknown"),
    409: ("organisation.code_taken", "organisation.delivery"),
    422: (
        "orgnr.invalid",
        "organisation.kind",
        "organisation.name_missing",
        "organisation.code_scheme",
        "organisation.country_missing",
        "organisation.country_invalid",
        "organisation.country_foreign",
        "organisation.name_lang_invalid",
    ),
}


def _find(conn: Connection, orgnr: str) -> OrganisationOut:
    for view in list_organisations(conn):
        if view.orgnr == orgnr:
            return OrganisationOut.of(view)
    raise ApiError(404, "organisation.not_found", f"organisation {orgnr} is not registered")


def _check_codes(codes: list[CodeIn]) -> list[tuple[str, str]]:
    for code in codes:
        if code.scheme not in CODE_SCHEMES:
            raise ApiError(
                422,
                "organisation.code_scheme",
                f"code scheme {code.scheme!r} is not one of {', '.join(CODE_SCHEMES)}",
            )
    return [(c.scheme, c.value.strip()) for c in codes]


@router.get("/organisations", response_model=list[OrganisationOut], **documented(example=[ex.ORGANISATION]))
def organisations(
    principal: Annotated[Principal, Depends(require_scope(Scope.ADMIN))], conn: UnitOfWork
) -> list[OrganisationOut]:
    return [OrganisationOut.of(v) for v in list_organisations(conn)]


@router.post(
    "/organisations",
    status_code=201,
    response_model=OrganisationOut,
    **documented(
        status=201, request_example=ex.ORGANISATION_IN, example=ex.UNIVERSITY, errors=_CHANGE_ERRORS
    ),
)
def register_organisation(
    body: OrganisationIn,
    principal: Annotated[Principal, Depends(require_scope(Scope.ADMIN))],
    conn: UnitOfWork,
) -> JSONResponse:
    """Register an organisation (or add codes and relations to the one with this orgnr)."""
    org_id = add_organisation(
        conn,
        orgnr=body.orgnr,
        name=body.name,
        kind=body.kind,
        codes=_check_codes(body.codes),
        delivers_for=body.delivers_for,
        name_nn=body.name_nn,
        name_en=body.name_en,
        country=body.country,
        name_lang=body.name_lang,
        county=body.county,
    )
    found = next(v for v in list_organisations(conn) if v.id == org_id)
    out = OrganisationOut.of(found)
    headers = {"Location": f"/v1/organisations/{found.orgnr}"} if found.orgnr else {}
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=headers)


@router.get(
    "/organisations/{orgnr}",
    response_model=OrganisationOut,
    **documented(example=ex.ORGANISATION, errors={404: "organisation.not_found"}),
)
def organisation(
    principal: Annotated[Principal, Depends(require_scope(Scope.ADMIN))],
    conn: UnitOfWork,
    orgnr: str = _ORGNR,
) -> OrganisationOut:
    return _find(conn, orgnr)


@router.post(
    "/organisations/{orgnr}/codes",
    response_model=OrganisationOut,
    **documented(request_example=ex.CODE_IN, example=ex.UNIVERSITY, errors=_CHANGE_ERRORS),
)
def add_code(
    body: CodeIn,
    principal: Annotated[Principal, Depends(require_scope(Scope.ADMIN))],
    conn: UnitOfWork,
    orgnr: str = _ORGNR,
) -> OrganisationOut:
    """Add a cross-walk code (NSR, FS, Erasmus, SCHAC, PIC, issuer) so imports recognise the organisation."""
    current = _find(conn, orgnr)
    add_organisation(conn, orgnr=orgnr, name=current.name, kind=current.kind, codes=_check_codes([body]))
    return _find(conn, orgnr)


@router.post(
    "/organisations/{orgnr}/delivers-for",
    response_model=OrganisationOut,
    **documented(request_example=ex.DELIVERS_FOR_IN, example=ex.COUNTY, errors=_CHANGE_ERRORS),
)
def add_delivers_for(
    body: DeliversForIn,
    principal: Annotated[Principal, Depends(require_scope(Scope.ADMIN))],
    conn: UnitOfWork,
    orgnr: str = _ORGNR,
) -> OrganisationOut:
    """Register that this organisation delivers results on behalf of another (a county for its schools)."""
    current = _find(conn, orgnr)
    add_organisation(conn, orgnr=orgnr, name=current.name, kind=current.kind, delivers_for=[body.orgnr])
    return _find(conn, orgnr)
