"""The API's documentation pages — Swagger UI at ``/docs``, ReDoc at ``/redoc``, GraphiQL at
``/graphiql`` — served with their scripts and styles from this package, never from a CDN.

FastAPI's own pages load swagger-ui and redoc from jsDelivr and start them with an inline script:
blank offline, and blank under ``default-src 'self'``. Here the vendored files (``static/``, each
folder with its licence and README naming the npm version) are served from ``/docs-assets/`` and each
page starts its viewer from a small script file of its own, so every page runs under a CSP without
``'unsafe-inline'`` for scripts. GraphiQL exists only where introspection is on (the IDE is of no use
without it), which is development by default (``Settings.graphql_introspection_enabled``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from register.settings import Settings

ASSETS = "/docs-assets"
_HERE = Path(__file__).parent
_templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(default=True)
)

# Scripts only from this origin, no inline script, no eval. Swagger UI and GraphiQL draw icons from
# data: URIs and GraphiQL's fonts are data: URIs in its CSS. ReDoc (styled-components) and GraphiQL
# (CodeMirror) write <style> elements at run time, which a CSP can only allow with 'unsafe-inline'
# for styles; Swagger UI needs none. Styles cannot run code, so scripts stay as strict as the rest.
_CSP_BASE = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
CSP = {
    "swagger-ui": f"{_CSP_BASE}; style-src 'self'",
    "redoc": f"{_CSP_BASE}; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:",
    "graphiql": f"{_CSP_BASE}; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:",
}


def _page(viewer: str, template: str, **context: object) -> HTMLResponse:
    html = _templates.get_template(template).render(assets=ASSETS, **context)
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": CSP[viewer],
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def install_docs_pages(app: FastAPI, settings: Settings) -> None:
    """``/docs``, ``/redoc``, ``/graphiql`` (where introspection is on) and their assets."""
    app.mount(ASSETS, StaticFiles(directory=_HERE / "static"), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return _page("swagger-ui", "swagger-ui.html", openapi_url=openapi_url, title=app.title)

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return _page("redoc", "redoc.html", openapi_url=openapi_url, title=app.title)

    if settings.graphql_introspection_enabled:

        @app.get("/graphiql", include_in_schema=False)
        def graphiql(request: Request) -> HTMLResponse:
            return _page("graphiql", "graphiql.html", graphql_url="/graphql", title=app.title)
