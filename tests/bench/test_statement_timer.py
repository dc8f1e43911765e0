"""The benchmark's statement timer sees every round trip: SQLAlchemy's, the driver's own cursor, COPY."""

from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import Engine, text

from benchmarks.run import StatementTimer

pytestmark = pytest.mark.bench


def _select_42(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 42"))


def test_the_timer_sees_statements_of_sqlalchemy_of_the_driver_cursor_and_copy(db: Engine) -> None:
    saved_execute, saved_copy = psycopg.Cursor.execute, psycopg.Cursor.copy
    with db.begin() as conn, StatementTimer() as timer:
        conn.execute(text("CREATE TEMP TABLE timed (n int) ON COMMIT DROP"))
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cur.copy("COPY timed (n) FROM STDIN") as copy:
            for n in range(100):
                copy.write_row((n,))
        for _ in range(3):
            cur.execute("SELECT n FROM timed WHERE n < %(limit)s", {"limit": 10})
        # another thread's statements are not this import's
        other = threading.Thread(target=_select_42, args=(db,))
        other.start()
        other.join()
    by_statement = {s["statement"]: s for s in timer.slowest(10)}
    assert set(by_statement) == {
        "CREATE TEMP TABLE timed (n int) ON COMMIT DROP",
        "COPY timed (n) FROM STDIN",
        "SELECT n FROM timed WHERE n < %(limit)s",
    }
    assert by_statement["COPY timed (n) FROM STDIN"]["rows"] == 100
    assert by_statement["SELECT n FROM timed WHERE n < %(limit)s"]["calls"] == 3
    assert by_statement["SELECT n FROM timed WHERE n < %(limit)s"]["rows"] == 30
    assert timer.total == sum(entry[0] for entry in timer.statements.values()) > 0
    # and the driver is itself again afterwards: nothing after the block is timed
    assert psycopg.Cursor.execute is saved_execute and psycopg.Cursor.copy is saved_copy
    with db.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert "SELECT 1" not in timer.statements
