"""The analysts' dashboard: ``/dashboard``, server-rendered pages over the statistics API (docs/dashboard.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.dashboard import session
from api.dashboard.charts import HEAT, HEAT_DARK_FROM
from api.dashboard.source import ApiAnswer, ask
from api.dashboard.text import TEXT, Lang, language
from api.dashboard.views import (
    FORMATS,
    MEASURES,
    TABLES,
    Measure,
    Panel,
    api_query,
    grade_panels,
    over_years,
    years_shown,
)
from api.deps import SettingsDep
from register.disclosure import COUNT_NOISE
from register.sectors import Sector
from register.tokens import TokenRequestError

HERE = Path(__file__).parent
router = APIRouter(prefix="/dashboard", include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
)
templates.globals.update(heat=HEAT, heat_dark=HEAT_DARK_FROM)


def _number(value: int, lang: str) -> str:
    """1 234 (bokmål: a no-break space between thousands) or 1,234."""
    return f"{value:,}".replace(",", "\u00a0" if lang == "nb" else ",")


templates.filters["number"] = _number

# The pages load nothing but their own stylesheet; the charts are inline SVG drawn with presentation
# attributes (not governed by style-src). No script at all, so script-src names none.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: under no-referrer a browser's form POST says "Origin: null"
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # the pages show what a token may see: never kept by a shared cache
}

YearParam = Annotated[int | None, Query(ge=1900, le=2200)]


def _lang(request: Request, lang: str | None) -> Lang:
    return language(lang, request.headers.get("accept-language"))


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _login_page(
    request: Request, lang: Lang, *, error: str | None = None, detail: str = "", status: int = 200
) -> HTMLResponse:
    text = TEXT[lang]
    settings = request.app.state.settings
    message = text[error].format(reason=detail) if error else None
    return _render(
        "login.html",
        status,
        lang=lang,
        t=text,
        error=message,
        development=settings.environment == "development",
        other_lang=_other(lang),
    )


def _other(lang: Lang) -> Lang:
    return "en" if lang == "nb" else "nb"


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


@router.get("", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    measure: Measure = "achievements",
    sector: Sector | None = None,
    since: YearParam = None,
    year: YearParam = None,
    lang: str | None = Query(default=None, max_length=5),
) -> Response:
    chosen = _lang(request, lang)
    text = TEXT[chosen]
    try:
        viewer = session.current_viewer(request)
    except session.SignInRefused as refused:
        return _login_page(
            request, chosen, error=refused.reason, detail=refused.detail, status=refused.status
        )
    if viewer is None:
        return RedirectResponse(f"/dashboard/login?lang={chosen}", status_code=303)
    filters = {"sector": sector.value if sector else None, "year": str(year) if year else None}
    answers = dict(
        zip(
            TABLES,
            await asyncio.gather(
                *(
                    ask(request.app, viewer.token, api_query(spec, filters), request_id=_request_id(request))
                    for spec in TABLES.values()
                )
            ),
            strict=True,
        )
    )
    failed = next((a for a in answers.values() if a.status != 200), None)
    if failed is not None:
        return _api_failure(chosen, failed)
    data = {key: answer.json() for key, answer in answers.items()}
    xs = years_shown(data["sector"], since)
    panels: list[Panel] = [
        over_years(TABLES[k], data[k], xs, measure, text) for k in ("sector", "field", "level")
    ]
    grades = grade_panels(TABLES["grade"], data["grade"], measure, text)
    page_query = {
        "measure": measure,
        "sector": filters["sector"],
        "since": since,
        "year": year,
        "lang": chosen,
    }
    for panel in [*panels, *grades]:
        table = "grade" if panel.key.startswith("grade") else panel.key
        panel.downloads = [
            (fmt, "/dashboard/download/" + table + "?" + urlencode(_present({**filters, "format": fmt})))
            for fmt in FORMATS
        ]
    threshold = data["sector"].get("threshold")
    return _render(
        "dashboard.html",
        lang=chosen,
        t=text,
        viewer=viewer,
        panels=panels,
        grades=grades,
        grade_downloads=grades[0].downloads if grades else [],
        threshold=threshold,
        noise=COUNT_NOISE,
        rule=data["sector"].get("disclosure_control", ""),
        measure=measure,
        measures=MEASURES,
        sectors=[s.value for s in Sector],
        sector=filters["sector"],
        since=since,
        year=year,
        years=xs,
        other_lang=_other(chosen),
        other_lang_url="/dashboard?" + urlencode(_present({**page_query, "lang": _other(chosen)})),
    )


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _api_failure(lang: Lang, answer: ApiAnswer) -> HTMLResponse:
    try:
        detail = str(answer.json().get("detail", ""))
    except ValueError:
        detail = ""
    text = TEXT[lang]
    message = text["error_api"].format(status=answer.status, detail=detail)
    return _render("error.html", answer.status, lang=lang, t=text, message=message, other_lang=_other(lang))


@router.get("/download/{table}")
async def download(
    request: Request,
    table: str,
    format: str = Query(default="csv-nb", max_length=16),
    sector: Sector | None = None,
    year: YearParam = None,
) -> Response:
    """The API's answer for a dashboard table in ``format``, as a file: what the chart was drawn from."""
    chosen = _lang(request, None)
    try:
        viewer = session.current_viewer(request)
    except session.SignInRefused as refused:
        return _login_page(
            request, chosen, error=refused.reason, detail=refused.detail, status=refused.status
        )
    if viewer is None:
        return _login_page(request, chosen, status=401)
    spec = TABLES.get(table)
    if spec is None or format not in FORMATS:
        return _render("error.html", 404, lang=chosen, t=TEXT[chosen], message="", other_lang=_other(chosen))
    filters = {"sector": sector.value if sector else None, "year": str(year) if year else None}
    answer = await ask(
        request.app, viewer.token, api_query(spec, filters, format), request_id=_request_id(request)
    )
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if answer.status == 200:
        headers["Content-Disposition"] = f'attachment; filename="kompetanse-{table}.{FORMATS[format]}"'
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type, headers=headers)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, lang: str | None = Query(default=None, max_length=5)) -> Response:
    return _login_page(request, _lang(request, lang))


