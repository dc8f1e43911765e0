"""The audit row's hash is computed in SQL under the chain's lock; Python's ``event_hash`` (what
``verify_chain`` and ``register audit verify`` check) must agree with it for any content, and writers of
one chain at the same time must still leave an unbroken chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from register import audit
from register.database import get_engine


def _reference_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """``event_hash`` as it was before the SQL digest: the same fields, the canonical JSON in one ``json.dumps``."""
    canonical = {"prev_hash": prev_hash, **audit.canonical_fields(content)}
    encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)  # no lone surrogates: not UTF-8
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_contents = st.fixed_dictionaries(
    {
        "chain": st.integers(0, audit.CHAINS - 1),
        "occurred_at": st.datetimes(timezones=st.just(dt.UTC)),
        "request_id": st.none() | _text,
        "client_id": st.none() | _text,
        "organisation": st.none() | _text,
        "scope": st.none() | _text,
        "person_id": st.none() | st.uuids(),
        "action": _text,
        "details": st.dictionaries(_text, _json, max_size=5),
    }
)


@settings(max_examples=300, deadline=None)
@given(content=_contents, prev=st.one_of(st.just(audit.GENESIS), _text))
def test_event_hash_is_the_canonical_json_of_before(content: dict[str, Any], prev: str) -> None:
    """Hashes of rows written before this change still verify: the split encoding is the same text."""
    assert audit.event_hash(prev, content) == _reference_hash(prev, content)


AWKWARD = {
    "endpoint": 'POST /v1/persons/lookup "quoted" \\ back',
    "navn": "Ærlig Øystein Åsen — 漢字 😀",
    "control": "tab\tnewline\nnul-free",
    "nested": {"b": [1, None, True, {"z": "ü", "a": -3}], "a": {}},
    "count": 3,
}


def test_the_digest_written_in_sql_is_the_one_python_checks(db: Engine) -> None:
    person = uuid.uuid4()
    with db.begin() as conn:
        ids = [
            audit.record_read(conn, person_id=person, action="persons.lookup", details=AWKWARD),
            audit.record_read(
                conn, person_id=person, action="persons.lookup", request_id="ræk\"'", details={}
            ),
            audit.record_event(conn, action="audit.search", client_id="klient ø", details={"q": AWKWARD}),
        ]
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM audit_event WHERE id = ANY(:ids) ORDER BY id"), {"ids": ids}
        ).all()
        assert [row.details for row in rows] == [AWKWARD, {}, {"q": AWKWARD}]
        assert rows[0].prev_hash == audit.GENESIS and rows[1].prev_hash == rows[0].hash
        assert rows[2].chain == 0 and rows[0].chain == audit.chain_of(person) != 0
        for row in rows:
            stored = dict(row._mapping)
            assert (
                row.hash == audit.event_hash(row.prev_hash, stored) == _reference_hash(row.prev_hash, stored)
            )
        assert audit.verify_chain(conn) == audit.ChainVerification(True, 3)
    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(app, ["audit", "verify", "--json"])
    finally:
        get_engine().dispose()
        get_engine.cache_clear()
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["checked"] == 3


def test_writers_of_one_chain_at_the_same_time_leave_it_unbroken(db: Engine) -> None:
    """The previous hash is read by a statement that starts after the lock is granted: were it read
    in the locking statement, a writer that waited would chain onto the hash before the one it waited
    for, and two rows would name the same predecessor."""
    person = uuid.uuid4()  # one person: every row goes to the same chain
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(worker: int) -> None:
        try:
            start.wait()
            for i in range(25):
                with db.begin() as conn:
                    audit.record_read(
                        conn, person_id=person, action="persons.lookup", request_id=f"{worker}-{i}"
                    )
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with db.connect() as conn:
        assert audit.verify_chain(conn) == audit.ChainVerification(True, 100)
        links = conn.execute(text("SELECT count(DISTINCT prev_hash), count(*) FROM audit_event")).one()
    assert tuple(links) == (100, 100)
