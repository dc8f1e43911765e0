"""Every delivered text is bounded: a 9 MiB given name and title were stored and made one look-up
18.9 MB. In each format, a record with an over-long text is rejected with ``text.too_long`` naming the
field, and the records beside it are imported."""

from __future__ import annotations

import dataclasses
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from demo.higher import batch_document, institutions, random_transcript
from intake.batches import run_import
from register.records import AchievementRecord, GradeIn, IdentifierIn, OrgRef, PersonIn, SpecificationIn
from register.settings import Settings
from register.synthetic import synthetic_person
from register.text import DEFAULT_TEXT_LIMIT, MAX_RECORD_TEXT, TEXT_LIMITS, find_overlong_text
from tests.factories import create_organisation, new_nin
from tests.reliability.deliveries import vitnemal_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "formats" / "examples"
MiB = 1024 * 1024
ISSUER = "https://kursakademiet.example/issuer"


def _rejections(db: Engine, batch_id: object) -> list[tuple[str, str | None]]:
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT code, path FROM import_rejection WHERE batch_id = :b ORDER BY seq"), {"b": batch_id}
        )
        return [(code, path) for code, path in rows]


def _longest_stored_text(db: Engine) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                text(
                    """SELECT greatest(
                         (SELECT coalesce(max(length(given_name)), 0) FROM person),
                         (SELECT coalesce(max(length(title::text)), 0) FROM learning_specification))"""
                )
            ).scalar_one()
        )


def _import(db: Engine, settings: Settings, content: bytes, sector: str, provider: str) -> Any:
    return run_import(db, io.BytesIO(content), sector=sector, provider_orgnr=provider, settings=settings)


def test_vocational_csv_a_long_course_name(db: Engine, settings: Settings) -> None:
    fagskole = create_organisation(db, name="Fagskolen Tekst", kind="fagskole")
    lines = vitnemal_csv(fagskole, new_nin(501), courses=3).decode().splitlines()
    # (a line of more than 1 MiB is refused whole before it is parsed: input.line_too_long)
    lines[2] = lines[2].replace(";Emne 1;", ";" + "x" * (TEXT_LIMITS["title"] + 1) + ";")
    report = _import(db, settings, ("\n".join(lines) + "\n").encode(), "vocational", fagskole)
    assert (report.accepted, report.rejected) == (3, 1)
    assert _rejections(db, report.batch_id) == [("text.too_long", "specification.title.nb")]
    assert _longest_stored_text(db) < 1000


def test_vocational_json_rows_a_long_given_name(db: Engine, settings: Settings) -> None:
    fagskole = create_organisation(db, name="Fagskolen Json", kind="fagskole")
    rows = [
        {
            "fodselsnummer": new_nin(600 + i), "fornavn": "Kari" if i else "K" * 5000, "etternavn": "Nordmann",
            "fagskole_orgnr": fagskole, "utdanning_kode": "ELKRAFT", "utdanning_navn": "Elkraft",
            "nkr_niva": "5.1", "emnekode": "EL-101", "emnenavn": "Emne", "fagskolepoeng": "10", "karakter": "B",
            "fullfort_dato": "2024-06-10", "semester": "2024V", "resultat_id": f"J-{i}",
        }
        for i in range(3)
    ]  # fmt: skip
    report = _import(db, settings, json.dumps(rows).encode(), "vocational", fagskole)
    assert (report.accepted, report.rejected) == (2, 1)
    # the path is the column, as the file names it
    assert _rejections(db, report.batch_id) == [("text.too_long", "fornavn")]


@pytest.mark.parametrize("example", ["primary.csv", "primary.json"])
def test_primary_a_long_subject_name(db: Engine, settings: Settings, example: str) -> None:
    school = create_organisation(db, orgnr="931946773", name="Skolen", kind="school")
    content = (EXAMPLES / example).read_text()
    baseline = run_import(db, io.BytesIO(content.encode()), sector="primary", provider_orgnr=school,
                          settings=settings, filename=example)  # fmt: skip
    assert baseline.accepted > 1
    with db.begin() as conn:  # start again from an empty register, with the same school
        conn.execute(text("TRUNCATE achievement, achievement_version, person, person_identifier CASCADE"))
    long_title = "Norsk hovedmål, skriftlig" + "x" * 2000
    report = run_import(db, io.BytesIO(content.replace("Norsk hovedmål, skriftlig", long_title, 1).encode()),
                        sector="primary", provider_orgnr=school, settings=settings, filename=example)  # fmt: skip
    assert (report.accepted, report.rejected) == (baseline.accepted - 1, baseline.rejected + 1)
    assert ("text.too_long", "specification.title.nb") in _rejections(db, report.batch_id)


def test_micro_a_long_description(db: Engine, settings: Settings) -> None:
    provider = create_organisation(db, name="Kursakademiet", kind="course_provider", codes={"issuer": ISSUER})
    envelope = json.loads((EXAMPLES / "micro-envelope.jsonl").read_text().splitlines()[0])
    envelope["learner"]["nin"] = new_nin(700)
    good = json.dumps(envelope)
    envelope["learner"]["nin"] = new_nin(701)
    envelope["credential"]["id"] = "urn:uuid:11111111-2222-4333-8444-555555555555"
    envelope["credential"]["credentialSubject"]["achievement"]["description"] = "d" * (
        TEXT_LIMITS["description"] + 1
    )
    report = _import(db, settings, (good + "\n" + json.dumps(envelope) + "\n").encode(), "micro", provider)
    assert (report.accepted, report.rejected) == (1, 1), report.errors
    [(code, path)] = _rejections(db, report.batch_id)
    assert code == "text.too_long" and path is not None and path.startswith("specification.description")


