"""A re-export of CSV rows: known rows are counted unchanged without being mapped, and say exactly what a
full read says (register.ingest.known_input, importers.tabular.known_rows)."""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from importers.primary.rows import PrimaryRows
from importers.tabular import DocumentMemory, Row, known_rows
from importers.vocational.rows import VocationalRows
from intake.batches import BatchReport, run_import
from register.ingest import known_input
from register.records import AchievementRecord
from register.settings import Settings
from tests.conftest import database_at_head
from tests.factories import create_organisation, new_nin
from tests.importers.primary.test_primary_import import COUNTY, PUPIL, SCHOOL, deliver, rows, subject
from tests.importers.resend import records_of

OTHER_PUPIL = new_nin(2026)  # synthetic (month + 80)


class Mapped:
    """How many rows the importers mapped: the real mapping, counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: list[str] = []
        for cls in (PrimaryRows, VocationalRows):
            original = cls.records

            def counted(
                importer: Any, row: Row, documents: DocumentMemory, original: Any = original
            ) -> Iterator[AchievementRecord]:
                self.rows.append(row.ref)
                return original(importer, row, documents)  # type: ignore[no-any-return]

            monkeypatch.setattr(cls, "records", counted)

    def take(self) -> list[str]:
        taken, self.rows = self.rows, []
        return taken


@pytest.fixture
def mapped(monkeypatch: pytest.MonkeyPatch) -> Mapped:
    return Mapped(monkeypatch)


@pytest.fixture
def orgs(db: Engine) -> None:
    create_organisations(db)


def create_organisations(engine: Engine) -> None:
    create_organisation(engine, orgnr=SCHOOL, name="Eksempel videregående skole", kind="school")
    create_organisation(
        engine, orgnr=COUNTY, name="Eksempel fylkeskommune", kind="county", delivers_for=[SCHOOL]
    )


def counts(report: BatchReport) -> tuple[Any, ...]:
    return (report.status, report.accepted, report.new, report.changed, report.unchanged, report.rejected)


def forget(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM known_input"))


FILE = rows(
    subject("4"),
    subject("3", fagkode="MAT1019"),
    subject("5", doc="VM-2", pupil=OTHER_PUPIL),
    subject("2", doc="VM-2", fagkode="MAT1019", pupil=OTHER_PUPIL),
)


def test_a_re_export_is_not_mapped_and_reports_as_a_full_read(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    first = deliver(db, settings, COUNTY, FILE)
    assert counts(first) == ("completed", 6, 6, 0, 0, 0)
    assert mapped.take() == ["row 1", "row 2", "row 3", "row 4"]

    resend = deliver(db, settings, COUNTY, FILE + b"\n")  # a trailing line: other bytes, same rows
    assert mapped.take() == []  # nothing mapped
    assert counts(resend) == ("completed", 0, 0, 0, 6, 0)

    forget(db)  # the same re-export read in full, as before known input
    full = deliver(db, settings, COUNTY, FILE + b"\n\n")
    assert len(mapped.take()) == 4
    assert counts(full) == counts(resend)
    assert records_of(db, full) == records_of(db, resend)
    assert [r[:3] for r in records_of(db, resend)] == [
        (1, "row 1", "primary/VM-1"),
        (2, "row 1", "primary/VM-1/NOR1211/standpunkt"),
        (3, "row 2", "primary/VM-1/MAT1019/standpunkt"),
        (4, "row 3", "primary/VM-2"),
        (5, "row 3", "primary/VM-2/NOR1211/standpunkt"),
        (6, "row 4", "primary/VM-2/MAT1019/standpunkt"),
    ]


def test_a_correction_by_another_batch_makes_the_old_bytes_a_change(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    corrected = deliver(db, settings, COUNTY, rows(subject("6", fagkode="MAT1019")))
    assert (corrected.changed, corrected.unchanged) == (1, 1)  # and its vitnemål
    mapped.take()

    again = deliver(db, settings, COUNTY, FILE + b"\n")
    # row 2's achievement no longer carries the hash its bytes made: its vitnemål's rows (one raw record)
    # are read again, and row 2 is a change back; the other vitnemål is skipped
    assert mapped.take() == ["row 1", "row 2"]
    assert counts(again) == ("completed", 1, 0, 1, 5, 0)
    with db.connect() as conn:
        grade = conn.execute(
            text("SELECT grade_value FROM achievement WHERE source_key = 'primary/VM-1/MAT1019/standpunkt'")
        ).scalar_one()
    assert grade == "3"


def test_a_row_with_a_rejection_is_read_again_and_rejected_again(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    content = rows(subject("4"), subject("9", fagkode="MAT1019"), subject("5", fagkode="ENG1007"))
    first = deliver(db, settings, COUNTY, content)
    assert (first.accepted, first.rejected) == (3, 1)
    mapped.take()

    again = deliver(db, settings, COUNTY, content + b"\n")
    assert mapped.take() == ["row 1", "row 2", "row 3"]  # the vitnemål's rows, one raw record, not remembered
    assert counts(again) == ("completed", 0, 0, 0, 3, 1)
    [error] = again.errors
    assert (error.record, error.code) == ("row 2", "grade.invalid")


def test_another_providers_identical_bytes_are_read(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    mapped.take()
    by_school = deliver(db, settings, SCHOOL, FILE + b"\n")  # the school may deliver for itself
    assert len(mapped.take()) == 4
    assert counts(by_school) == ("completed", 0, 0, 0, 6, 0)


def test_a_provider_no_longer_entitled_is_refused_not_skipped(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM organisation_delivery"))
    mapped.take()
    again = deliver(db, settings, COUNTY, FILE + b"\n")
    assert len(mapped.take()) == 4
    assert again.rejected == 6
    assert {e.code for e in again.errors} == {"organisation.not_authorised"}


def test_rows_in_another_order_replay_their_document_or_are_read(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    mapped.take()
    # VM-1's rows swapped: the row that made the vitnemål's record now comes second, so neither row
    # can be replayed as remembered; VM-2's rows are as before.
    swapped = rows(
        subject("3", fagkode="MAT1019"),
        subject("4"),
        subject("5", doc="VM-2", pupil=OTHER_PUPIL),
        subject("2", doc="VM-2", fagkode="MAT1019", pupil=OTHER_PUPIL),
    )
    again = deliver(db, settings, COUNTY, swapped)
    assert mapped.take() == ["row 1", "row 2"]
    forget(db)
    full = deliver(db, settings, COUNTY, swapped + b"\n")
    assert counts(again) == counts(full) == ("completed", 0, 0, 0, 6, 0)
    assert records_of(db, again) == records_of(db, full)


def test_a_vitnemals_rows_are_one_raw_record_and_a_changed_one_is_read_alone(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    with db.connect() as conn:
        notes = conn.execute(text("SELECT note FROM known_input ORDER BY note")).scalars().all()
    # one row a vitnemål, not a row a CSV row; each notes how many records each of its rows made
    assert [json.loads(note)[0] for note in notes] == [[2, 1], [2, 1]]
    mapped.take()
    # a subject added to VM-1: its rows are another raw record and are read; VM-2's are skipped
    grown = rows(
        subject("4"),
        subject("3", fagkode="MAT1019"),
        subject("6", fagkode="ENG1007"),
        subject("5", doc="VM-2", pupil=OTHER_PUPIL),
        subject("2", doc="VM-2", fagkode="MAT1019", pupil=OTHER_PUPIL),
    )
    again = deliver(db, settings, COUNTY, grown)
    assert mapped.take() == ["row 1", "row 2", "row 3"]
    assert counts(again) == ("completed", 1, 1, 0, 6, 0)
    forget(db)
    full = deliver(db, settings, COUNTY, grown + b"\n")
    assert [r[:3] for r in records_of(db, again)] == [r[:3] for r in records_of(db, full)]


def test_a_vitnemals_rows_apart_or_past_the_group_limit_are_raw_records_of_their_own(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(known_rows, "MAX_GROUP_ROWS", 2)
    content = rows(
        subject("4"),
        subject("5", doc="VM-2", pupil=OTHER_PUPIL),
        subject("3", fagkode="MAT1019"),
        subject("2", fagkode="ENG1007"),
        subject("6", fagkode="FYS1001"),
    )  # VM-1: row 1 alone, rows 3 and 4 (the limit), row 5 alone
    first = deliver(db, settings, COUNTY, content)
    assert counts(first) == ("completed", 7, 7, 0, 0, 0)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM known_input")).scalar_one() == 4
    mapped.take()
    again = deliver(db, settings, COUNTY, content + b"\n")
    assert mapped.take() == []
    forget(db)
    full = deliver(db, settings, COUNTY, content + b"\n\n")
    assert counts(again) == counts(full) == ("completed", 0, 0, 0, 7, 0)
    assert records_of(db, again) == records_of(db, full)


def test_a_row_repeated_in_the_file_is_a_duplicate_as_in_a_full_read(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    repeated = FILE + (subject("4") + "\n").encode()
    again = deliver(db, settings, COUNTY, repeated)
    forget(db)
    full = deliver(db, settings, COUNTY, repeated + b"\n")
    assert counts(again) == counts(full)
    assert [(e.record, e.code) for e in again.errors] == [(e.record, e.code) for e in full.errors]
    assert {e.code for e in again.errors} == {"source_key.duplicate"}


def test_a_dry_run_remembers_nothing(db: Engine, settings: Settings, orgs: None, mapped: Mapped) -> None:
    from intake.dry_run import dry_run

    dry_run(db, io.BytesIO(FILE), sector="primary", provider_orgnr=COUNTY, settings=settings)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM known_input")).scalar_one() == 0


def test_a_new_school_code_makes_every_row_unknown_once(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    create_organisation(db, name="Ny skole", kind="school")
    mapped.take()
    again = deliver(db, settings, COUNTY, FILE + b"\n")
    assert len(mapped.take()) == 4  # organisations are resolved by their codes: read again
    assert counts(again)[4] == 6
    deliver(db, settings, COUNTY, FILE + b"\n\n")
    assert mapped.take() == []


FAGSKOLE = "965897976"
VOCATIONAL = (
    "fodselsnummer;fagskole_orgnr;utdanning_kode;utdanning_navn;nkr_niva;utdanning_fagskolepoeng;emnekode;"
    "emnenavn;fagskolepoeng;karakter;fullfort_dato;semester;vitnemal_id;vitnemal_dato\n"
    + "".join(
        f"{PUPIL};{FAGSKOLE};ELKRAFT;Elkraft;5.1;120;EL-{n};Emne {n};10;B;2023-12-15;2023H;VM-1;2025-06-16\n"
        for n in range(3)
    )
).encode()


def test_a_vocational_re_export_is_not_mapped(db: Engine, settings: Settings, mapped: Mapped) -> None:
    create_organisation(db, orgnr=FAGSKOLE, name="Fagskolen", kind="fagskole")

    def send(content: bytes) -> BatchReport:
        return run_import(
            db, io.BytesIO(content), sector="vocational", provider_orgnr=FAGSKOLE, settings=settings
        )

    first = send(VOCATIONAL)
    assert (first.accepted, len(mapped.take())) == (4, 3)
    again = send(VOCATIONAL.replace(b"\n", b"\r\n"))  # other line ends: other bytes, read again
    assert (again.unchanged, len(mapped.take())) == (4, 3)
    resend = send(VOCATIONAL + b"\n")
    assert (counts(resend), mapped.take()) == (("completed", 0, 0, 0, 4, 0), [])
    assert all(isinstance(r[3], uuid.UUID) for r in records_of(db, resend))


def test_a_quoted_line_break_keeps_the_whole_row_one_raw_record(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    def file(name: str) -> bytes:
        row = f'{PUPIL};{SCHOOL};vitnemal;VM-1;2025-06-20;2024-2025;NOR1211;"{name}";standpunkt;4'
        return rows(row)

    deliver(db, settings, COUNTY, file("Norsk\n;hovedmål"))
    deliver(db, settings, COUNTY, file("Norsk\n;hovedmål") + b"\n")
    assert mapped.take() == ["row 1"]  # the second time known, though the row spans two lines
    # only the row's second line differs: the digest covers it, so the row is read and changed
    changed = deliver(db, settings, COUNTY, file("Norsk\n;sidemål"))
    assert (mapped.take(), changed.changed) == (["row 1"], 1)


def test_a_known_row_after_its_vitnemal_changed_in_this_file_is_read(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    mapped.take()
    # VM-1's first row now says another issue date; its second row's bytes are known, remembered as
    # "seen with the fields the first row gave" — which are not the fields seen here: it is read.
    changed = rows(
        subject("4", issued="2025-06-21"),
        subject("3", fagkode="MAT1019"),
        subject("5", doc="VM-2", pupil=OTHER_PUPIL),
        subject("2", doc="VM-2", fagkode="MAT1019", pupil=OTHER_PUPIL),
    )
    again = deliver(db, settings, COUNTY, changed)
    assert mapped.take() == ["row 1", "row 2"]
    # as a full read: the vitnemål and row 1's grade changed, row 2 refused for disagreeing with its
    # vitnemål, VM-2's three records unchanged
    assert counts(again) == ("completed", 2, 0, 2, 3, 1)
    forget(db)
    full = deliver(db, settings, COUNTY, changed + b"\n")
    assert len(mapped.take()) == 4
    assert [(e.record, e.code, e.message) for e in again.errors] == [
        (e.record, e.code, e.message) for e in full.errors
    ]
    assert [(r[1], r[4]) for r in records_of(db, again)] == [
        ("row 1", "changed"),
        ("row 1", "changed"),
        ("row 3", "unchanged"),
        ("row 3", "unchanged"),
        ("row 4", "unchanged"),
    ]  # fmt: skip (row 2 is among the rejections)
    assert [r[1:3] for r in records_of(db, again)] == [r[1:3] for r in records_of(db, full)]


def test_a_row_remembered_with_a_note_of_another_shape_is_read_and_remembered_anew(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    with db.begin() as conn:  # the notes of an earlier version: the check's outcome alone
        conn.execute(
            text("UPDATE known_input SET note = CASE WHEN note LIKE '[\"new\"%' THEN 'new' ELSE 'seen' END")
        )
    mapped.take()
    again = deliver(db, settings, COUNTY, FILE + b"\n")
    assert mapped.take() == ["row 1", "row 2", "row 3", "row 4"]
    assert counts(again) == ("completed", 0, 0, 0, 6, 0)
    third = deliver(db, settings, COUNTY, FILE + b"\n\n")
    assert mapped.take() == []
    assert records_of(db, third) == records_of(db, again)


def test_the_sweep_forgets_only_rows_no_lookup_can_find_again(
    db: Engine, settings: Settings, orgs: None, mapped: Mapped
) -> None:
    deliver(db, settings, COUNTY, FILE)
    deliver(db, settings, COUNTY, rows(subject("6", fagkode="MAT1019")))  # corrects row 2's grade
    with db.begin() as conn:
        before = conn.execute(text("SELECT count(*) FROM known_input")).scalar_one()
        assert known_input.sweep(conn) == 1  # VM-1's rows of the first file: row 2's achievement changed
        assert known_input.sweep(conn) == 0
        after = conn.execute(text("SELECT count(*) FROM known_input")).scalar_one()
    assert after == before - 1
    mapped.take()
    again = deliver(db, settings, COUNTY, FILE + b"\n")
    assert mapped.take() == ["row 1", "row 2"]  # as without the sweep: VM-2 is still skipped
    assert counts(again) == ("completed", 1, 0, 1, 5, 0)


def pupil_rows(first: int, count: int) -> list[str]:
    """``count`` rows, each of a pupil and vitnemål of its own (numbered from ``first``)."""
    return [subject("4", doc=f"VM-S{n}", pupil=new_nin(3100 + n)) for n in range(first, first + count)]


@pytest.mark.parametrize(
    ("where", "read"),
    [
        # the two known rows lie between the sampled ones (1st and 6th of 10): the chunk counts as new,
        # and they are read again, as a full read would
        ((1, 2), [f"row {n}" for n in range(1, 11)]),
        # the first known row is sampled: the whole chunk is probed, both are skipped
        ((0, 1), [f"row {n}" for n in range(3, 11)]),
    ],
)
def test_a_chunk_is_probed_in_full_only_where_a_sampled_row_is_known(
    db: Engine,
    settings: Settings,
    orgs: None,
    mapped: Mapped,
    monkeypatch: pytest.MonkeyPatch,
    where: tuple[int, int],
    read: list[str],
) -> None:
    monkeypatch.setattr(known_input, "SAMPLE_RECORDS", 2)  # a chunk of more than 4 rows is sampled
    known = pupil_rows(0, 2)
    deliver(db, settings, COUNTY, rows(*known))
    mapped.take()
    lines = pupil_rows(2, 8)
    for position, line in zip(where, known, strict=True):
        lines.insert(position, line)
    mixed = deliver(db, settings, COUNTY, rows(*lines))
    assert mapped.take() == read
    assert counts(mixed) == ("completed", 16, 16, 0, 4, 0)
    forget(db)
    full = deliver(db, settings, COUNTY, rows(*lines) + b"\n")
    assert counts(full) == ("completed", 0, 0, 0, 20, 0)
    assert [r[:3] for r in records_of(db, mixed)] == [r[:3] for r in records_of(db, full)]


KNOWN_INPUT = (
    "SELECT provider_id, digest, note, achievement_ids, content_hashes FROM known_input ORDER BY digest"
)


def _remember(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows of ``known_input`` as ``KNOWN_INPUT`` reads them, written back as they are."""
    for provider, digest, note, ids, hashes in rows:
        conn.execute(
            text("INSERT INTO known_input VALUES (:provider, :digest, :note, :ids, :hashes)"),
            {"provider": provider, "digest": digest, "note": note, "ids": ids, "hashes": hashes},
        )


