"""The analysts' dashboard (docs/dashboard.md): charts and tables of the statistics, behind ``kompetanse:stats``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.dashboard.routes import HERE, router


def install(app: FastAPI) -> None:
    """The pages under ``/dashboard`` and their stylesheet, shipped in the package (no CDN)."""
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
