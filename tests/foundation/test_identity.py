"""The identity model (register.identity, docs/identity.md): each rule, and each finding of issue 13
it answers, reproduced through the import job on the real database."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, text

from intake.batches import BatchReport, run_import
from register.identity import CONFLICT_MESSAGE
from register.settings import Settings
from tests.factories import create_organisation, new_nin
from tests.foundation.recordlines import lines

pytestmark = pytest.mark.usefixtures("record_lines")

ESI = "urn:schac:personalUniqueCode:int:esi:no.nordvik:4711"
SWEDISH = {"kind": "foreign", "scheme": "SE", "value": "199001012384"}


def esi(value: str = ESI) -> dict[str, str]:
    return {"kind": "esi", "value": value}


def deliver(engine: Engine, settings: Settings, provider: str, *records: dict[str, Any]) -> BatchReport:
    return run_import(
        engine, io.BytesIO(lines(*records)), sector="primary", provider_orgnr=provider, settings=settings
    )


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def holder(engine: Engine, value: str) -> Any:
    return scalar(engine, "SELECT person_id FROM person_identifier WHERE value = :v", v=value)


def codes(report: BatchReport) -> list[str]:
    return [e.code for e in report.errors]


@pytest.fixture
def school(db: Engine) -> str:
    return create_organisation(db, name="Nordby videregående skole")


def test_finding_1_a_new_national_id_with_someone_elses_esi_is_rejected_not_merged(
    db: Engine, settings: Settings, school: str
) -> None:
    anna, bjorn = new_nin(), new_nin()
    deliver(db, settings, school, {"nin": anna, "key": "a-1", "org": school, "extra_ids": [esi()]})
    report = deliver(
        db,
        settings,
        school,
        {"nin": bjorn, "key": "b-1", "org": school, "extra_ids": [esi()], "ref": "row 1"},
    )
    assert codes(report) == ["person.identifier_conflict"]
    assert report.errors[0].message == CONFLICT_MESSAGE
    assert holder(db, bjorn) is None  # not attached to Anna, not made a person of its own
    assert scalar(db, "SELECT count(*) FROM achievement WHERE source_key = 'b-1'") == 0
    assert holder(db, ESI) == holder(db, anna)


def test_finding_1_likewise_for_a_foreign_national_id(db: Engine, settings: Settings, school: str) -> None:
    anna, bjorn = new_nin(), new_nin()
    deliver(db, settings, school, {"nin": anna, "key": "a-1", "org": school, "extra_ids": [SWEDISH]})
    report = deliver(
        db, settings, school, {"nin": bjorn, "key": "b-1", "org": school, "extra_ids": [SWEDISH]}
    )
    assert codes(report) == ["person.identifier_conflict"]
    assert holder(db, bjorn) is None


def test_a_known_national_id_with_another_persons_esi_is_rejected(
    db: Engine, settings: Settings, school: str
) -> None:
    anna, bjorn = new_nin(), new_nin()
    deliver(db, settings, school, {"nin": anna, "key": "a-1", "org": school, "extra_ids": [esi()]})
    deliver(db, settings, school, {"nin": bjorn, "key": "b-1", "org": school})
    report = deliver(db, settings, school, {"nin": bjorn, "key": "b-2", "org": school, "extra_ids": [esi()]})
    assert codes(report) == ["person.identifier_conflict"]
    assert holder(db, ESI) == holder(db, anna)


def test_two_national_ids_in_one_record_are_rejected_whether_known_or_not(
    db: Engine, settings: Settings, school: str
) -> None:
    """Finding 2: the second number was linked to the first one's person (identity hijack); with two
    known numbers the old answer said that both exist."""
    victim, attacker, other = new_nin(), new_nin(), new_nin()
    deliver(db, settings, school, {"nin": victim, "key": "v-1", "org": school})
    deliver(db, settings, school, {"nin": other, "key": "o-1", "org": school})
    hijack = {"nin": victim, "key": "x-1", "org": school, "extra_ids": [{"kind": "nin", "value": attacker}]}
    both_known = {"nin": victim, "key": "x-2", "org": school, "extra_ids": [{"kind": "nin", "value": other}]}
    new_only = {
        "nin": new_nin(),
        "key": "x-3",
        "org": school,
        "extra_ids": [{"kind": "nin", "value": new_nin()}],
    }
    report = deliver(db, settings, school, hijack, both_known, new_only)
    assert codes(report) == ["person.identifier_conflict"] * 3
    assert len({e.message for e in report.errors}) == 1  # known or not, the same answer
    assert holder(db, attacker) is None
    assert scalar(db, "SELECT count(*) FROM person") == 2
    # A later legitimate delivery for the attacker's number makes its own person.
    deliver(db, settings, school, {"nin": attacker, "key": "l-1", "org": school})
    assert holder(db, attacker) not in (None, holder(db, victim))


def test_the_same_national_id_twice_in_a_record_is_one(db: Engine, settings: Settings, school: str) -> None:
    pupil = new_nin()
    report = deliver(
        db,
        settings,
        school,
        {"nin": pupil, "key": "s-1", "org": school, "extra_ids": [{"kind": "nin", "value": pupil}]},
    )
    assert (report.accepted, report.rejected) == (1, 0)


def test_identifiers_leading_to_two_persons_are_rejected_without_saying_so(
    db: Engine, settings: Settings, school: str
) -> None:
    deliver(db, settings, school, {"nin": new_nin(), "key": "a-1", "org": school, "extra_ids": [esi()]})
    deliver(db, settings, school, {"nin": new_nin(), "key": "b-1", "org": school, "extra_ids": [SWEDISH]})
    report = deliver(
        db, settings, school, {"nin": None, "key": "c-1", "org": school, "extra_ids": [esi(), SWEDISH]}
    )
    assert codes(report) == ["person.identifier_conflict"]
    assert "ambiguous" not in report.errors[0].message and "different persons" not in report.errors[0].message


def test_a_secondary_identifier_alone_finds_its_one_person_and_attaches_nothing(
    db: Engine, settings: Settings, school: str
) -> None:
    anna = new_nin()
    deliver(db, settings, school, {"nin": anna, "key": "a-1", "org": school, "extra_ids": [esi()]})
    report = deliver(
        db, settings, school, {"nin": None, "key": "a-2", "org": school, "extra_ids": [esi(), SWEDISH]}
    )
    assert report.accepted == 1
    assert scalar(db, "SELECT person_id FROM achievement WHERE source_key = 'a-2'") == holder(db, anna)
    assert holder(db, SWEDISH["value"]) is None  # I5: an ESI alone never extends a person


def test_new_secondary_identifiers_alone_make_one_new_person(
    db: Engine, settings: Settings, school: str
) -> None:
    report = deliver(
        db, settings, school,
        {"nin": None, "key": "e-1", "org": school, "extra_ids": [esi(), SWEDISH]},
        {"nin": None, "key": "e-2", "org": school, "extra_ids": [esi(), SWEDISH], "code": "ENG1007"},
    )  # fmt: skip
    assert report.accepted == 2
    assert scalar(db, "SELECT count(*) FROM person") == 1
    assert holder(db, ESI) == holder(db, SWEDISH["value"]) is not None


def test_within_a_delivery_the_first_national_id_claims_a_new_esi(
    db: Engine, settings: Settings, school: str
) -> None:
    first, second = new_nin(), new_nin()
    report = deliver(
        db, settings, school,
        {"nin": first, "key": "f-1", "org": school, "extra_ids": [esi()]},
        {"nin": second, "key": "s-1", "org": school, "extra_ids": [esi()], "ref": "row 2"},
        {"nin": None, "key": "e-1", "org": school, "extra_ids": [esi()]},
    )  # fmt: skip
    assert [(e.record, e.code) for e in report.errors] == [("row 2", "person.identifier_conflict")]
    assert holder(db, ESI) == holder(db, first)
    assert scalar(db, "SELECT person_id FROM achievement WHERE source_key = 'e-1'") == holder(db, first)
    assert holder(db, second) is None


def test_a_conflict_is_audited_for_the_operators_without_identifiers(
    db: Engine, settings: Settings, school: str
) -> None:
    anna, bjorn = new_nin(), new_nin()
    deliver(db, settings, school, {"nin": anna, "key": "a-1", "org": school, "extra_ids": [esi()]})
    report = deliver(
        db,
        settings,
        school,
        {"nin": bjorn, "key": "b-1", "org": school, "extra_ids": [esi()], "ref": "row 7"},
    )
    with db.connect() as conn:
        event = conn.execute(
            text("SELECT organisation, details FROM audit_event WHERE action = 'identity.conflict'")
        ).one()
    assert event.organisation == school
    details = event.details
    assert details["batch_id"] == str(report.batch_id)
    assert details["conflicts"] == [{"record": "row 7", "persons": [str(holder(db, anna))]}]
    assert anna not in str(details) and bjorn not in str(details) and ESI not in str(details)


def test_finding_3_a_record_redelivered_for_another_learner_is_refused(
    db: Engine, settings: Settings, school: str
) -> None:
    anna, bjorn = new_nin(), new_nin()
    deliver(db, settings, school, {"nin": anna, "key": "vm-1", "org": school})
    report = deliver(db, settings, school, {"nin": bjorn, "key": "vm-1", "org": school, "grade": "6"})
    assert codes(report) == ["record.learner_changed"]
    assert "withdraw" in report.errors[0].message and "new source key" in report.errors[0].message
    assert scalar(db, "SELECT person_id FROM achievement WHERE source_key = 'vm-1'") == holder(db, anna)
    assert scalar(db, "SELECT version FROM achievement WHERE source_key = 'vm-1'") == 1
    # The documented correction: withdraw, then deliver for the right person under a new key.
    withdraw = {"nin": anna, "key": "vm-1", "org": school, "status": "withdrawn", "reason": "wrong pupil"}
    fixed = deliver(
        db, settings, school, withdraw, {"nin": bjorn, "key": "vm-1b", "org": school, "grade": "6"}
    )
    assert (fixed.accepted, fixed.rejected) == (2, 0)


def test_finding_3_likewise_for_a_micro_credential(db: Engine, settings: Settings, school: str) -> None:
    anna, bjorn = new_nin(), new_nin()
    credential = "urn:uuid:6f1c8e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
    micro = {"key": credential, "org": school, "kind": "micro_credential", "grade": None, "code": "MC1"}
    deliver(db, settings, school, {**micro, "nin": anna})
    report = deliver(db, settings, school, {**micro, "nin": bjorn})
    assert codes(report) == ["record.learner_changed"]
    assert scalar(db, "SELECT person_id FROM achievement") == holder(db, anna)


def test_finding_4_a_school_and_its_county_delivering_the_same_file_store_it_once(
    db: Engine, settings: Settings, school: str
) -> None:
    county = create_organisation(db, name="Nordland fylkeskommune", kind="county", delivers_for=[school])
    pupil = new_nin()
    records = [
        {"nin": pupil, "key": "vm-1", "org": school, "kind": "diploma", "grade": None, "code": "VM", "title": "Vitnemål"},
        {"nin": pupil, "key": "s-1", "org": school, "parent": "vm-1"},
    ]  # fmt: skip
    first = deliver(db, settings, school, *records)
    second = deliver(db, settings, county, *records)
    assert (first.accepted, second.accepted, second.unchanged) == (2, 0, 2)
    changed = deliver(db, settings, county, records[0], {**records[1], "grade": "6"})
    assert (changed.accepted, changed.unchanged) == (1, 1)
    assert scalar(db, "SELECT count(*) FROM achievement") == 2
    assert scalar(db, "SELECT version FROM achievement WHERE source_key = 's-1'") == 2
    # Who delivered the current version is kept for provenance.
    assert (
        scalar(
            db,
            "SELECT o.orgnr FROM achievement a JOIN organisation o ON o.id = a.provider_id WHERE source_key = 's-1'",
        )
        == county
    )


def test_finding_4_also_when_both_deliver_at_the_same_moment(
    db: Engine, settings: Settings, school: str
) -> None:
    county = create_organisation(db, name="Nordland fylkeskommune", kind="county", delivers_for=[school])
    records = [{"nin": new_nin(), "key": f"s-{i}", "org": school, "code": f"C{i}"} for i in range(50)]
    start = threading.Barrier(2)
    reports: list[BatchReport] = []

    def upload(provider: str) -> None:
        start.wait()
        reports.append(deliver(db, settings, provider, *records))

    threads = [threading.Thread(target=upload, args=(p,)) for p in (school, county)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.accepted, r.unchanged, r.rejected) for r in reports) == [(0, 50, 0), (50, 0, 0)]
    assert scalar(db, "SELECT count(*) FROM achievement") == 50
    assert scalar(db, "SELECT count(*) FROM person") == 50


def test_names_and_birth_date_follow_newer_deliveries_and_keep_their_history(
    db: Engine, settings: Settings, school: str
) -> None:
    pupil = new_nin()
    deliver(db, settings, school, {"nin": pupil, "key": "s-1", "org": school, "given_name": "Kari"})
    deliver(
        db,
        settings,
        school,
        {"nin": pupil, "key": "s-2", "org": school, "code": "ENG1007", "given_name": "Kari"},
    )
    assert scalar(db, "SELECT count(*) FROM person_history") == 0  # the same name is no change
    report = deliver(
        db,
        settings,
        school,
        {
            "nin": pupil,
            "key": "s-3",
            "org": school,
            "code": "MAT1",
            "given_name": "Karianne",
            "birth_date": "2008-03-01",
        },
    )
    with db.connect() as conn:
        current = conn.execute(text("SELECT given_name, family_name, birth_date::text FROM person")).one()
        history = conn.execute(
            text("SELECT given_name, family_name, replaced_by_batch_id FROM person_history")
        ).all()
    assert tuple(current) == ("Karianne", "Nordmann", "2008-03-01")
    assert [tuple(h) for h in history] == [("Kari", "Nordmann", report.batch_id)]


def test_an_overlong_or_many_identifiers_reject_the_record_not_the_batch(
    db: Engine, settings: Settings, school: str
) -> None:
    many = [esi(f"urn:schac:personalUniqueCode:int:esi:no:{'x' * 200}{i}") for i in range(40)]
    report = deliver(
        db, settings, school,
        {"nin": new_nin(), "key": "long", "org": school, "extra_ids": [esi("u" * 3000)], "ref": "row 1"},
        {"nin": new_nin(), "key": "many", "org": school, "extra_ids": many},
    )  # fmt: skip
    assert report.status == "completed"
    assert [(e.record, e.code) for e in report.errors] == [("row 1", "text.too_long")]
    assert report.accepted == 1


def test_overlapping_new_identifiers_without_a_national_id_make_one_person(
    db: Engine, settings: Settings, school: str
) -> None:
    other = esi("urn:schac:personalUniqueCode:int:esi:no.nordvik:4712")
    report = deliver(
        db, settings, school,
        {"nin": None, "key": "e-1", "org": school, "extra_ids": [esi(), SWEDISH]},
        {"nin": None, "key": "e-2", "org": school, "extra_ids": [other, SWEDISH], "ref": "row 2"},
    )  # fmt: skip
    assert [(e.record, e.code) for e in report.errors] == [("row 2", "person.identifier_conflict")]
    assert scalar(db, "SELECT count(*) FROM person") == 1
    assert holder(db, other["value"]) is None
