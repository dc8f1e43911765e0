"""The ingest behaviours, each against the real database through the import job."""

from __future__ import annotations

import gc
import io
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg.errors import DeadlockDetected
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

import intake.batches
from intake.batches import BatchReport, run_import
from register.ingest.collector import collector_paused
from register.settings import Settings
from tests.factories import create_organisation, new_nin
from tests.foundation.recordlines import SimulatedCrash, lines

pytestmark = pytest.mark.usefixtures("record_lines")


@pytest.fixture
def school(db: Engine) -> str:
    return create_organisation(db, name="Nordby videregående skole")


def deliver(engine: Engine, settings: Settings, provider: str, *records: dict[str, Any]) -> BatchReport:
    return run_import(
        engine, io.BytesIO(lines(*records)), sector="primary", provider_orgnr=provider, settings=settings
    )


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


@pytest.fixture
def pupil() -> Iterator[str]:
    yield new_nin()


def test_new_records_are_accepted(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    report = deliver(
        db, settings, school,
        {"nin": pupil, "key": "vm-1", "org": school, "kind": "diploma", "grade": None, "code": "VM", "title": "Vitnemål"},
        {"nin": pupil, "key": "s-1", "org": school, "parent": "vm-1"},
        {"nin": pupil, "key": "s-2", "org": school, "parent": "vm-1", "code": "MAT1019", "grade": "5"},
    )  # fmt: skip
    assert (report.status, report.accepted, report.unchanged, report.rejected) == ("completed", 3, 0, 0)
    assert report.exit_code == 0
    assert count(db, "SELECT count(*) FROM person") == 1
    assert count(db, "SELECT count(*) FROM achievement WHERE part_of_id IS NOT NULL") == 2
    assert count(db, "SELECT count(*) FROM achievement_version") == 0


def test_identical_resend_changes_nothing(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    first = deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school})
    # Same records in a different file (another line order, another ref): no new version.
    second = deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "ref": "row 9"})
    assert (first.accepted, second.accepted, second.unchanged) == (1, 0, 1)
    assert count(db, "SELECT max(version) FROM achievement") == 1
    assert count(db, "SELECT count(*) FROM achievement_version") == 0


def test_same_file_twice_is_recognised(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    first = deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school})
    again = deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school})
    assert again.status == "duplicate"
    assert again.duplicate_of == first.batch_id
    assert count(db, "SELECT count(*) FROM import_batch WHERE status = 'duplicate'") == 1


def test_changed_record_makes_a_new_version(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "grade": "3"})
    report = deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "grade": "5"})
    assert (report.accepted, report.unchanged) == (1, 0)
    with db.connect() as conn:
        current = conn.execute(text("SELECT version, grade_value FROM achievement")).one()
        old = conn.execute(text("SELECT version, content->>'grade_value' FROM achievement_version")).one()
    assert tuple(current) == (2, "5")
    assert tuple(old) == (1, "3")


