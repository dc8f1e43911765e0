"""The analysts' demo: many cohorts through the real importers, none rejected, the later ones still studying.

Loaded here at three cohorts of showcase size (a few seconds), not at ``make run``'s fourteen: the
code is the same, only the counts differ, and ``test_the_analysts_demo_is_sized_for_patterns`` checks
the counts of the full size without a database.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Engine, text

from demo.load import ANALYSTS, SHOWCASE, DemoSize, collect_demo_sets, load_demo
from register.settings import Settings

pytestmark = pytest.mark.slow

SMALL = DemoSize(years=(2024, 2025, 2026), scale=1, until=2025)


def test_cohorts_load_without_a_rejection(db: Engine, settings: Settings) -> None:
    summary = load_demo(db, size=SMALL)
    lines = summary.splitlines()
    assert lines and all(line.endswith(" 0 rejected") for line in lines), [
        line for line in lines if not line.endswith(" 0 rejected")
    ]
    with db.connect() as conn:
        # The cohorts' own files (the showcase's few people beside them keep their own years).
        latest = conn.execute(
            text(
                """SELECT max(EXTRACT(year FROM a.completed_on))::int FROM achievement a JOIN import_batch b ON b.id = a.batch_id
                   WHERE b.filename ~ '-20(24|25|26)\\.'"""
            )
        ).scalar_one()
        still_at_school = conn.execute(
            text("SELECT count(*) FROM achievement WHERE source_key LIKE '%VGS-2026-%'")
        ).scalar_one()
    # Nothing after the demo's "now"; the 2026 cohort delivered the subjects finished by then.
    assert latest == SMALL.until
    assert still_at_school > 0


def test_the_showcase_is_one_year_and_the_analysts_demo_fourteen() -> None:
    showcase = [d.filename for s in collect_demo_sets(2026, SHOWCASE) for d in s.deliveries]
    assert not any("2024" in name for name in showcase)
    analysts = collect_demo_sets(2026, ANALYSTS)
    per_year = Counter(
        year for s in analysts for d in s.deliveries for year in ANALYSTS.years if str(year) in d.filename
    )
    assert set(per_year) == set(ANALYSTS.years)


def test_the_analysts_demo_is_sized_for_patterns() -> None:
    """Enough people per year in every sector but micro that a year × field table is mostly published."""
    assert ANALYSTS.people(40, 2016, growth=-0.01) * 1 >= 100  # upper-secondary pupils a year
    assert ANALYSTS.people(24, 2016, growth=0.06) >= 25  # fagskole students a year, the smallest year
    assert ANALYSTS.people(12, 2016, growth=0.03) >= 25  # university students a year per institution
