"""The dimensions of migration 0010 — gender, age group at completion, the provider's county — and sets
and ranges of years: counted exactly, filtered, and refused with a clear code where the input is wrong."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from register import stats
from register.errors import InvalidInput
from register.organisations import add_organisation
from tests.api.conftest import STATS, Token, bearer
from tests.api.rows import Spec, add_achievement, finish_batch, new_batch, new_person
from tests.factories import create_organisation, new_nin

SPEC = Spec("INF100", iscedf_code="0613", credits=Decimal("10"), credit_scheme="ects")


def _person(conn: Connection, gender: str | None, born: int | None) -> object:
    person = new_person(conn, nin=new_nin())
    conn.execute(
        text("UPDATE person SET gender = :g, birth_date = :b WHERE id = :p"),
        {"g": gender, "b": dt.date(born, 6, 15) if born else None, "p": person},
    )
    return person


def _exact(conn: Connection, group_by: list[str], **filters: object) -> dict[tuple, tuple]:
    answer = stats.achievement_stats(conn, group_by=group_by, filters=filters, threshold=1, exact=True)
    return {
        tuple(c.key[d] if d != "provider" else c.key[d].orgnr for d in group_by): (c.persons, c.achievements)
        for c in answer.cells
    }


def test_gender_age_group_and_county_are_counted_from_the_person_and_the_provider(db: Engine) -> None:
    west = create_organisation(db, name="Høgskulen i Vest", kind="university", county="46")
    north = create_organisation(db, name="Universitetet i Nord", kind="university", county="18")
    abroad = create_organisation(db, name="Uczelnia", kind="university")  # no county registered
    with db.begin() as conn:
        batch = new_batch(conn, west)
        people = [
            (_person(conn, "female", 2004), west, 2024),  # 20 in 2024
            (_person(conn, "female", 1990), north, 2024),  # 34
            (_person(conn, "male", 2006), west, 2024),  # 18
            (_person(conn, None, None), abroad, 2023),  # neither delivered: not recorded
        ]
        for person, org, year in people:
            for _ in range(2):
                add_achievement(
                    conn, person_id=person, batch_id=batch, provider_orgnr=org, spec=SPEC, year=year
                )
        # one person in two years, for the year sets below
        add_achievement(
            conn, person_id=people[0][0], batch_id=batch, provider_orgnr=west, spec=SPEC, year=2023
        )
        finish_batch(conn, batch)

        assert _exact(conn, ["gender"]) == {("female",): (2, 5), ("male",): (1, 2), (None,): (1, 2)}
        assert _exact(conn, ["age_group"]) == {
            ("0-19",): (2, 3),  # the man at 18 in 2024 and the first woman at 19 in 2023
            ("20-24",): (1, 2),
            ("30-39",): (1, 2),
            (None,): (1, 2),
        }
        assert _exact(conn, ["county", "gender"]) == {
            ("46", "female"): (1, 3),
            ("46", "male"): (1, 2),
            ("18", "female"): (1, 2),
            (None, None): (1, 2),
        }
        assert _exact(conn, ["county"], gender="female") == {("46",): (1, 3), ("18",): (1, 2)}
        # The national id says nothing: the person without a delivered gender stays "not recorded"
        # although their synthetic number has an individual digit like every other.
        assert _exact(conn, ["gender"], county="18") == {("female",): (1, 2)}


def test_a_set_or_range_of_years_counts_each_person_once(db: Engine) -> None:
    org = create_organisation(db, name="Universitetet", kind="university")
    with db.begin() as conn:
        batch = new_batch(conn, org)
        both, early, late = (_person(conn, None, None) for _ in range(3))
        for person, year in ((both, 2022), (both, 2023), (early, 2021), (late, 2023), (late, 2024)):
            add_achievement(conn, person_id=person, batch_id=batch, provider_orgnr=org, spec=SPEC, year=year)
        finish_batch(conn, batch)

        # 2022–2023: "both" (two results) and "late" (one) — two persons, not three
        assert _exact(conn, ["sector"], year=(2022, 2023)) == {("higher",): (2, 3)}
        assert _exact(conn, [], year=stats.parse_years("2021-2022,2024")) == {(): (3, 3)}
        # grouped by year, a set of years selects the rows of the table by year
        assert _exact(conn, ["year"], year=(2021, 2024)) == {(2021,): (1, 1), (2024,): (1, 1)}
        assert _exact(conn, ["year"], year=stats.parse_years("2023")) == {(2023,): (2, 2)}


@pytest.mark.parametrize(
    ("filters", "code"),
    [
        ({"gender": "x"}, "stats.unknown_code"),
        ({"age_group": "18-20"}, "stats.unknown_code"),
        ({"county": "12"}, "stats.unknown_code"),  # Hordaland: merged into Vestland (46) in 2020
        ({"year": (1800, 1801)}, "stats.year_filter"),
    ],
)
def test_filters_on_the_new_dimensions_are_checked(db: Engine, filters: dict, code: str) -> None:
    with db.connect() as conn, pytest.raises(InvalidInput) as refused:
        stats.achievement_stats(conn, group_by=["sector"], filters=filters, threshold=5)
    assert refused.value.code == code


@pytest.mark.parametrize("raw", ["2024-2020", "20x4", "1899", "2000-2150", "2020,,2021", "-"])
def test_malformed_year_filters_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        stats.parse_years(raw)
    assert refused.value.code == "stats.year_filter"


def test_a_county_registered_later_counts_at_once_and_moves_the_version(db: Engine) -> None:
    org = create_organisation(db, name="Fagskolen", kind="fagskole")
    with db.begin() as conn:
        batch = new_batch(conn, org)
        add_achievement(
            conn,
            person_id=new_person(conn),
            batch_id=batch,
            provider_orgnr=org,
            spec=Spec("EL1", nkr_level="5.1"),
            sector="vocational",
            credit_scheme="fagskolepoeng",
        )
        finish_batch(conn, batch)
        before = stats.statistics_version(conn)
        assert _exact(conn, ["county"]) == {(None,): (1, 1)}
        add_organisation(conn, orgnr=org, name="Fagskolen", kind="fagskole", county="50")
        assert stats.statistics_version(conn) != before  # the cached answers by county go
        assert _exact(conn, ["county"]) == {("50",): (1, 1)}
        with pytest.raises(InvalidInput) as refused:
            add_organisation(conn, orgnr=org, name="Fagskolen", kind="fagskole", county="99")
        assert refused.value.code == "organisation.county_invalid"


def test_rest_takes_the_new_dimensions_and_year_ranges(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    analyst = bearer(token(orgs["analyst"], STATS))
    ok = client.get(
        "/v1/stats/achievements",
        params={"group_by": "gender,age_group,county", "year": "2020-2024", "county": "46"},
        headers=analyst,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["filters"]["year"] == [2020, 2021, 2022, 2023, 2024]
    bad = client.get("/v1/stats/achievements", params={"year": "2024-2020"}, headers=analyst)
    assert bad.status_code == 422 and bad.json()["code"] == "stats.year_filter"
    unknown = client.get("/v1/stats/achievements", params={"gender": "other"}, headers=analyst)
    assert unknown.status_code == 422 and unknown.json()["code"] == "stats.unknown_code"


def test_the_table_of_contents_and_every_dimensions_codes_have_labels_in_both_languages(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    analyst = bearer(token(orgs["analyst"], STATS))
    with db.begin() as conn:
        batch = new_batch(conn, orgs["own"])
        add_achievement(
            conn,
            person_id=new_person(conn),
            batch_id=batch,
            provider_orgnr=orgs["own"],
            spec=Spec("EL1", nkr_level="5.1", nus_code="459901"),
            sector="vocational",
            credit_scheme="fagskolepoeng",
            year=2025,
        )
        finish_batch(conn, batch)
    contents = client.get("/v1/stats", headers=analyst)
    assert contents.status_code == 200, contents.text
    [table] = contents.json()["tables"]
    assert table["path"] == "/v1/stats/achievements"
    assert table["formats"] == ["json", "json-stat", "csv-nb", "csv-en"]
    assert [d["id"] for d in table["dimensions"]] == list(stats.DIMENSIONS)
    for entry in table["dimensions"]:
        response = client.get(entry["codes"], headers=analyst)
        assert response.status_code == 200, response.text
        dimension = response.json()
        assert dimension["codes"], entry["id"]
        for code in dimension["codes"]:
            assert code["label"]["nb"] and code["label"]["en"], (entry["id"], code)
    codes = {
        d: {
            c["code"]: c["label"]
            for c in client.get(f"/v1/stats/dimensions/{d}", headers=analyst).json()["codes"]
        }
        for d in ("sector", "level", "field", "grade", "county", "year", "provider", "nus")
    }
    assert codes["sector"]["vocational"] == {
        "nb": "fagskoler",
        "en": "tertiary vocational education (fagskoler)",
    }
    assert codes["level"]["5.1"]["en"].startswith("NKR 5.1")
    assert codes["field"]["0613"]["en"] == "Software and applications development and analysis"
    assert codes["grade"]["a-f:A"]["nb"].startswith("A (fremragende)")
    assert codes["county"]["46"]["nb"] == "Vestland"
    assert list(codes["year"]) == ["2025"]
    assert list(codes["provider"]) == [orgs["own"]]
    assert codes["nus"]["459901"]["nb"].startswith("Videregående, avsluttende utdanning")
    unknown = client.get("/v1/stats/dimensions/colour", headers=analyst)
    assert unknown.status_code == 404 and unknown.json()["code"] == "stats.unknown_dimension_metadata"