@contextlib.contextmanager
def register_with_file(server_admin_url: str, settings: Settings) -> Iterator[tuple[Engine, Config]]:
    """A database of its own at the head revision, for a migration's test: the organisations made and
    ``FILE`` delivered; dropped afterwards."""
    with database_at_head(server_admin_url) as (engine, cfg):
        create_organisations(engine)
        deliver(engine, settings, COUNTY, FILE)
        yield engine, cfg


def test_0016_keeps_every_row_0015_remembered(
    server_admin_url: str, settings: Settings, mapped: Mapped, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0016 cuts digests and content hashes to 16 bytes and a "seen" note's digest to 32 hex digits: what
    0015 remembered is the same rows after it, and a re-export is still not mapped. (Each row its own raw
    record, as when 0015 and 0016 were written: a vitnemål's rows are one since.)"""
    monkeypatch.setattr(PrimaryRows, "raw_record_column", None)
    with register_with_file(server_admin_url, settings) as (engine, cfg):
        mapped.take()
        with engine.connect() as conn:
            remembered = [tuple(r) for r in conn.execute(text(KNOWN_INPUT))]
        assert {note[:8] for _, _, note, _, _ in remembered} == {'["new", ', '["seen",'}
        command.downgrade(cfg, "0015")
        with engine.begin() as conn:  # each row as 0015 wrote it
            for provider, digest, note, ids, _ in remembered:
                conn.execute(
                    text(
                        """INSERT INTO known_input VALUES (:provider, :digest, :note, :ids,
                           ARRAY(SELECT a.content_hash FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY u(id, n)
                                 JOIN achievement a ON a.id = u.id ORDER BY u.n))"""
                    ),
                    {
                        "provider": provider,
                        "digest": digest + bytes(range(16)),  # 0015 kept the whole sha256
                        "note": note[:-2] + "0" * 32 + note[-2:] if note.startswith('["seen"') else note,
                        "ids": ids,
                    },
                )
        command.upgrade(cfg, "0016")
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text(KNOWN_INPUT))] == remembered
        # The code delivers at the head revision only (0018 changed how delivered bytes are stored), and
        # 0017 forgets rows remembered one by one (below): put back what 0016 made of them.
        command.upgrade(cfg, "heads")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM known_input"))
            _remember(conn, remembered)
        resend = deliver(engine, settings, COUNTY, FILE + b"\n")
        assert mapped.take() == []
        assert counts(resend) == ("completed", 0, 0, 0, 6, 0)