def test_a_first_delivery_neither_updates_nor_copies_history(
    db: Engine, settings: Settings, school: str, pupil: str
) -> None:
    """Nothing stored yet, so nothing to update: the UPDATE and the history copy are not even sent
    (an UPDATE joining nothing hash-joined the whole achievement table). With one record stored and
    changed beside a new one, both run and each record gets its due."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    def updates() -> list[str]:
        return [s for s in statements if "UPDATE achievement " in s or "INSERT INTO achievement_version" in s]

    event.listen(db, "before_cursor_execute", seen)
    try:
        first = deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "grade": "3"})
        assert (first.accepted, first.new) == (1, 1)
        assert updates() == []
        statements.clear()
        second = deliver(
            db, settings, school,
            {"nin": pupil, "key": "s-1", "org": school, "grade": "5"},
            {"nin": pupil, "key": "s-2", "org": school, "grade": "4"},
        )  # fmt: skip
    finally:
        event.remove(db, "before_cursor_execute", seen)
    assert (second.accepted, second.new, second.changed) == (2, 1, 1)
    assert len(updates()) == 2
    assert count(db, "SELECT count(*) FROM achievement_version") == 1
    assert count(db, "SELECT max(version) FROM achievement") == 2


def test_withdrawal_is_a_status(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school})
    report = deliver(
        db, settings, school,
        {"nin": pupil, "key": "s-1", "org": school, "status": "withdrawn", "reason": "registered in error"},
    )  # fmt: skip
    assert report.accepted == 1
    with db.connect() as conn:
        row = conn.execute(text("SELECT status, withdrawal_reason, version FROM achievement")).one()
    assert tuple(row) == ("withdrawn", "registered in error", 2)
    assert count(db, "SELECT count(*) FROM achievement_version WHERE status = 'valid'") == 1


def test_bad_records_are_rejected_without_losing_the_others(
    db: Engine, settings: Settings, school: str, pupil: str
) -> None:
    stranger = create_organisation(db, name="Annen skole")
    report = deliver(
        db, settings, school,
        {"nin": pupil, "key": "ok-1", "org": school},
        {"nin": "12345678910", "key": "bad-nin", "org": school, "ref": "row 3"},
        {"nin": pupil, "key": "bad-grade", "org": school, "grade": "7", "ref": "row 4"},
        {"nin": pupil, "key": "not-ours", "org": stranger, "ref": "row 5"},
        {"nin": pupil, "key": "orphan", "org": school, "parent": "no-such-diploma", "ref": "row 6"},
        {"nin": pupil, "key": "ok-1", "org": school, "ref": "row 7"},
        {"nin": pupil, "key": "ok-2", "org": school, "code": "ENG1007"},
    )  # fmt: skip
    assert (report.accepted, report.rejected) == (2, 5)
    assert report.exit_code == 1
    by_record = {e.record: e for e in report.errors}
    assert by_record["row 3"].code == "nin.date_part"
    assert by_record["row 3"].path == "person.identifiers[0]"
    assert by_record["row 4"].code == "grade.invalid" and "7" in by_record["row 4"].message
    assert by_record["row 5"].code == "organisation.not_authorised"
    assert by_record["row 6"].code == "part_of.unknown"
    assert by_record["row 7"].code == "source_key.duplicate"
    assert all("12345678910" not in e.message for e in report.errors)
    assert count(db, "SELECT count(*) FROM achievement") == 2
    assert count(db, "SELECT count(*) FROM import_rejection") == 5


def test_rejected_parent_takes_its_children(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    report = deliver(
        db, settings, school,
        {"nin": pupil, "key": "vm", "org": school, "kind": "diploma", "grade": "x", "scheme": "a-f"},
        {"nin": pupil, "key": "s-1", "org": school, "parent": "vm"},
    )  # fmt: skip
    assert (report.accepted, report.rejected) == (0, 2)
    assert {e.code for e in report.errors} == {"grade.invalid", "part_of.unknown"}


def test_a_county_delivers_for_its_schools(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    county = create_organisation(db, name="Nordland fylkeskommune", kind="county", delivers_for=[school])
    report = deliver(db, settings, county, {"nin": pupil, "key": "s-1", "org": school})
    assert report.accepted == 1
    refused = deliver(db, settings, school, {"nin": pupil, "key": "s-2", "org": county})
    assert [e.code for e in refused.errors] == ["organisation.not_authorised"]


def test_a_person_keeps_all_identifiers(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    esi = {"kind": "esi", "value": "urn:schac:personalUniqueCode:int:esi:no:123"}
    deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "extra_ids": [esi]})
    deliver(db, settings, school, {"nin": pupil, "key": "s-2", "org": school, "code": "ENG1007"})
    assert count(db, "SELECT count(*) FROM person") == 1
    assert count(db, "SELECT count(*) FROM person_identifier") == 2


def test_synthetic_ids_follow_the_setting(db: Engine, settings: Settings, school: str, pupil: str) -> None:
    strict = settings.model_copy(update={"allow_synthetic_ids": False})
    report = deliver(db, strict, school, {"nin": pupil, "key": "s-1", "org": school})
    assert [e.code for e in report.errors] == ["nin.synthetic_not_allowed"]


def test_a_batch_that_dies_half_way_leaves_nothing(
    db: Engine, settings: Settings, school: str, pupil: str
) -> None:
    records = [{"nin": pupil, "key": f"s-{i}", "org": school} for i in range(50)]
    with pytest.raises(SimulatedCrash):
        deliver(db, settings.model_copy(update={"import_chunk_rows": 10}), school, *records, {"crash": True})
    assert count(db, "SELECT count(*) FROM achievement") == 0
    assert count(db, "SELECT count(*) FROM person") == 0
    with db.connect() as conn:
        status, failure = conn.execute(text("SELECT status, failure FROM import_batch")).one()
    assert (status, failure) == ("failed", "internal error")
    # The raw bytes were kept: nothing received is lost.
    assert count(db, "SELECT count(*) FROM import_batch_chunk") == 1
    # Sending the same file again (without the crash) completes it.
    report = deliver(db, settings, school, *records)
    assert (report.status, report.accepted) == ("completed", 50)


def test_unknown_provider_and_sector_are_clear(db: Engine, settings: Settings) -> None:
    from importers.base import UnusableInput

    with pytest.raises(UnusableInput, match="known sectors: primary, vocational, higher, micro"):
        run_import(db, io.BytesIO(b""), sector="tertiary", provider_orgnr="974760673", settings=settings)
    with pytest.raises(UnusableInput, match="not registered") as exc:
        run_import(db, io.BytesIO(b""), sector="primary", provider_orgnr="974760673", settings=settings)
    assert exc.value.code == "provider.unknown"


def test_a_duplicate_of_an_unchanged_record_is_still_a_duplicate(
    db: Engine, settings: Settings, school: str, pupil: str
) -> None:
    deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "grade": "3"})
    # The first occurrence is unchanged (skipped before staging); the second, with another grade,
    # must not slip through as a change.
    report = deliver(
        db, settings, school,
        {"nin": pupil, "key": "s-1", "org": school, "grade": "3", "ref": "row 1"},
        {"nin": pupil, "key": "s-1", "org": school, "grade": "6", "ref": "row 2"},
    )  # fmt: skip
    assert (report.accepted, report.unchanged, report.rejected) == (0, 1, 1)
    assert report.errors[0].code == "source_key.duplicate"
    assert "row 1" in report.errors[0].message
    assert count(db, "SELECT count(*) FROM achievement WHERE grade_value = '3'") == 1


def test_a_record_can_be_moved_under_a_parent_delivered_earlier(
    db: Engine, settings: Settings, school: str, pupil: str
) -> None:
    deliver(
        db, settings, school, {"nin": pupil, "key": "vm", "org": school, "kind": "diploma", "grade": None}
    )
    deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "parent": "vm"})
    with db.connect() as conn:
        linked = conn.execute(
            text(
                """SELECT child.part_of_id = parent.id FROM achievement child, achievement parent
                   WHERE child.source_key = 's-1' AND parent.source_key = 'vm'"""
            )
        ).scalar_one()
    assert linked


def test_an_organisation_is_recognised_by_any_of_its_codes(db: Engine) -> None:
    from register.ingest import OrganisationIndex
    from register.records import OrgRef

    university = create_organisation(db, name="Universitetet i Nordvik", kind="university",
                                     codes={"erasmus": "N  NORDVIK01", "schac": "nordvik.no"})  # fmt: skip
    with db.connect() as conn:
        index = OrganisationIndex.load(conn, provider_id=1)
        org_id = conn.execute(
            text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": university}
        ).scalar()
    # The FS number is not registered; the Erasmus code (spaced differently) and the SCHAC domain are.
    given = OrgRef("fs", "9101", alternatives=(OrgRef("erasmus", "n nordvik01"),))
    assert index.resolve(given) == org_id
    assert index.resolve(OrgRef("schac", "NORDVIK.no")) == org_id
    assert index.resolve(OrgRef("fs", "9101")) is None


def test_a_grade_is_kept_as_delivered_beside_its_canonical_spelling(
    db: Engine, settings: Settings, school: str, pupil: str
) -> None:
    deliver(
        db,
        settings,
        school,
        {"nin": pupil, "key": "s-1", "org": school, "grade": "Bestått", "scheme": "pass-fail"},
    )
    with db.connect() as conn:
        value, delivered, passed = conn.execute(
            text("SELECT grade_value, details->>'grade_as_delivered', grade_passed FROM achievement")
        ).one()
    assert (value, delivered, passed) == ("bestått", "Bestått", True)


def test_only_abandoned_batches_are_marked_interrupted(db: Engine, settings: Settings, school: str) -> None:
    from intake.batches import _lock_batch, recover_interrupted

    with db.begin() as conn:
        provider = conn.execute(text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": school}).scalar()
        abandoned, alive = (
            conn.execute(
                text(
                    """INSERT INTO import_batch (provider_id, sector, sha256, size_bytes, status)
                       VALUES (:p, 'primary', :h, 1, 'processing') RETURNING id"""
                ),
                {"p": provider, "h": h},
            ).scalar_one()
            for h in ("a", "b")
        )
    with db.connect() as worker:  # a live importer holds its batch's lock
        _lock_batch(worker, alive)
        assert recover_interrupted(db) == 1
    with db.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, status FROM import_batch")).all())
        failure = conn.execute(
            text("SELECT failure FROM import_batch WHERE id = :b"), {"b": abandoned}
        ).scalar()
    assert rows == {abandoned: "failed", alive: "processing"}
    assert failure.startswith("import.interrupted")


def test_text_the_database_cannot_hold_rejects_the_record_and_names_the_field(
    db: Engine, settings: Settings, school: str, pupil: str
) -> None:
    report = deliver(
        db, settings, school,
        {"nin": pupil, "key": "s-1", "org": school, "title": "Norsk\u0000hovedmål", "ref": "row 1"},
        {"nin": pupil, "key": "s-2", "org": school, "given_name": "Kari\ud800", "ref": "row 2\ud800"},
        {"nin": pupil, "key": "s-3", "org": school, "title": "A backslash \\u0000 is text", "code": "ENG1007"},
    )  # fmt: skip
    assert (report.status, report.accepted, report.rejected) == ("completed", 1, 2)
    by_path = {e.path: e for e in report.errors}
    assert by_path["specification.title.nb"].code == "text.invalid_character"
    assert "NUL" in by_path["specification.title.nb"].message
    assert by_path["person.given_name"].record == "row 2\ufffd"  # the report itself stays storable
    assert count(db, "SELECT count(*) FROM import_rejection") == 2


def _deadlocking_ingest(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The real ingest, but the first ``times`` batches lose a deadlock after writing everything."""
    real = intake.batches.ingest
    calls: list[int] = []

    def ingest(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("INSERT …", {}, DeadlockDetected("deadlock detected"))
        return result

    monkeypatch.setattr(intake.batches, "ingest", ingest)
    return calls


def test_a_batch_that_loses_a_deadlock_runs_again(
    db: Engine, settings: Settings, school: str, pupil: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _deadlocking_ingest(monkeypatch, times=2)
    report = deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school}, {"nin": pupil, "key": "s-2", "org": school})  # fmt: skip
    assert (len(calls), report.status, report.accepted) == (3, "completed", 2)
    assert count(db, "SELECT count(*) FROM achievement") == 2  # the rolled-back attempts left nothing
    assert count(db, "SELECT count(*) FROM person") == 1


