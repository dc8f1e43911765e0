"""The citizen's pages: my results, who has looked at my data, my ELMO, and share links.

Every page that shows the person's data is a read of person data and is audited as the person's own
(actions ``citizen.*``, left out of their view log by register.viewlog); a read through a share link
is audited as ``share.read`` and shows in it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.citizen.texts import TEXTS, text_for
from api.citizen.web import (
    error_page,
    language,
    logged_in,
    posted_form,
    render,
    settings_of,
)
from api.deps import UnitOfWork
from register import audit, sharing
from register.errors import RegisterError
from register.own_record import earlier_versions, withdrawn_achievements
from register.queries import AchievementView, OrganisationRef, person_rows, person_view
from register.sectors import Sector
from register.sessions import Session
from register.viewlog import views_by_others

router = APIRouter(include_in_schema=False)


def _audit_own(request: Request, conn: Any, session: Session, action: str, **details: Any) -> None:
    assert session.person_id is not None
    audit.record_read(
        conn,
        person_id=session.person_id,
        action=action,
        client_id="citizen",
        request_id=getattr(request.state, "request_id", None),
        details=details,
    )


def page_helpers(request: Request) -> dict[str, Any]:
    lang = language(request)

    def title(texts: dict[str, str]) -> str:
        return texts.get(lang) or texts.get("nb") or texts.get("en") or next(iter(texts.values()), "")

    def org(ref: OrganisationRef) -> str:
        return (ref.name_en if lang == "en" and ref.name_en else ref.name) or ""

    def purpose(action: str) -> str:
        key = "purpose." + action
        return text_for(key if key in TEXTS else "purpose.other", lang)

    return {
        "title": title,
        "title_json": lambda raw: title(orjson.loads(raw)),
        "org": org,
        "purpose": purpose,
        "when": lambda d: d.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


#: where the wallet issuer takes a result's "Put in my wallet" form (docs/wallet.md)
WALLET_OFFER_PATH = "/me/wallet/offer"


def _wallet_available(request: Request) -> bool:
    """Whether the app serves the wallet offer (api/citizen/__init__.py mounts it on the same setting):
    the button shows only where it leads somewhere."""
    return settings_of(request).wallet_issuance_enabled


@router.get("/me")
def my_results(request: Request, conn: UnitOfWork) -> Response:
    session = logged_in(request, conn)
    if isinstance(session, Response):
        return session
    if session.person_id is None:
        return render(request, "results.html", session=session, person=None, **page_helpers(request))
    person = person_view(conn, session.person_id)
    withdrawn = withdrawn_achievements(conn, session.person_id)
    versions = earlier_versions(conn, session.person_id)
    by_sector: dict[str, list[AchievementView]] = defaultdict(list)
    for root in person.achievements if person else []:
        by_sector[root.sector].append(root)
    _audit_own(
        request,
        conn,
        session,
        "citizen.results",
        achievement_ids=[str(i) for i in person.achievement_ids()] if person else [],
        withdrawn_ids=[str(w.id) for w in withdrawn],
    )
    return render(
        request,
        "results.html",
        session=session,
        person=person,
        by_sector=[(sector.value, by_sector[sector]) for sector in Sector if sector in by_sector],
        withdrawn=withdrawn,
        versions=versions,
        show_versions=True,
        wallet=_wallet_available(request),
        **page_helpers(request),
    )


@router.get("/me/views")
def my_views(request: Request, conn: UnitOfWork) -> Response:
    session = logged_in(request, conn)
    if isinstance(session, Response):
        return session
    groups = views_by_others(conn, session.person_id) if session.person_id else []
    if session.person_id is not None:
        _audit_own(request, conn, session, "citizen.views", groups=len(groups))
    return render(request, "views.html", session=session, groups=groups, **page_helpers(request))


@router.post("/me/elmo")
async def my_elmo(request: Request, conn: UnitOfWork) -> Response:
    posted = await posted_form(request, conn)
    if isinstance(posted, Response):
        return posted
    session, _ = posted
    if session.person_id is None:
        return error_page(request, 404, "elmo.nothing_to_export", text_for("nothing_held", language(request)))
    from register.exports import person_elmo

    try:
        # What every reader gives out (the REST endpoint too): signed with the register's key, the
        # development key in development; a production register without one answers 503.
        export = person_elmo(conn, session.person_id, settings=settings_of(request))
    except RegisterError as exc:
        return error_page(request, exc.status if exc.status in (404, 503) else 500, exc.code, exc.message)
    _audit_own(
        request,
        conn,
        session,
        "citizen.elmo",
        count=len(export.achievement_ids),
        achievement_ids=export.achievement_ids,
        bytes=len(export.document),
    )
    return Response(
        export.document,
        media_type="application/xml",
        headers={
            "Content-Disposition": 'attachment; filename="kompetanseregisteret-elmo.xml"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _share_page(
    request: Request, conn: Any, session: Session, *, status: int = 200, **values: Any
) -> Response:
    settings = settings_of(request)
    assert session.person_id is not None
    rows = person_rows(conn, session.person_id)
    links = sharing.links_of(conn, session.person_id)
    _audit_own(
        request,
        conn,
        session,
        "citizen.share",
        achievement_ids=[r.id for r in rows.achievements] if rows else [],
    )
    return render(
        request,
        "share.html",
        status=status,
        session=session,
        rows=rows.achievements if rows else [],
        links=links,
        now=dt.datetime.now(dt.UTC),
        default_days=settings.share_link_default_days,
        max_days=settings.share_link_max_days,
        **values,
        **page_helpers(request),
    )


@router.get("/me/share")
def my_share_links(request: Request, conn: UnitOfWork) -> Response:
    session = logged_in(request, conn)
    if isinstance(session, Response):
        return session
    if session.person_id is None:
        return render(request, "results.html", session=session, person=None, **page_helpers(request))
    return _share_page(request, conn, session)


@router.post("/me/share")
async def create_share_link(request: Request, conn: UnitOfWork) -> Response:
    posted = await posted_form(request, conn)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    if session.person_id is None:
        return RedirectResponse("/me", status_code=303)
    settings = settings_of(request)
    try:
        chosen = [uuid.UUID(str(v)) for v in form.getlist("achievement")]
        days = int(str(form.get("days") or settings.share_link_default_days))
    except ValueError:
        return _share_page(request, conn, session, status=422, problem="share.invalid_form")
    label = str(form.get("label") or "").strip()[:100] or None
    try:
        secret, _ = sharing.create_link(
            conn, session.person_id, chosen, days=days, max_days=settings.share_link_max_days, label=label
        )
    except RegisterError as exc:
        return _share_page(request, conn, session, status=exc.status, problem=f"{exc.message} ({exc.code})")
    new_url = str(request.base_url).rstrip("/") + "/shared/" + secret
    return _share_page(request, conn, session, status=201, new_url=new_url)


@router.post("/me/share/{link_id}/revoke")
async def revoke_share_link(link_id: uuid.UUID, request: Request, conn: UnitOfWork) -> Response:
    posted = await posted_form(request, conn)
    if isinstance(posted, Response):
        return posted
    session, _ = posted
    if session.person_id is None:
        return RedirectResponse("/me", status_code=303)
    try:
        sharing.revoke(conn, session.person_id, link_id)
    except RegisterError as exc:
        return error_page(request, exc.status, exc.code, exc.message)
    return RedirectResponse("/me/share", status_code=303)


@router.get("/shared/{secret}")
def shared_results(secret: str, request: Request, conn: UnitOfWork) -> Response:
    try:
        shared = sharing.open_link(conn, secret, request_id=getattr(request.state, "request_id", None))
    except RegisterError as exc:
        return error_page(request, exc.status, exc.code, exc.message)
    view = person_view(conn, uuid.UUID(shared.person.id))
    assert view is not None
    wanted = {uuid.UUID(r.id) for r in shared.person.achievements}
    return render(
        request,
        "shared.html",
        link=shared.link,
        person=shared.person,
        achievements=_only(view.achievements, wanted),
        show_versions=False,
        wallet=False,
        **page_helpers(request),
    )


def _only(nodes: list[AchievementView], wanted: set[uuid.UUID]) -> list[AchievementView]:
    """The wanted nodes of a tree, each with only its wanted parts (an unwanted parent's wanted parts rise)."""
    found: list[AchievementView] = []
    for node in nodes:
        parts = _only(node.parts, wanted)
        if node.id in wanted:
            node.parts = parts
            found.append(node)
        else:
            found.extend(parts)
    return found
