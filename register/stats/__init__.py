"""Aggregates for analysts: summary tables kept current by ingest, and suppression of small counts.

Two tables (see ``register.models.stats``): ``stats_person_cell`` (per person and finest cell) and
``stats_cell`` (the kept roll-ups of the seven dimensions, see below, with exact distinct-person counts).

Keeping them current, in two steps. (1) The ingest calls ``mark_batch_pending`` inside the batch's
transaction: the persons the batch touched (by the achievements it wrote, and by the earlier version of
those it changed, since a corrected record may move to another person) go into ``stats_pending``. That
is one cheap INSERT, so the import costs what the ingest costs. (2) ``refresh_pending`` runs in a
transaction of its own, after the import commits (``REGISTER_STATS_REFRESH=after_import``, the default)
or every few seconds in the server (``background``): it takes the pending persons out, subtracts their
old contribution from every roll-up, recomputes their finest cells from their achievements and adds
the new contribution — a person counts once in each roll-up cell they have any achievement in, so
subtracting and adding whole persons keeps distinct counts exact. A person touched by many batches
before a refresh is recomputed once. All of it is set-based SQL over the pending persons only; the
cost follows the deliveries, not the register. If a refresh fails, its persons stay pending (the
transaction rolls back) and the next refresh takes them: nothing is lost, the aggregates only lag.

Each refresh that changed something bumps ``stats_state.version``; ``statistics_version`` reads it, so
the API caches answers until it moves.

Which roll-ups are kept: all 32 combinations of the five dimensions analysts group by most and whose
values are few — sector, year, provider, level, field (``MATERIALIZED``). The other two, NUS code and
grade, have many values each; every roll-up that keeps them multiplies the cells (at 3 000 persons
the full cube of 128 roll-ups was 740 000 cells and 7 s to build, these 32 are 30 000 cells and under
1 s), and the cube's size follows the persons, so at national scale it could not be kept current.

Answering: ``achievement_stats`` reads exactly one roll-up level: the one that keeps the grouped and
the filtered dimensions — from ``stats_cell`` when it is kept there (one index scan), otherwise
computed on demand from ``stats_person_cell`` in one aggregate (exact as well: a scan of the person
cells, so slower; the API caches every answer until the next refresh). Filters are equalities, on
purpose: a filter that spans several values would have to add cells together, and distinct persons do
not add up.

Suppression: a cell with fewer persons than the threshold is suppressed (primary). Then, in every
line of the table (the cells that differ in one grouped dimension only, whose sum is the margin an
analyst can ask for separately), a line holding exactly one suppressed cell gets its smallest other
cell suppressed too (secondary), repeated until no line has a lone suppressed cell — so no suppressed
value can be recovered by subtracting the others from the margin. Suppression is decided on the
whole table before filters are applied, so a filtered view never shows what the unfiltered view hides.

Suppression per table does not hold against an analyst who combines tables (one table's margin minus
another's inner cells), so every figure is also perturbed by the cell-key method
(``register.disclosure``): the refresh keeps, beside the counts, the sums of the record keys of each
cell's persons and achievements (``person_key``, ``achievement_key``), and the answer turns them into
noise that is the same for the same contributors in every table. A cell is suppressed when its true or
its perturbed number of persons is under the threshold.

The modules: ``cube`` (the dimensions, the kept roll-ups and the SQL that builds them), ``refresh``
(keeping the tables current), ``query`` (answering), ``suppression`` (the rule), ``views`` (the
answer's cells) and ``cache`` (answers kept until the version moves).
"""

from register.stats.cache import VersionedCache, cached_answer, statistics_version
from register.stats.cube import DIMENSIONS, MATERIALIZED, MAX_TABLE_CELLS, STORED, rolled_mask
from register.stats.query import achievement_stats, parse_group_by, parse_years
from register.stats.refresh import (
    RefreshReport,
    mark_batch_pending,
    pending_persons,
    rebuild,
    refresh_pending,
    refresh_persons,
    refresh_round,
)
from register.stats.views import ProviderRef, StatsCellView, StatsResult

__all__ = [
    "DIMENSIONS",
    "MATERIALIZED",
    "MAX_TABLE_CELLS",
    "STORED",
    "ProviderRef",
    "RefreshReport",
    "StatsCellView",
    "StatsResult",
    "VersionedCache",
    "achievement_stats",
    "cached_answer",
    "mark_batch_pending",
    "parse_group_by",
    "parse_years",
    "pending_persons",
    "rebuild",
    "refresh_pending",
    "refresh_persons",
    "refresh_round",
    "rolled_mask",
    "statistics_version",
]