def test_a_batch_that_keeps_losing_deadlocks_fails_after_three_attempts(
    db: Engine, settings: Settings, school: str, pupil: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _deadlocking_ingest(monkeypatch, times=3)
    with pytest.raises(OperationalError):
        deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school})
    assert len(calls) == intake.batches.ATTEMPTS == 3
    assert count(db, "SELECT count(*) FROM achievement") == 0
    assert (
        count(db, "SELECT count(*) FROM import_batch WHERE status = 'failed' AND failure = 'internal error'")
        == 1
    )


def test_the_staging_tables_are_made_from_the_row_declarations(db: Engine) -> None:
    """A staging row is declared once (register.ingest.staging): the temporary tables have exactly its
    fields, in its order, so a row written by COPY lands in the column of the same name."""
    from register.ingest.staging import SpecRow, StageRow, column_sql, create_staging_tables

    with db.connect() as conn:
        create_staging_tables(conn)
        for table, row_type in (("stage", StageRow), ("stage_spec", SpecRow)):
            columns = conn.execute(
                text(
                    """SELECT attname FROM pg_attribute
                       WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped
                       ORDER BY attnum"""
                ),
                {"t": f"pg_temp.{table}"},
            ).scalars()
            assert tuple(columns) == row_type._fields == tuple(column_sql(row_type))
        conn.rollback()


