"""The citizen's pages: CSRF on every form, the view log, the ELMO download, share links."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import Engine, text

from register import audit
from tests.api.conftest import READ, Token, bearer
from tests.citizen.conftest import csrf_of, log_in


def _person(db: Engine) -> uuid.UUID:
    with db.connect() as conn:
        return conn.execute(text("SELECT id FROM person")).scalar_one()


def _achievements(db: Engine) -> dict[str, str]:
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.code, a.id FROM achievement a JOIN learning_specification s ON s.id = a.specification_id"
            )
        )
        return {r.code: str(r.id) for r in rows}


def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    http: httpx.Client, citizen: str, db: Engine
) -> None:
    log_in(http, citizen)
    ids = _achievements(db)
    for path, data in (
        ("/me/logout", {}),
        ("/me/elmo", {}),
        ("/me/share", {"achievement": ids["INF100"], "days": "30"}),
    ):
        for token in (None, "wrong"):
            sent = dict(data) if token is None else {**data, "csrf": token}
            answer = http.post(path, data=sent)
            assert answer.status_code == 403 and "citizen.csrf_failed" in answer.text, path
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM share_link")).scalar_one() == 0
    assert http.get("/me").status_code == 200  # still logged in: the refused logout did nothing


def test_pages_need_a_login(http: httpx.Client) -> None:
    for path in ("/me", "/me/views", "/me/share"):
        answer = http.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/me/login")
    assert http.post("/me/elmo", data={"csrf": "x"}).status_code == 303


def test_pages_are_bilingual_and_send_a_strict_csp(http: httpx.Client, citizen: str) -> None:
    log_in(http, citizen)
    nb = http.get("/me")
    assert '<html lang="nb">' in nb.text and "Mine resultater" in nb.text
    # Sectors in the register's order (register.sectors.Sector): fagskole before university.
    assert nb.text.index(">Fagskole</h2>") < nb.text.index(">Universitet og høgskole</h2>")
    assert nb.headers["content-security-policy"].startswith("default-src 'self'")
    assert nb.headers["referrer-policy"] == "no-referrer"
    en = http.get("/me?lang=en")
    assert '<html lang="en">' in en.text and "My results" in en.text
    assert '<html lang="en">' in http.get("/me/views").text  # the choice is kept in a cookie


def test_the_view_log_shows_reads_by_others_not_my_own(
    http: httpx.Client, citizen: str, db: Engine, token: Token, orgs: dict[str, str]
) -> None:
    log_in(http, citizen)
    http.get("/me")  # the citizen's own read: audited, but not listed back
    assert "Ingen andre" in http.get("/me/views").text
    looked = http.post(
        "/v1/persons/lookup", json={"nin": citizen}, headers=bearer(token(orgs["portal"], READ))
    )
    assert looked.status_code == 200
    page = http.get("/me/views")
    assert "Sikt (Vitnemålsportalen)" in page.text and "Oppslag av resultatene dine" in page.text
    with db.connect() as conn:
        own = [e.action for e in audit.list_events(conn, person_id=_person(db))]
    assert {"citizen.login", "citizen.results", "citizen.views", "persons.lookup"} <= set(own)


def test_elmo_download_is_the_register_export_and_audited(
    http: httpx.Client, citizen: str, db: Engine
) -> None:
    log_in(http, citizen)
    page = http.get("/me")
    answer = http.post("/me/elmo", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    assert "attachment" in answer.headers["content-disposition"]
    assert b"<elmo" in answer.content and b"INF100" in answer.content
    with db.connect() as conn:
        (event,) = audit.list_events(conn, person_id=_person(db), action="citizen.elmo")
    assert event.details["count"] == 4


def _create_link(http: httpx.Client, ids: list[str], days: int | None = None) -> httpx.Response:
    page = http.get("/me/share")
    data: dict = {"csrf": csrf_of(page.text), "achievement": ids, "label": "Søknad"}
    if days is not None:
        data["days"] = str(days)
    return http.post("/me/share", data=data)


def _new_url(answer: httpx.Response) -> str:
    found = re.search(r'id="new-url"[^>]*value="([^"]+)"', answer.text)
    assert found, answer.text
    return found.group(1)


def test_share_link_shows_chosen_results_and_every_read_is_audited(
    http: httpx.Client, citizen: str, db: Engine
) -> None:
    log_in(http, citizen)
    ids = _achievements(db)
    created = _create_link(http, [ids["INF100"], ids["EL-1"]])
    assert created.status_code == 201
    url = _new_url(created)
    secret = url.rsplit("/", 1)[1]
    assert len(secret) >= 22  # 16 bytes in base64url
    with db.connect() as conn:
        stored = conn.execute(
            text("SELECT secret_hash, expires_at - created_at AS life FROM share_link")
        ).one()
    assert secret.encode() not in stored.secret_hash and stored.life.days == 183
    anonymous = httpx.get(url)
    assert anonymous.status_code == 200
    assert "INF100" in anonymous.text and "EL-1" in anonymous.text and "INF200" not in anonymous.text
    assert citizen not in anonymous.text
    with db.connect() as conn:
        (read,) = audit.list_events(conn, person_id=_person(db), action="share.read")
    assert sorted(read.details["achievement_ids"]) == sorted([ids["INF100"], ids["EL-1"]])
    assert "Åpnet en av delingslenkene dine" in http.get("/me/views").text


def test_share_link_expiry_is_bounded(http: httpx.Client, citizen: str, db: Engine) -> None:
    log_in(http, citizen)
    ids = _achievements(db)
    too_long = _create_link(http, [ids["INF100"]], days=366)
    assert too_long.status_code == 422 and "share.expiry_out_of_range" in too_long.text
    assert _create_link(http, [], days=10).status_code == 422
    foreign = _create_link(http, [str(uuid.uuid4())], days=10)
    assert foreign.status_code == 422 and "share.unknown_result" in foreign.text
    url = _new_url(_create_link(http, [ids["INF100"]], days=365))
    with db.begin() as conn:
        conn.execute(text("UPDATE share_link SET expires_at = now() - interval '1 second'"))
    expired = httpx.get(url)
    assert expired.status_code == 410 and "share.expired" in expired.text


def test_revoked_share_link_is_gone(http: httpx.Client, citizen: str, db: Engine) -> None:
    log_in(http, citizen)
    ids = _achievements(db)
    url = _new_url(_create_link(http, [ids["INF100"]]))
    assert httpx.get(url).status_code == 200
    with db.connect() as conn:
        link_id = conn.execute(text("SELECT id FROM share_link")).scalar_one()
    page = http.get("/me/share")
    revoked = http.post(f"/me/share/{link_id}/revoke", data={"csrf": csrf_of(page.text)})
    assert revoked.status_code == 303
    gone = httpx.get(url)
    assert gone.status_code == 410 and "share.revoked" in gone.text
    assert httpx.get(url.rsplit("/", 1)[0] + "/" + "A" * 22).status_code == 404
    with db.connect() as conn:
        reads = audit.list_events(conn, person_id=_person(db), action="share.read")
    assert len(reads) == 1  # the refused reads gave nothing out


def test_another_persons_link_cannot_be_revoked(http: httpx.Client, citizen: str, db: Engine) -> None:
    log_in(http, citizen)
    page = http.get("/me/share")
    answer = http.post(f"/me/share/{uuid.uuid4()}/revoke", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 404 and "share.not_found" in answer.text


def test_withdrawn_results_and_versions_are_shown(
    http: httpx.Client, citizen: str, db: Engine, token: Token, orgs: dict[str, str]
) -> None:
    from tests.api.conftest import WRITE

    ids = _achievements(db)
    withdrawn = http.post(
        f"/v1/achievements/{ids['INF200']}/withdrawal",
        json={"reason": "registrert på feil student"},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert withdrawn.status_code == 200
    log_in(http, citizen)
    page = http.get("/me")
    assert "Tilbaketrukne resultater" in page.text and "registrert på feil student" in page.text
    assert "Tidligere versjoner" in page.text


def test_an_idle_session_expires(http: httpx.Client, citizen: str, db: Engine) -> None:
    log_in(http, citizen)
    assert http.get("/me").status_code == 200
    with db.begin() as conn:
        conn.execute(text("UPDATE citizen_session SET expires_at = now() - interval '1 second'"))
    assert http.get("/me").status_code == 303


def test_the_wallet_button_is_on_every_result_where_issuance_is_on(
    http: httpx.Client, citizen: str, db: Engine
) -> None:
    log_in(http, citizen)  # development settings: wallet issuance on (docs/wallet.md)
    page = http.get("/me").text
    forms = re.findall(r'<form method="post" action="/me/wallet/offer".*?</form>', page, re.S)
    assert len(forms) == len(_achievements(db))
    assert all(f'value="{csrf_of(page)}"' in form for form in forms)