def test_0017_forgets_the_rows_remembered_one_by_one_and_keeps_the_rest(
    server_admin_url: str, settings: Settings, mapped: Mapped
) -> None:
    """A primary row remembered alone (before a vitnemål's rows were one raw record) can never be looked
    up again: 0017 deletes the rows whose note is a row's vitnemål check, and keeps the others."""
    with register_with_file(server_admin_url, settings) as (engine, cfg):
        mapped.take()
        with engine.begin() as conn:
            groups = [tuple(r) for r in conn.execute(text(KNOWN_INPUT))]
            assert len(groups) == 2  # VM-1 and VM-2, each its rows
            provider, _, _, ids, hashes = groups[0]
            notes = ['["new", "primary/VM-9", []]', '["seen", "primary/VM-9", "ab"]', None]
            _remember(conn, [(provider, bytes([n]) * 16, note, ids, hashes) for n, note in enumerate(notes)])
        command.downgrade(cfg, "0016")
        command.upgrade(cfg, "0017")
        with engine.connect() as conn:
            kept = [tuple(r) for r in conn.execute(text(KNOWN_INPUT))]
        assert sorted(kept, key=repr) == sorted(
            [*groups, (provider, bytes([2]) * 16, None, ids, hashes)], key=repr
        )
        command.upgrade(cfg, "heads")  # the code delivers at the head revision only
        resend = deliver(engine, settings, COUNTY, FILE + b"\n")
        assert mapped.take() == []
        assert counts(resend) == ("completed", 0, 0, 0, 6, 0)
