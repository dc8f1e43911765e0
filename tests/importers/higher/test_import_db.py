"""ELMO through the import job: idempotent re-sends, trees, demo data — on the real database."""

from __future__ import annotations

import io
import random

from sqlalchemy import Engine, text

from demo.higher import batch_document, demo_set, elmo_document, institutions, random_transcript
from demo.load import load_demo
from intake.batches import run_import
from register.settings import Settings
from register.synthetic import synthetic_person
from tests.factories import create_organisation


def _setup(db: Engine, seed: int = 11):
    rng = random.Random(seed)
    nordvik = institutions(rng)[0]
    provider = create_organisation(
        db, orgnr=nordvik.orgnr, name=nordvik.name_nb, kind="university",
        codes={"fs": nordvik.fs, "erasmus": " ".join(nordvik.erasmus.split()), "schac": nordvik.schac},
    )  # fmt: skip
    transcripts = [random_transcript(rng, nordvik, synthetic_person(rng, 1990 + i)) for i in range(5)]
    return provider, transcripts


def _count(db: Engine, sql: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_resend_of_the_same_transcript_is_idempotent(db: Engine, settings: Settings) -> None:
    provider, transcripts = _setup(db)
    first = run_import(db, io.BytesIO(batch_document(transcripts)), sector="higher", provider_orgnr=provider,
                       settings=settings)  # fmt: skip
    records = sum(1 + len(r.parts) for t in transcripts for r in t.results)
    assert (first.status, first.accepted, first.rejected) == ("completed", records, 0)
    # The same results again, one document per learner, in another order: a no-op.
    for transcript in reversed(transcripts):
        again = run_import(db, io.BytesIO(elmo_document(transcript)), sector="higher", provider_orgnr=provider,
                           settings=settings)  # fmt: skip
        assert (again.status, again.accepted, again.rejected) == ("completed", 0, 0)
        assert again.unchanged == sum(1 + len(r.parts) for r in transcript.results)
    assert _count(db, "SELECT count(*) FROM achievement") == records
    assert _count(db, "SELECT count(*) FROM achievement_version") == 0
    assert _count(db, "SELECT count(*) FROM person") == len(transcripts)


def test_changed_grade_is_a_new_version(db: Engine, settings: Settings) -> None:
    provider, transcripts = _setup(db)
    transcript = transcripts[0]
    run_import(
        db, io.BytesIO(elmo_document(transcript)), sector="higher", provider_orgnr=provider, settings=settings
    )
    course = transcript.results[0].parts[0]
    course.grade = "A" if course.grade != "A" else "B"
    report = run_import(db, io.BytesIO(elmo_document(transcript)), sector="higher", provider_orgnr=provider,
                        settings=settings)  # fmt: skip
    assert (report.accepted, report.rejected) == (1, 0)
    assert _count(db, "SELECT count(*) FROM achievement_version") == 1


def test_degree_and_courses_are_linked(db: Engine, settings: Settings) -> None:
    provider, transcripts = _setup(db)
    run_import(db, io.BytesIO(elmo_document(transcripts[0])), sector="higher", provider_orgnr=provider,
               settings=settings)  # fmt: skip
    degree = transcripts[0].results[0]
    with db.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT parent.kind, count(child.id), sum(child.credits), max(parent.credits)
                   FROM achievement child JOIN achievement parent ON child.part_of_id = parent.id
                   GROUP BY parent.kind"""
            )
        ).all()
    assert [(kind, n) for kind, n, _, _ in rows] == [("degree", len(degree.parts))]
    _, _, child_credits, degree_credits = rows[0]
    assert child_credits is None and degree_credits == 180  # counted once, on the degree


def test_unknown_issuer_is_a_rejection_not_a_new_organisation(db: Engine, settings: Settings) -> None:
    provider, transcripts = _setup(db)
    stranger = random_transcript(random.Random(5), institutions(random.Random(99))[1], transcripts[0].person)
    report = run_import(db, io.BytesIO(elmo_document(stranger)), sector="higher", provider_orgnr=provider,
                        settings=settings)  # fmt: skip
    assert report.accepted == 0 and report.rejected > 0
    assert "organisation.unknown" in {e.code for e in report.errors}
    assert _count(db, "SELECT count(*) FROM organisation") == 1


def test_fagskole_delivers_elmo_in_the_vocational_sector(db: Engine, settings: Settings) -> None:
    rng = random.Random(3)
    fagskole = institutions(rng)[2]
    provider = create_organisation(db, orgnr=fagskole.orgnr, name=fagskole.name_nb, kind="fagskole",
                                   codes={"fs": fagskole.fs})  # fmt: skip
    transcript = random_transcript(rng, fagskole, synthetic_person(rng, 1995))
    report = run_import(db, io.BytesIO(elmo_document(transcript)), sector="vocational", provider_orgnr=provider,
                        settings=settings)  # fmt: skip
    assert (report.status, report.format, report.rejected) == ("completed", "elmo", 0)
    with db.connect() as conn:
        schemes = set(
            conn.execute(
                text("SELECT DISTINCT credit_scheme FROM achievement WHERE credits IS NOT NULL")
            ).scalars()
        )
        sectors = set(conn.execute(text("SELECT DISTINCT sector FROM achievement")).scalars())
    assert schemes == {"fagskolepoeng"} and sectors == {"vocational"}


def test_demo_set_imports_cleanly(db: Engine, settings: Settings) -> None:
    demo = demo_set(random.Random(2026))
    assert {d.sector for d in demo.deliveries} == {"higher", "vocational"}
    load_demo(db)
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT format, status, rejected, accepted FROM import_batch WHERE format = 'elmo'")
        ).all()
    assert len(rows) == len(demo.deliveries)
    assert all(
        status == "completed" and rejected == 0 and accepted > 0 for _, status, rejected, accepted in rows
    )
