"""Issue 13, findings 1 and 2, in the shape they were found: ELMO learners through the import job."""

from __future__ import annotations

import io
import random

from sqlalchemy import Engine, text

from demo.higher import Transcript, elmo_document, institutions, random_transcript
from intake.batches import BatchReport, run_import
from register.settings import Settings
from register.synthetic import synthetic_person
from tests.factories import create_organisation

ESI = "urn:schac:personalUniqueCode:int:esi:no.nordvik:s4711"


def _setup(db: Engine) -> tuple[str, list[Transcript]]:
    rng = random.Random(13)
    nordvik = institutions(rng)[0]
    provider = create_organisation(
        db, orgnr=nordvik.orgnr, name=nordvik.name_nb, kind="university",
        codes={"fs": nordvik.fs, "erasmus": " ".join(nordvik.erasmus.split()), "schac": nordvik.schac},
    )  # fmt: skip
    return provider, [random_transcript(rng, nordvik, synthetic_person(rng, 1990 + i)) for i in range(3)]


def _document(transcript: Transcript, *extra: str) -> bytes:
    """The transcript's ELMO document with further identifiers after the learner's national id."""
    nin = transcript.person.nin
    national = f'<identifier type="nationalIdentifier">{nin}</identifier>'
    document = elmo_document(transcript).decode()
    assert national in document
    return document.replace(national, national + "".join(extra)).encode()


def _deliver(db: Engine, settings: Settings, provider: str, document: bytes) -> BatchReport:
    return run_import(db, io.BytesIO(document), sector="higher", provider_orgnr=provider, settings=settings)


def _person_of(db: Engine, value: str) -> object:
    with db.connect() as conn:
        return conn.execute(
            text("SELECT person_id FROM person_identifier WHERE value = :v"), {"v": value}
        ).scalar()


def test_finding_1_a_new_learner_with_an_esi_someone_holds_is_not_merged(
    db: Engine, settings: Settings
) -> None:
    provider, (anna, bjorn, _) = _setup(db)
    esi = f'<identifier type="esi">{ESI}</identifier>'
    assert _deliver(db, settings, provider, _document(anna, esi)).rejected == 0
    report = _deliver(db, settings, provider, _document(bjorn, esi))
    assert report.accepted == 0 and {e.code for e in report.errors} == {"person.identifier_conflict"}
    assert _person_of(db, bjorn.person.nin) is None  # was: dropped, and the results given to Anna
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT person_id) FROM achievement")).scalar() == 1


def test_finding_2_a_second_national_identifier_never_joins_a_person(db: Engine, settings: Settings) -> None:
    provider, (victim, other, _) = _setup(db)
    _deliver(db, settings, provider, _document(victim))
    _deliver(db, settings, provider, _document(other))
    attacker = synthetic_person(random.Random(99), 1999).nin
    for second in (attacker, other.person.nin):  # a new number, and an existing one
        hijack = _document(victim, f'<identifier type="nationalIdentifier">{second}</identifier>')
        report = _deliver(
            db, settings, provider, hijack.replace(b"<generatedDate>", b"<!-- again --><generatedDate>")
        )
        assert {e.code for e in report.errors} == {"person.identifier_conflict"}, report.errors[:1]
        assert all("ambiguous" not in e.message for e in report.errors)
    assert _person_of(db, attacker) is None
    assert _person_of(db, other.person.nin) != _person_of(db, victim.person.nin)
