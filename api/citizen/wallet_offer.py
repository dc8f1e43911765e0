"""The citizen's "Put in my wallet": a credential offer for a chosen result, as a QR code and a link.

The offer itself is the wallet issuer's (``register.wallet.create_offer``: a single-use pre-authorized
code that lives minutes, audited); this page only shows it. The QR code is drawn on the server as SVG
(segno: a small, dependency-free QR encoder) and put inline, so the page needs no script and no request
beyond its own — the strict CSP of the citizen's pages holds. The transaction code is shown beside it,
never inside the QR code: a photographed screen alone must not be enough to take the credential.
"""

from __future__ import annotations

import io
import uuid

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from api.citizen.pages import WALLET_OFFER_PATH, page_helpers
from api.citizen.web import error_page, posted_form, render, settings_of
from api.deps import UnitOfWork
from register.errors import RegisterError
from register.queries import person_rows
from register.wallet import create_offer

router = APIRouter(include_in_schema=False)


def qr_svg(data: str) -> Markup:
    """The QR code of ``data`` as an inline SVG element (no XML declaration), black on white."""
    out = io.BytesIO()
    # error level M: a screen photographed at an angle still reads; border 4 modules, as the standard asks
    segno.make(data, error="m").save(
        out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, title="QR"
    )
    return Markup(out.getvalue().decode())  # noqa: S704  (segno's own SVG: no user text but the link)


@router.post(WALLET_OFFER_PATH)
async def offer_to_wallet(request: Request, conn: UnitOfWork) -> Response:
    posted = await posted_form(request, conn)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    if session.person_id is None:
        return RedirectResponse("/me", status_code=303)
    try:
        chosen = [uuid.UUID(str(value)) for value in form.getlist("achievement")]
    except ValueError:
        return error_page(request, 422, "wallet.achievement_unknown", "not an achievement id")
    try:
        offer = create_offer(conn, session.person_id, chosen, settings_of(request), created_by="citizen")
    except RegisterError as exc:
        return error_page(request, exc.status, exc.code, exc.message)
    rows = person_rows(conn, session.person_id)  # the titles of what the offer holds, for the page
    wanted = {str(i) for i in chosen}
    return render(
        request,
        "wallet_offer.html",
        session=session,
        offer=offer,
        qr=qr_svg(offer.uri),
        rows=[r for r in (rows.achievements if rows else []) if r.id in wanted],
        **page_helpers(request),
    )
