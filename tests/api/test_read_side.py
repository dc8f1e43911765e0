"""The read side's cost does not grow with the data returned, and suppression holds on any table."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event

from register import stats
from register.queries import person_view
from register.stats.suppression import suppress
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.factories import create_organisation


def _statements(db: Engine, person_id: uuid.UUID) -> tuple[int, int]:
    count = 0

    def counter(*_: object) -> None:
        nonlocal count
        count += 1

    event.listen(db, "before_cursor_execute", counter)
    try:
        with db.connect() as conn:
            view = person_view(conn, person_id)
    finally:
        event.remove(db, "before_cursor_execute", counter)
    assert view is not None
    return count, len(view.achievement_ids())


def test_a_lookup_is_one_statement_however_many_results(db: Engine) -> None:
    org = create_organisation(db, name="Universitetet", kind="university")
    with db.begin() as conn:
        small, large = new_person(conn), new_person(conn)
        batch = new_batch(conn, org)
        add_achievement(conn, person_id=small, batch_id=batch, provider_orgnr=org, spec=Spec("A"))
        for d in range(5):
            degree = add_achievement(
                conn,
                person_id=large,
                batch_id=batch,
                provider_orgnr=org,
                spec=Spec(f"D{d}", kind="programme"),
                kind="degree",
                grade=None,
            )
            for c in range(20):
                add_achievement(
                    conn,
                    person_id=large,
                    batch_id=batch,
                    provider_orgnr=org,
                    spec=Spec(f"C{d}-{c}"),
                    part_of=degree,
                )
    assert _statements(db, small) == (1, 1)
    assert _statements(db, large) == (1, 105)


_cells = st.dictionaries(
    keys=st.tuples(
        st.sampled_from(["higher", "vocational", "micro"]), st.integers(2019, 2024), st.sampled_from("ABCF")
    ),
    values=st.integers(1, 12),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(table=_cells, threshold=st.integers(2, 6))
def test_no_line_holds_a_lone_suppressed_cell(table: dict[tuple[str, int, str], int], threshold: int) -> None:
    dims = ["sector", "year", "grade"]
    cells = [
        stats.StatsCellView(
            key=dict(zip(dims, key, strict=True)), achievements=n, persons=n, credits={"ects": Decimal(n)}
        )
        for key, n in table.items()
    ]
    suppress(cells, dims, threshold)
    for cell, n in zip(cells, table.values(), strict=True):
        if n < threshold:
            assert cell.suppressed  # primary
        if cell.suppressed:
            assert cell.achievements is None and cell.persons is None and cell.credits is None
        else:
            assert cell.persons == n
    for i in range(len(dims)):
        lines: dict[tuple, list[bool]] = defaultdict(list)
        for cell in cells:
            lines[tuple(cell.key[d] for j, d in enumerate(dims) if j != i)].append(cell.suppressed)
        for hidden in lines.values():
            # a margin minus the shown cells would give a lone hidden cell away
            assert len(hidden) == 1 or sum(hidden) != 1
