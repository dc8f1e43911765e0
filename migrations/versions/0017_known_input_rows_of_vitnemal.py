"""Known input: the row formats' rows remembered one by one are forgotten

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 08:30:00

Since the primary CSV's ``mapping_version`` 2 a vitnemål's adjacent rows are one raw record
(``importers.tabular.known_rows``): the rows the primary importer remembered one by one can never be
looked up again (every digest folds the mapping version in), and ``register known-input sweep`` would
never remove them (their achievements are still current). At national scale they were 20.9 M rows
in 5.4 GB. They are the rows whose note is a row's vitnemål check ("new" or "seen": a group's note
starts with its rows' counts instead); the vocational CSV's rows carry the same notes and go too —
its next re-send is read in full once and remembered anew, as after any change of mapping. Nothing
else is lost: the table only remembers what was delivered, to skip it. The freed space is reused by
later rows (``VACUUM (FULL) known_input`` gives it back to the disk, docs/operations.md).

Downgrade restores nothing: the rows were a cache of deliveries, and the code before this revision
reads every primary row that is not remembered, with the same result.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""DELETE FROM known_input WHERE note LIKE '["new", %' OR note LIKE '["seen", %'""")


def downgrade() -> None:
    pass