@router.post("/login", response_class=HTMLResponse)
def sign_in(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=16 * 1024)],
    lang: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    chosen = _lang(request, lang)
    if not session.same_origin(request):
        return _login_page(request, chosen, error="error_origin", status=403)
    try:
        session.verify(request, token.strip(), from_cookie=False)
    except session.SignInRefused as refused:
        return _login_page(
            request, chosen, error=refused.reason, detail=refused.detail, status=refused.status
        )
    response = RedirectResponse(f"/dashboard?lang={chosen}", status_code=303)
    session.start_session(response, token.strip(), settings)
    return response


@router.post("/dev-login", response_class=HTMLResponse)
def sign_in_for_development(
    request: Request, settings: SettingsDep, lang: Annotated[str | None, Form(max_length=5)] = None
) -> Response:
    """Development only: a session with a development stats token of the demo analyst organisation."""
    chosen = _lang(request, lang)
    if settings.environment != "development":
        return _render("error.html", 404, lang=chosen, t=TEXT[chosen], message="", other_lang=_other(chosen))
    if not session.same_origin(request):
        return _login_page(request, chosen, error="error_origin", status=403)
    try:
        token = session.development_token(settings)
    except TokenRequestError as exc:
        return _login_page(request, chosen, error="error_token", detail=str(exc), status=500)
    response = RedirectResponse(f"/dashboard?lang={chosen}", status_code=303)
    session.start_session(response, token, settings)
    return response


@router.post("/logout")
def sign_out(request: Request, lang: Annotated[str | None, Form(max_length=5)] = None) -> Response:
    response = RedirectResponse(f"/dashboard/login?lang={_lang(request, lang)}", status_code=303)
    session.end_session(response)
    return response
