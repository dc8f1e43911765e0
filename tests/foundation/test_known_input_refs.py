"""The refs of a known raw record's items reach ``stage_known`` as they were, whatever their text: the
ingest hands them to COPY as a ``text[]`` literal of its own making (``known_input.text_array``)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from register.ingest.known_input import Known, KnownSpan, Spans, text_array

HOSTILE_REFS = (
    "row 12",
    'a "quoted" ref',
    "back\\slash",
    "\\",
    '\\"',
    "{braces, and a comma}",
    "  spaces around  ",
    "NULL",
    "",
    "tab\there",
    "line\nbreak",
    "æøå – 🎓",
)


def test_every_ref_comes_back_from_stage_known_as_it_went_in(db: Engine) -> None:
    spans = Spans(None)
    known = Known(key=b"k" * 16, note=None, count=len(HOSTILE_REFS))
    spans.skip(KnownSpan("elmo[0]", known, HOSTILE_REFS), 0, "elmo[0]", HOSTILE_REFS)
    spans.skip(KnownSpan("row 40", Known(b"m" * 16, None, 1)), 12, "row 40")  # one ref for all its items
    spans.skip(KnownSpan("row 41", Known(b"n" * 16, None, 0)), 13, "row 41", ())
    with db.begin() as conn:
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        spans.copy(conn, cur)
        stored = conn.execute(text("SELECT first_seq, ref, refs FROM stage_known ORDER BY first_seq")).all()
    assert [tuple(row) for row in stored] == [
        (1, "elmo[0]", list(HOSTILE_REFS)),
        (13, "row 40", None),
        (14, "row 41", []),
    ]


def test_the_literal_is_postgresqls_own_text_form(db: Engine) -> None:
    with db.connect() as conn:
        for refs in (HOSTILE_REFS, (), ("one",)):
            assert conn.execute(
                text("SELECT CAST(:literal AS text[])"), {"literal": text_array(refs)}
            ).scalar_one() == list(refs)
