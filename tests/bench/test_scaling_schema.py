"""The schema stays compatible with the Citus plan of docs/scaling.md.

The plan puts every table in one role: distributed by person (co-located with ``person``), distributed
by another column, a reference table (copied to every node), or kept on the coordinator. What can be
checked without Citus is checked here, on the migrated schema:

- every person-scoped table (one that refers to ``person``, directly or through another person-scoped
  table) carries ``person_id``;
- every table has a role in the plan, so a new table fails this test until the plan says where it goes;
- on the tables distributed by person, the keys and foreign keys that do not include ``person_id`` yet
  are exactly the ones the plan lists as changing at distribution — and docs/scaling.md names each;
- foreign keys out of distributed tables point only at co-located or reference tables.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

pytestmark = pytest.mark.bench

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"

DISTRIBUTED_BY_PERSON = {  # table → its distribution column (person's own key is id)
    "person": "id",
    "achievement": "person_id",
    "achievement_version": "person_id",
    "achievement_attachment": "person_id",
    "person_history": "person_id",
    "stats_person_cell": "person_id",
    "stats_pending": "person_id",
}
DISTRIBUTED_OTHERWISE = {
    "person_identifier": "value",  # the way in: national id → person, one shard per look-up
    "import_batch_chunk": "batch_id",
    "import_rejection": "batch_id",
    "import_record": "batch_id",
    "oots_preview": "token",  # found by its PreviewLocation's token (register.oots.previews)
    "known_input": "provider_id",  # a provider's raw records delivered before (register.ingest.known_input)
}
REFERENCE = {
    "organisation",
    "organisation_code",
    "organisation_delivery",
    "learning_specification",
    "import_batch",
}
# audit_event: one hash chain, appended under one lock, with rows that name no person (person_id NULL,
# which a distribution column cannot be) — it stays whole on the coordinator; see docs/scaling.md.
COORDINATOR = {"stats_cell", "stats_state", "audit_event", "alembic_version"}
# The wallet issuer's tables (docs/wallet.md): found by secret hashes and status lists, never by person.
COORDINATOR |= {"wallet_offer", "wallet_access_token", "wallet_nonce", "wallet_credential"}
# citizen_session, share_link: small, found by a token's hash rather than by person (a login under way
# has no person yet); their foreign key to person becomes a check on write at distribution.
COORDINATOR |= {"citizen_session", "share_link"}
PERSON_SCOPED = {
    "person_identifier", "achievement", "achievement_version", "achievement_attachment", "stats_person_cell",
    "stats_pending", "audit_event", "person_history", "wallet_offer", "wallet_access_token", "wallet_credential",
    "citizen_session", "share_link", "oots_preview",
}  # fmt: skip

#: keys and foreign keys of tables distributed by person that must gain person_id at distribution
CITUS_CHANGES = {
    "pk_achievement": "(person_id, id)",
    "uq_achievement_source_key_awarding_org_id": "(person_id, source_key, awarding_org_id) + achievement_key",
    "fk_achievement_part_of_id_achievement": "(person_id, part_of_id)",
    "pk_achievement_version": "(person_id, achievement_id, version)",
    "fk_achievement_version_achievement_id_achievement": "(person_id, achievement_id)",
    "pk_achievement_attachment": "(person_id, id)",
    "fk_achievement_attachment_achievement_id_achievement": "(person_id, achievement_id)",
    "pk_stats_person_cell": "(person_id, id)",
    "pk_person_history": "(person_id, id)",
    "fk_person_identifier_person_id_person": "dropped (not co-located)",
    "pk_person_identifier": "(value, id)",
    "pk_oots_preview": "(token, id)",
    "fk_oots_preview_person_id_person": "dropped (not co-located)",
}


def _columns(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
        ).all()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def _constraints(engine: Engine) -> list[tuple[str, str, str, list[str], str | None]]:
    """(table, name, type p/u/f, columns, referenced table) of every key and foreign key."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT c.conrelid::regclass::text, c.conname, c.contype,
                          array(SELECT a.attname FROM unnest(c.conkey) k
                                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k),
                          CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END
                   FROM pg_constraint c
                   WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f')"""
            )
        ).all()
    return [(t, n, k, list(cols), ref) for t, n, k, cols, ref in rows]


def test_every_person_scoped_table_carries_person_id(engine: Engine) -> None:
    columns = _columns(engine)
    constraints = _constraints(engine)
    scoped = {t for t, cols in columns.items() if "person_id" in cols}
    grew = True
    while grew:  # refers to person or to a person-scoped table
        before = len(scoped)
        scoped |= {
            t for t, _, kind, _, ref in constraints if kind == "f" and (ref == "person" or ref in scoped)
        }
        grew = len(scoped) > before
    assert scoped, "the schema has no person-scoped table: the migration did not run"
    for table in scoped:
        assert "person_id" in columns[table], f"{table} refers to a person but has no person_id"
    assert scoped == PERSON_SCOPED


def test_every_table_has_a_role_in_the_plan(engine: Engine) -> None:
    roles = [set(DISTRIBUTED_BY_PERSON), set(DISTRIBUTED_OTHERWISE), REFERENCE, COORDINATOR]
    planned = set().union(*roles)
    assert sum(len(r) for r in roles) == len(planned), "a table has two roles"
    assert set(_columns(engine)) == planned


def test_keys_without_the_distribution_column_are_the_planned_changes(engine: Engine) -> None:
    distributed = {**DISTRIBUTED_BY_PERSON, **DISTRIBUTED_OTHERWISE}
    found = set()
    for table, name, kind, cols, ref in _constraints(engine):
        if table not in distributed:
            continue
        column = distributed[table]
        if kind == "f" and ref in REFERENCE:
            continue  # a foreign key to a reference table is fine as it is
        if kind == "f":
            # Between distributed tables: both sides on the same distribution column (co-located).
            assert ref in DISTRIBUTED_BY_PERSON, f"{name}: {table} refers to {ref}, which is not co-located"
            if column in cols and DISTRIBUTED_BY_PERSON.get(ref) == "id" and table in DISTRIBUTED_BY_PERSON:
                continue
        elif column in cols:
            continue
        found.add(name)
    assert found == set(CITUS_CHANGES)


def test_the_scaling_document_names_every_table_and_planned_change() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for table in {*DISTRIBUTED_BY_PERSON, *DISTRIBUTED_OTHERWISE, *REFERENCE, *COORDINATOR} - {
        "alembic_version"
    }:
        assert f"`{table}`" in doc, table
    for name in CITUS_CHANGES:
        assert f"`{name}`" in doc, name