def test_higher_elmo_a_huge_given_name_and_course_title(db: Engine, settings: Settings) -> None:
    rng = random.Random(5)
    nordvik = institutions(rng)[0]
    provider = create_organisation(
        db, orgnr=nordvik.orgnr, name=nordvik.name_nb, kind="university",
        codes={"fs": nordvik.fs, "erasmus": " ".join(nordvik.erasmus.split()), "schac": nordvik.schac},
    )  # fmt: skip
    named = random_transcript(rng, nordvik, synthetic_person(rng, 1991))
    titled = random_transcript(rng, nordvik, synthetic_person(rng, 1992))
    good = random_transcript(rng, nordvik, synthetic_person(rng, 1993))
    # 9 MiB: within lxml's 10 MB node limit, so the ingest is what refuses it
    named.person = dataclasses.replace(named.person, given_name="N" * (9 * MiB))
    leaf = titled.results[0].parts[0] if titled.results[0].parts else titled.results[0]
    leaf.course = dataclasses.replace(leaf.course, title_nb="T" * (TEXT_LIMITS["title"] + 1))
    report = _import(db, settings, batch_document([named, titled, good]), "higher", provider)
    count = sum(1 + len(r.parts) for r in named.results)
    assert report.rejected == count + 1
    assert report.accepted == sum(1 + len(r.parts) for t in (titled, good) for r in t.results) - 1
    codes = _rejections(db, report.batch_id)
    assert codes.count(("text.too_long", "person.given_name")) == count
    assert codes.count(("text.too_long", "specification.title.nb")) == 1
    assert _longest_stored_text(db) < 1000


def _record(**changes: Any) -> AchievementRecord:
    spec = SpecificationIn(kind="course", title={"nb": "Emne"})  # type: ignore[arg-type]
    fields: dict[str, Any] = {
        "ref": "row 1", "source_key": "k", "sector": "vocational", "kind": "course_result",
        "person": PersonIn((IdentifierIn("nin", "1"),), "Kari"), "awarding_org": OrgRef("orgnr", "1"),
        "specification": spec, "grade": GradeIn("a-f", "B"),  # type: ignore[arg-type]
    }  # fmt: skip
    fields.update(changes)
    return AchievementRecord(**fields)


def test_the_limits_name_the_field_and_count_the_whole_record() -> None:
    assert find_overlong_text(_record()) is None
    many = tuple("o" * TEXT_LIMITS["learning_outcomes"] for _ in range(MAX_RECORD_TEXT // 10_000 + 1))
    spec = SpecificationIn(kind="course", title={"nb": "Emne"}, learning_outcomes=many)  # type: ignore[arg-type]
    assert find_overlong_text(_record(specification=spec)).path == "record"  # type: ignore[union-attr]
    cases = {
        "source_key": _record(source_key="k" * 257),
        "grade.value": _record(grade=GradeIn("a-f", "B" * 257)),  # type: ignore[arg-type]
        "person.identifiers[0].value": _record(person=PersonIn((IdentifierIn("nin", "1" * 300),))),
        "details.note": _record(details={"note": "n" * (DEFAULT_TEXT_LIMIT + 1)}),
        "details": _record(details={"k" * 5000: 1}),  # the key itself: not quoted in the path
        "withdrawal_reason": _record(withdrawal_reason="w" * 2001),
    }
    for path, record in cases.items():
        found = find_overlong_text(record)
        assert found is not None and found.path == path, (path, found)


def _slow_overlong(record: AchievementRecord) -> Any:
    """The full walk alone, as find_overlong_text did it before its quick first pass."""
    from register.text import OverlongText, _overlong

    total = [0]
    found = _overlong(record, "", DEFAULT_TEXT_LIMIT, total)
    if found is None and total[0] > MAX_RECORD_TEXT:
        return OverlongText("record", total[0], MAX_RECORD_TEXT)
    return found


def _near(limit: int) -> Any:
    from hypothesis import strategies as st

    return st.integers(0, 3).map(lambda k: "x" * (limit - 1 + k) if k else "")


def test_the_quick_pass_decides_as_the_full_walk() -> None:
    """Texts at, below and just over each limit, in every kind of field: the same answer and path."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(
        given_name=_near(TEXT_LIMITS["given_name"]),
        value=_near(TEXT_LIMITS["value"]),
        title=_near(TEXT_LIMITS["title"]),
        outcomes=st.lists(_near(TEXT_LIMITS["learning_outcomes"]), max_size=30),
        nkr=st.one_of(st.none(), _near(TEXT_LIMITS["nkr_level"])),
        key=_near(DEFAULT_TEXT_LIMIT),
        detail=_near(TEXT_LIMITS["details"]),
        alternative=_near(TEXT_LIMITS["value"]),
    )
    def check(**texts: Any) -> None:
        spec = SpecificationIn(
            kind="course", title={"nb": texts["title"]}, nkr_level=texts["nkr"],  # type: ignore[arg-type]
            learning_outcomes=tuple(texts["outcomes"]),
            owner=OrgRef("fs", "1", (OrgRef("erasmus", texts["alternative"]),)),
        )  # fmt: skip
        record = _record(
            person=PersonIn((IdentifierIn("nin", texts["value"]),), texts["given_name"]),
            specification=spec,
            details={"nested": [{texts["key"] or "k": texts["detail"]}]},
        )
        assert find_overlong_text(record) == _slow_overlong(record)

    check()