def test_the_collector_runs_between_chunks_not_within_them(
    db: Engine, settings: Settings, school: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """register/ingest/collector.py: while a delivery is read the automatic collector is paused, after
    each written chunk the young generations are collected — so what a chunk left as cyclic garbage is
    gone before the next chunk is read (memory stays bound by a chunk) — and afterwards the collector
    runs as before."""
    chunk = 4
    settings = settings.model_copy(update={"import_chunk_rows": chunk})
    enabled_while_reading: set[bool] = set()
    cycles: list[weakref.ref[Any]] = []  # one per record read, garbage as soon as it is made
    alive_after_their_chunk: list[int] = []
    real_choose = intake.batches.choose

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    class Watched:
        def __init__(self, importer: Any) -> None:
            self.importer, self.name, self.field_names = importer, importer.name, importer.field_names

        def extract(self, source: Any, context: Any) -> Iterator[Any]:
            for index, item in enumerate(self.importer.extract(source, context)):
                enabled_while_reading.add(gc.isenabled())
                written = index // chunk * chunk  # records of the chunks written (and collected) so far
                alive_after_their_chunk.extend(i for i in range(written) if cycles[i]() is not None)
                cycles.append(weakref.ref(Cycle()))
                yield item

    monkeypatch.setattr(intake.batches, "choose", lambda *args: Watched(real_choose(*args)))
    assert gc.isenabled()
    records = [{"nin": new_nin(), "key": f"s-{n}", "org": school} for n in range(3 * chunk + 1)]
    report = deliver(db, settings, school, *records)
    assert (report.status, report.accepted) == ("completed", 3 * chunk + 1)
    assert enabled_while_reading == {False}
    assert alive_after_their_chunk == []
    assert gc.isenabled()


def test_the_collector_resumes_when_the_last_ingest_ends_and_only_if_it_ran() -> None:
    """Imports on two threads of one process share the collector: the first to end leaves it paused for
    the other; one that found it disabled (by whoever runs the process) leaves it so."""
    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
