"""Property: whatever sequence of deliveries several providers make — random learners and identifiers,
re-sends, corrections, withdrawals, a county delivering for its schools — no achievement changes
person, no person holds a national id (or any identifier) that was not delivered as its own, and no
result is stored twice. Concurrent uploads are the deterministic tests at the end (two threads)."""

from __future__ import annotations

import io
import random
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from intake.batches import BatchReport, run_import
from register.identity import NATIONAL_KINDS
from register.settings import Settings
from register.synthetic import synthetic_nin
from tests.conftest import _truncate_all
from tests.factories import create_organisation
from tests.foundation.recordlines import lines

pytestmark = pytest.mark.usefixtures("record_lines")

_rng = random.Random(2026)
NINS = [synthetic_nin(_rng) for _ in range(4)]
ESIS = [f"urn:schac:personalUniqueCode:int:esi:no:{i}" for i in range(3)]
# The learners a provider may name: (national ids, ESIs). Some agree with each other, some conflict:
# the same ESI with two national ids, two national ids at once, an ESI alone.
LEARNERS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    ((NINS[0],), ()),
    ((NINS[0],), (ESIS[0],)),
    ((NINS[1],), (ESIS[0],)),
    ((NINS[1],), ()),
    ((), (ESIS[0],)),
    ((), (ESIS[1],)),
    ((NINS[2],), (ESIS[1],)),
    ((NINS[0], NINS[1]), ()),
    ((), (ESIS[0], ESIS[1])),
    ((NINS[3],), (ESIS[2],)),
]
KEYS = [f"k{i}" for i in range(5)]

record_strategy = st.fixed_dictionaries(
    {
        "learner": st.integers(0, len(LEARNERS) - 1),
        "key": st.sampled_from(KEYS),
        "school": st.integers(0, 1),
        "grade": st.sampled_from(["2", "4", "6"]),
        "withdrawn": st.booleans(),
    }
)
delivery_strategy = st.tuples(st.integers(0, 2), st.lists(record_strategy, min_size=1, max_size=4))


def as_line(spec: dict[str, Any], orgs: list[str]) -> dict[str, Any]:
    nins, esis = LEARNERS[spec["learner"]]
    line: dict[str, Any] = {
        "nin": nins[0] if nins else None,
        "extra_ids": [{"kind": "nin", "value": n} for n in nins[1:]]
        + [{"kind": "esi", "value": e} for e in esis],
        "key": spec["key"],
        "org": orgs[spec["school"]],
        "grade": spec["grade"],
        "code": f"L{spec['learner']}",  # which learner the stored result was delivered for
    }
    if spec["withdrawn"]:
        line |= {"status": "withdrawn", "reason": "registered in error"}
    return line


def check_invariants(db: Engine, first_person: dict[Any, Any]) -> None:
    with db.connect() as conn:
        held = {
            value: person
            for value, person in conn.execute(text("SELECT value, person_id FROM person_identifier"))
        }
        # Every identifier held was delivered; no person holds two national ids.
        assert set(held) <= set(NINS) | set(ESIS)
        doubles = conn.execute(
            text(
                "SELECT person_id FROM person_identifier WHERE kind = ANY(:k) GROUP BY person_id HAVING count(*) > 1"
            ),
            {"k": list(NATIONAL_KINDS)},
        ).all()
        assert doubles == []
        rows = conn.execute(
            text(
                """SELECT a.id, a.person_id, s.code FROM achievement a
                   JOIN learning_specification s ON s.id = a.specification_id"""
            )
        ).all()
        # Every version of an achievement belongs to its one person.
        moved = conn.execute(
            text(
                """SELECT count(*) FROM achievement_version v JOIN achievement a ON a.id = v.achievement_id
                   WHERE v.person_id <> a.person_id"""
            )
        ).scalar()
        assert moved == 0
        # One row per (awarding organisation, key), whoever delivered it.
        assert conn.execute(
            text("SELECT count(*) = count(DISTINCT (source_key, awarding_org_id)) FROM achievement")
        ).scalar()
    for achievement_id, person_id, code in rows:
        # A result never changes person, and its person is the one its learner's identifiers name.
        assert first_person.setdefault(achievement_id, person_id) == person_id
        nins, esis = LEARNERS[int(code[1:])]
        if nins:
            assert held.get(nins[0]) == person_id
        else:
            assert person_id in {held.get(e) for e in esis}


@hypothesis_settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deliveries=st.lists(delivery_strategy, min_size=1, max_size=5))
def test_deliveries_never_move_merge_or_double_results(
    db: Engine, settings: Settings, deliveries: list[tuple[int, list[dict[str, Any]]]]
) -> None:
    _truncate_all(db)
    schools = [create_organisation(db, name=f"Skole {i}") for i in range(2)]
    county = create_organisation(db, name="Fylket", kind="county", delivers_for=schools)
    providers = [*schools, county]
    first_person: dict[Any, Any] = {}
    for provider_index, specs in deliveries:
        provider = providers[provider_index]
        report = run_import(
            db,
            io.BytesIO(lines(*(as_line(s, schools) for s in specs))),
            sector="primary",
            provider_orgnr=provider,
            settings=settings,
        )
        assert report.status in ("completed", "duplicate")
        check_invariants(db, first_person)


def _at_once(
    db: Engine, settings: Settings, uploads: list[tuple[str, list[dict[str, Any]]]]
) -> list[BatchReport]:
    start = threading.Barrier(len(uploads))
    reports: list[BatchReport] = []

    def upload(provider: str, records: list[dict[str, Any]]) -> None:
        start.wait()
        reports.append(
            run_import(
                db, io.BytesIO(lines(*records)), sector="primary", provider_orgnr=provider, settings=settings
            )
        )

    threads = [threading.Thread(target=upload, args=u) for u in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports


def test_two_providers_at_once_cannot_give_one_new_esi_to_two_persons(db: Engine, settings: Settings) -> None:
    """Two uploads at the same moment, each a new national id with the same new ESI: the one that
    commits first makes its person; the other's records are conflicts (the final re-check), never
    attached to the first person."""
    north, south = create_organisation(db, name="Nord"), create_organisation(db, name="Sør")
    esi = {"kind": "esi", "value": ESIS[0]}
    reports = _at_once(
        db,
        settings,
        [
            (north, [{"nin": NINS[0], "key": "n-1", "org": north, "extra_ids": [esi], "code": "L1"}]),
            (south, [{"nin": NINS[1], "key": "s-1", "org": south, "extra_ids": [esi], "code": "L2"}]),
        ],
    )
    assert sorted((r.accepted, r.rejected) for r in reports) == [(0, 1), (1, 0)]
    check_invariants(db, {})
