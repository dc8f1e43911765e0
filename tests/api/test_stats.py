"""The summary tables and the analysts' aggregates: exact counts, incremental = rebuild, suppression."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from decimal import Decimal
from math import comb

import pytest
from sqlalchemy import Connection, Engine, text

from register import disclosure, stats
from register.classifications import age_group_sql
from register.errors import InvalidInput
from register.stats import query as stats_query
from tests.api.rows import Spec, add_achievement, finish_batch, new_batch, new_person
from tests.factories import create_organisation

ALL_CELLS = (
    "SELECT rolled, sector, year, provider_id, level, field, nus, grade_scheme, grade_value, "
    "achievements, persons, credits_ects, credits_fagskolepoeng, credits_hours, person_key, achievement_key "
    "FROM stats_cell"
)


def _snapshot(conn: Connection) -> set[tuple]:
    return {tuple(row) for row in conn.execute(text(ALL_CELLS))}


def _change(conn: Connection, achievement_id: uuid.UUID, batch_id: uuid.UUID, **new: object) -> None:
    """What the ingest does with a changed record: old version to history, row updated by the new batch."""
    conn.execute(
        text(
            """INSERT INTO achievement_version (achievement_id, version, person_id, batch_id, content_hash, status,
                                                content)
               SELECT id, version, person_id, batch_id, content_hash, status, '{}'::jsonb FROM achievement
               WHERE id = :id"""
        ),
        {"id": achievement_id},
    )
    sets = ", ".join(f"{k} = :{k}" for k in new)
    conn.execute(
        text(f"UPDATE achievement SET {sets}, version = version + 1, batch_id = :batch WHERE id = :id"),
        {**new, "batch": batch_id, "id": achievement_id},
    )


def test_incremental_refresh_equals_rebuild_through_inserts_changes_and_withdrawals(db: Engine) -> None:
    rng = random.Random(7)
    orgs = [create_organisation(db, name=f"Høgskole {i}", kind="university") for i in range(3)]
    specs = [
        Spec("MAT101", iscedf_code="0541", credits=Decimal("10"), credit_scheme="ects"),
        Spec("INF100", iscedf_code="0613", nkr_level="6"),
        Spec("FAG200", iscedf_code=None, nus_code="459901", nkr_level="5.1"),
        Spec("BRED1", kind="qualification", nkr_level="7", iscedf_code=None),
    ]
    grades = [("a-f", "A", True), ("a-f", "F", False), ("pass-fail", "bestått", True), None]
    with db.begin() as conn:
        persons = [new_person(conn) for _ in range(12)]
    written: list[uuid.UUID] = []
    for round_ in range(4):
        with db.begin() as conn:
            batch = new_batch(conn, orgs[round_ % 3])
            for _ in range(25):
                written.append(
                    add_achievement(
                        conn,
                        person_id=rng.choice(persons),
                        batch_id=batch,
                        provider_orgnr=orgs[round_ % 3],
                        spec=rng.choice(specs),
                        sector=rng.choice(["higher", "vocational"]),
                        year=rng.choice([2022, 2023, None]),
                        grade=rng.choice(grades),
                        credits=rng.choice([None, Decimal("7.5"), Decimal("30")]),
                        credit_scheme=rng.choice(["ects", "fagskolepoeng", "hours"]),
                    )
                )
            # Later batches also correct earlier results: another person, another grade, a withdrawal.
            if round_:
                for achievement_id in rng.sample(written[:-25], 6):
                    _change(conn, achievement_id, batch, person_id=rng.choice(persons), grade_value="C")
                for achievement_id in rng.sample(written[:-25], 3):
                    _change(
                        conn, achievement_id, batch, status="withdrawn", withdrawal_reason="feilregistrert"
                    )
            finish_batch(conn, batch)
    with db.begin() as conn:
        incremental = _snapshot(conn)
        stats.rebuild(conn)
        rebuilt = _snapshot(conn)
        valid = conn.execute(text("SELECT count(*) FROM achievement WHERE status = 'valid'")).scalar_one()
        total = conn.execute(text("SELECT achievements FROM stats_cell WHERE rolled = 127")).scalar_one()
    assert incremental == rebuilt
    assert total == valid
    assert len(rebuilt) > 100  # the comparison covered many roll-up cells, not a trivial table


@pytest.fixture
def two_providers(db: Engine) -> tuple[str, str]:
    return create_organisation(db, name="Universitetet A", kind="university"), create_organisation(
        db, name="Fagskolen B", kind="fagskole"
    )


def _people_with(
    conn: Connection, batch: uuid.UUID, provider: str, n: int, **kwargs: object
) -> list[uuid.UUID]:
    ids = []
    for _ in range(n):
        person = new_person(conn)
        ids.append(add_achievement(conn, person_id=person, batch_id=batch, provider_orgnr=provider, **kwargs))
    return ids


def test_counts_persons_and_credits_per_scheme(db: Engine, two_providers: tuple[str, str]) -> None:
    uni, _ = two_providers
    spec = Spec("MAT101")
    with db.begin() as conn:
        batch = new_batch(conn, uni)
        person = new_person(conn)
        # One person, three results: two passed (10 + 5 ECTS), one failed (earns nothing).
        add_achievement(conn, person_id=person, batch_id=batch, provider_orgnr=uni, spec=spec)
        add_achievement(
            conn, person_id=person, batch_id=batch, provider_orgnr=uni, spec=spec, credits=Decimal(5)
        )
        add_achievement(
            conn, person_id=person, batch_id=batch, provider_orgnr=uni, spec=spec, grade=("a-f", "F", False)
        )
        add_achievement(
            conn,
            person_id=person,
            batch_id=batch,
            provider_orgnr=uni,
            spec=spec,
            credit_scheme="fagskolepoeng",
        )
        finish_batch(conn, batch)
        result = stats.achievement_stats(conn, group_by=["sector"], filters={}, threshold=1, exact=True)
    [cell] = result.cells
    assert cell.key == {"sector": "higher"}
    assert (cell.achievements, cell.persons) == (4, 1)
    assert cell.credits == {"ects": Decimal("15.00"), "fagskolepoeng": Decimal("10.00")}


def _lines_have_no_lone_suppressed_cell(result: stats.StatsResult) -> None:
    dims = result.group_by
    for i in range(len(dims)):
        lines: dict[tuple, list[stats.StatsCellView]] = {}
        for cell in result.cells:
            key = tuple(str(cell.key[d]) for j, d in enumerate(dims) if j != i)
            lines.setdefault(key, []).append(cell)
        for members in lines.values():
            if len(members) > 1:
                assert sum(c.suppressed for c in members) != 1, members


def test_small_cells_are_suppressed_and_cannot_be_recovered_from_margins(
    db: Engine, two_providers: tuple[str, str]
) -> None:
    uni, _ = two_providers
    with db.begin() as conn:
        batch = new_batch(conn, uni)
        # year × grade: (2023, A) has 2 persons → primary; its row and column each need a second cell.
        for year, grade, n in [
            (2023, "A", 2),
            (2023, "B", 6),
            (2023, "C", 9),
            (2024, "A", 7),
            (2024, "B", 8),
            (2024, "C", 12),
        ]:
            _people_with(conn, batch, uni, n, spec=Spec("X1"), year=year, grade=("a-f", grade, True))
        finish_batch(conn, batch)
        # exact: this is the secondary pattern on the true counts (the noise only adds primaries)
        result = stats.achievement_stats(
            conn, group_by=["year", "grade"], filters={}, threshold=5, exact=True
        )
        margins = stats.achievement_stats(conn, group_by=["year"], filters={}, threshold=5, exact=True)
    cells = {(c.key["year"], c.key["grade"][1]): c for c in result.cells}
    assert cells[(2023, "A")].suppressed and cells[(2023, "A")].persons is None
    assert cells[(2023, "A")].achievements is None and cells[(2023, "A")].credits is None
    # Secondary: the smallest other cell of the row (2023, B) and of the column (2024, A) go too,
    # and then (2024, B) so that row 2024 and column B do not hold a lone suppressed cell either.
    assert {k for k, c in cells.items() if c.suppressed} == {
        (2023, "A"),
        (2023, "B"),
        (2024, "A"),
        (2024, "B"),
    }
    _lines_have_no_lone_suppressed_cell(result)
    # The margins are published and unsuppressed; the hidden cells only add up in pairs.
    assert all(not c.suppressed for c in margins.cells)


def test_a_filtered_view_hides_what_the_whole_table_hides(db: Engine, two_providers: tuple[str, str]) -> None:
    uni, _ = two_providers
    with db.begin() as conn:
        batch = new_batch(conn, uni)
        for sector, year, n in [
            ("higher", 2024, 2),
            ("higher", 2023, 9),
            ("higher", 2022, 30),
            ("vocational", 2024, 6),
            ("vocational", 2023, 20),
            ("vocational", 2022, 7),
        ]:
            _people_with(conn, batch, uni, n, spec=Spec("X1"), sector=sector, year=year)
        finish_batch(conn, batch)
        filtered = stats.achievement_stats(
            conn, group_by=["year"], filters={"sector": "vocational"}, threshold=5, exact=True
        )
        whole = stats.achievement_stats(
            conn, group_by=["sector", "year"], filters={}, threshold=5, exact=True
        )
    # (vocational, 2024) has 6 persons, above the threshold, but shown it would give away (higher, 2024) = 2
    # as the 2024 margin minus it: the filtered view must hide it as the whole table does.
    by_year = {c.key["year"]: c.suppressed for c in filtered.cells}
    assert by_year == {2022: False, 2023: True, 2024: True}
    assert by_year == {c.key["year"]: c.suppressed for c in whole.cells if c.key["sector"] == "vocational"}
    assert filtered.filters == {"sector": "vocational"} and filtered.group_by == ["year"]


def test_filters_and_dimensions_are_checked(db: Engine, two_providers: tuple[str, str]) -> None:
    uni, fagskole = two_providers
    with db.begin() as conn:
        batch = new_batch(conn, fagskole)
        _people_with(
            conn,
            batch,
            fagskole,
            6,
            spec=Spec("F1", nkr_level="5.1"),
            sector="vocational",
            grade=("pass-fail", "bestått", True),
        )
        # A micro-credential knows only its EQF level: it is grouped as "EQF 6", not as unknown.
        _people_with(conn, batch, fagskole, 5, spec=Spec("M1", nkr_level=None, eqf_level=6), sector="micro")
        finish_batch(conn, batch)
        levels = stats.achievement_stats(conn, group_by=["level"], filters={}, threshold=5, exact=True)
        by_provider = stats.achievement_stats(
            conn,
            group_by=["provider", "level"],
            filters={"grade": "pass-fail:bestått"},
            threshold=5,
            exact=True,
        )
        none = stats.achievement_stats(conn, group_by=["level"], filters={"provider": uni}, threshold=5)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stats_query, "MAX_TABLE_CELLS", 1)
            with pytest.raises(InvalidInput) as too_many:
                stats.achievement_stats(conn, group_by=["level"], filters={}, threshold=5)
        with pytest.raises(InvalidInput) as unknown:
            stats.parse_group_by("sector,person")
        with pytest.raises(InvalidInput) as bad_grade:
            stats.achievement_stats(conn, group_by=[], filters={"grade": "A"}, threshold=5)
    assert [(c.key["level"], c.persons) for c in levels.cells] == [("5.1", 6), ("EQF 6", 5)]
    [cell] = by_provider.cells
    assert cell.key["provider"].orgnr == fagskole and cell.key["level"] == "5.1" and cell.persons == 6
    assert none.cells == []
    assert unknown.value.code == "stats.unknown_dimension" and too_many.value.code == "stats.too_many_cells"
    assert bad_grade.value.code == "stats.grade_filter"


def test_every_rollup_level_is_reachable() -> None:
    names = list(stats.STORED)
    masks = {
        stats.rolled_mask(set(c)) for r in range(len(names) + 1) for c in itertools.combinations(names, r)
    }
    assert masks == set(range(2 ** len(names)))
    assert stats.rolled_mask(set()) == 127 and stats.rolled_mask(set(names)) == 0


_DIRECT_COLUMNS = {
    "sector": ["a.sector"],
    "year": ["a.year"],
    "provider": ["o.orgnr"],
    "level": ["coalesce(s.nkr_level, 'EQF ' || s.eqf_level)"],
    "field": ["s.iscedf_code"],
    "nus": ["s.nus_code"],
    "grade": ["a.grade_scheme", "a.grade_value"],
    "gender": ["p.gender"],
    "age_group": [age_group_sql("a.year - CAST(extract(year FROM p.birth_date) AS integer)")],
    "county": ["o.county"],
}


def _direct(conn: Connection, group_by: list[str]) -> dict[tuple, tuple]:
    """The same figures counted straight from the achievements, the slow way."""
    columns = [c for d in group_by for c in _DIRECT_COLUMNS[d]]
    select = ", ".join(columns) + ", " if columns else ""
    group = "GROUP BY " + ", ".join(columns) if columns else ""
    rows = conn.execute(
        text(
            f"""SELECT {select} count(*), count(DISTINCT a.person_id),
                       coalesce(sum(a.credits) FILTER (WHERE a.credit_scheme = 'ects' AND a.grade_passed IS NOT FALSE), 0)
                FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
                JOIN organisation o ON o.id = a.awarding_org_id JOIN person p ON p.id = a.person_id
                WHERE a.status = 'valid' {group}"""
        )
    ).all()
    return {tuple(r[: len(columns)]): tuple(r[len(columns) :]) for r in rows}


def _flat_key(cell: stats.StatsCellView, group_by: list[str]) -> tuple:
    key: list = []
    for d in group_by:
        value = cell.key[d]
        if d == "provider":
            key.append(value.orgnr)
        elif d == "grade":
            key.extend(value if value is not None else (None, None))
        else:
            key.append(value)
    return tuple(key)


def test_every_grouping_agrees_with_counting_the_achievements(db: Engine) -> None:
    rng = random.Random(11)
    orgs = [
        create_organisation(db, name=f"Skole {i}", kind="university", county=c)
        for i, c in enumerate(["03", None])
    ]
    specs = [
        Spec("A", nkr_level="6", iscedf_code="0613", nus_code=None),
        Spec("B", nkr_level=None, eqf_level=5, iscedf_code=None, nus_code="459901"),
        Spec("C", nkr_level="5.2", iscedf_code="0541", nus_code="459902"),
    ]
    with db.begin() as conn:
        batch = new_batch(conn, orgs[0])
        persons = [new_person(conn) for _ in range(15)]
        for i, person in enumerate(persons):  # some delivered a gender, some a birth date, some neither
            conn.execute(
                text("UPDATE person SET gender = :g, birth_date = :b WHERE id = :p"),
                {
                    "g": [None, "female", "male"][i % 3],
                    "b": None if i % 4 == 0 else dt.date(1975 + 4 * i, 1 + i % 12, 1 + i),
                    "p": person,
                },
            )
        for _ in range(60):
            add_achievement(
                conn,
                person_id=rng.choice(persons),
                batch_id=batch,
                provider_orgnr=rng.choice(orgs),
                spec=rng.choice(specs),
                sector=rng.choice(["higher", "micro"]),
                year=rng.choice([2023, 2024, None]),
                grade=rng.choice([("a-f", "A", True), ("a-f", "F", False), None]),
                credits=rng.choice([Decimal("5"), None]),
            )
        finish_batch(conn, batch)
        names = list(stats.DIMENSIONS)
        for size in range(len(names) + 1):
            for group_by in rng.sample(
                list(itertools.combinations(names, size)), min(4, comb(len(names), size))
            ):
                answer = stats.achievement_stats(
                    conn, group_by=list(group_by), filters={}, threshold=1, exact=True
                )
                got = {
                    _flat_key(c, list(group_by)): (
                        c.achievements,
                        c.persons,
                        (c.credits or {}).get("ects", 0),
                    )
                    for c in answer.cells
                }
                assert got == _direct(conn, list(group_by)), group_by


def test_figures_are_perturbed_within_bounds_and_alike_wherever_a_cell_is_asked(db: Engine) -> None:
    """The cell-key method (register.disclosure): bounded noise, marked, one answer per population."""
    rng = random.Random(5)
    orgs = [create_organisation(db, name=f"Skole {i}", kind="university") for i in range(2)]
    specs = [Spec("A", nkr_level="6", iscedf_code="0613"), Spec("B", nkr_level="7", iscedf_code="0541")]
    with db.begin() as conn:
        batch = new_batch(conn, orgs[0])
        for _ in range(120):
            person = new_person(conn)
            for _ in range(rng.choice([1, 2, 3])):
                add_achievement(
                    conn,
                    person_id=person,
                    batch_id=batch,
                    provider_orgnr=rng.choice(orgs),
                    spec=rng.choice(specs),
                    year=rng.choice([2023, 2024]),
                    credits=Decimal(rng.choice(["7.5", "10"])),
                )
        # Only provider 1 delivers micro-credentials: its micro cell and the micro total are one population.
        for _ in range(7):
            add_achievement(
                conn, person_id=new_person(conn), batch_id=batch, provider_orgnr=orgs[1], spec=specs[0],
                sector="micro",
            )  # fmt: skip
        finish_batch(conn, batch)

        def ask(group_by: list[str], filters: dict | None = None, exact: bool = False) -> stats.StatsResult:
            return stats.achievement_stats(
                conn, group_by=group_by, filters=filters or {}, threshold=5, exact=exact
            )

        noisy, exact = ask(["provider", "year", "level"]), ask(["provider", "year", "level"], exact=True)
        by_sector = {c.key["sector"]: c for c in ask(["sector"]).cells}
        micro_of_provider = ask(["sector"], {"provider": orgs[1]}).cells
        filtered = ask(["provider", "year"], {"level": "7"}).cells
        again = ask(["provider", "year", "level"])
    differences = []
    for shown, true in zip(noisy.cells, exact.cells, strict=True):
        assert shown.key == true.key and not shown.suppressed and not true.suppressed
        assert shown.perturbed and not true.perturbed
        assert shown.persons is not None and true.persons is not None and shown.achievements is not None
        assert abs(shown.persons - true.persons) <= disclosure.COUNT_NOISE
        assert abs(shown.achievements - (true.achievements or 0)) <= disclosure.COUNT_NOISE
        assert shown.achievements >= shown.persons >= 5
        for scheme, value in (true.credits or {}).items():
            assert abs((shown.credits or {})[scheme] - value) <= disclosure.credit_amplitude(value)
        differences.append(shown.persons - true.persons)
    assert any(differences), "no cell carries noise"
    assert noisy.rule == disclosure.RULE
    # Asked again, filtered, or in another table over the same people: the same figures.
    assert [(c.persons, c.achievements, c.credits) for c in again.cells] == [
        (c.persons, c.achievements, c.credits) for c in noisy.cells
    ]
    in_three = {(c.key["provider"], c.key["year"]): c for c in noisy.cells if c.key["level"] == "7"}
    assert [(c.persons, c.achievements) for c in filtered] == [
        (
            in_three[(c.key["provider"], c.key["year"])].persons,
            in_three[(c.key["provider"], c.key["year"])].achievements,
        )
        for c in filtered
    ]
    [micro] = [c for c in micro_of_provider if c.key["sector"] == "micro"]
    assert (micro.persons, micro.achievements) == (
        by_sector["micro"].persons,
        by_sector["micro"].achievements,
    )
