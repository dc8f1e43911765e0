"""The view log's grouping: by organisation and purpose, newest group first, the person's own reads left out."""

from __future__ import annotations

from sqlalchemy import Engine

from register import audit
from register.viewlog import views_by_others
from tests.api.rows import new_person
from tests.factories import new_nin


def test_reads_are_grouped_by_organisation_and_purpose_newest_first(db: Engine, orgs: dict[str, str]) -> None:
    with db.begin() as conn:
        person = new_person(conn, new_nin(5), "Ola", "Nordmann")
    reads = [
        (orgs["portal"], "persons.lookup", "kompetanse:read"),
        (orgs["analyst"], "persons.elmo", "kompetanse:read"),
        (orgs["portal"], "persons.lookup", "kompetanse:read"),
        (None, "citizen.results", None),  # the person's own read
        (orgs["portal"], "persons.elmo", "kompetanse:read"),
    ]
    for organisation, action, scope in reads:
        with db.begin() as conn:  # one transaction each: each read has its own time
            audit.record_read(conn, person_id=person, action=action, organisation=organisation, scope=scope)
    with db.connect() as conn:
        groups = views_by_others(conn, person)
    assert [(g.organisation, g.action, len(g.dates)) for g in groups] == [
        (orgs["portal"], "persons.elmo", 1),
        (orgs["portal"], "persons.lookup", 2),
        (orgs["analyst"], "persons.elmo", 1),
    ]
    assert groups[1].dates == sorted(groups[1].dates, reverse=True)
    assert groups[0].organisation_name == "Sikt (Vitnemålsportalen)"
    assert [g.latest for g in groups] == sorted((g.latest for g in groups), reverse=True)
