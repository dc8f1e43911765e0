"""A re-export of an ELMO batch: known documents are cut out by bytes and not parsed, and the batch
says exactly what a full read says (importers.higher.elmo.known_documents)."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from demo.higher import ELMO_NS, elmo_fragments, institutions, random_transcript
from importers.higher.elmo import importer as elmo_importer
from importers.higher.elmo import known_documents, parallel, transport
from intake.batches import BatchReport, run_import
from register.ingest import known_input
from register.settings import Settings
from register.synthetic import synthetic_person
from tests.factories import create_organisation
from tests.importers.higher.helpers import sign, signing_identity
from tests.importers.resend import records_of


class Mapped:
    """Which documents the importer read: those whose reports it mapped (the real mapping, counted)
    and those it handed to worker processes to read (``parallel.Readers.add``, counted)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.documents: list[int] = []
        original = elmo_importer.map_report
        hand_out = parallel.Readers.add

        def counted(element: Any, ctx: Any) -> Iterator[Any]:
            self.documents.append(ctx.elmo_index)
            return original(element, ctx)

        def handed_out(readers: parallel.Readers, index: int, *args: Any) -> parallel.Task:
            self.documents.append(index)
            return hand_out(readers, index, *args)

        monkeypatch.setattr(elmo_importer, "map_report", counted)
        monkeypatch.setattr(parallel.Readers, "add", handed_out)

    def take(self) -> list[int]:
        taken, self.documents = sorted(set(self.documents)), []
        return taken


@pytest.fixture
def mapped(monkeypatch: pytest.MonkeyPatch) -> Mapped:
    return Mapped(monkeypatch)


@pytest.fixture
def setup(db: Engine) -> tuple[str, list[str]]:
    """The institution (its orgnr) and five learners' ``elmo`` elements."""
    rng = random.Random(7)
    nordvik = institutions(rng)[0]
    provider = create_organisation(
        db, orgnr=nordvik.orgnr, name=nordvik.name_nb, kind="university",
        codes={"fs": nordvik.fs, "erasmus": " ".join(nordvik.erasmus.split()), "schac": nordvik.schac},
    )  # fmt: skip
    documents = [
        "".join(elmo_fragments(random_transcript(rng, nordvik, synthetic_person(rng, 1990 + i))))
        for i in range(5)
    ]
    return provider, documents


def batch(documents: list[str], between: str = "", after: str = "", root: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<elmoBatch xmlns="{ELMO_NS}"{root}>\n'
        + between.join(documents)
        + f"</elmoBatch>\n{after}"
    ).encode()


def regrade(document: str, grade: str, otherwise: str) -> str:
    """The document with its first letter grade changed to ``grade`` (``otherwise`` where it was that)."""
    found = re.search(r"<resultLabel>([A-F])</resultLabel>", document)
    assert found is not None
    new = grade if found[1] != grade else otherwise
    return document[: found.start(1)] + new + document[found.end(1) :]


def deliver(db: Engine, settings: Settings, provider: str, content: bytes) -> BatchReport:
    return run_import(db, io.BytesIO(content), sector="higher", provider_orgnr=provider, settings=settings)


def forget(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("DELETE FROM known_input"))


def outcome(db: Engine, report: BatchReport) -> tuple[Any, ...]:
    """Everything a batch says: counts, warnings, errors, details, and its records in order."""
    with db.connect() as conn:
        details, warnings = conn.execute(
            text("SELECT details, warnings FROM import_batch WHERE id = :b"), {"b": report.batch_id}
        ).one()
    records = records_of(db, report)
    errors = [(e.record, e.code) for e in report.errors]
    counts = (report.status, report.accepted, report.new, report.changed, report.unchanged, report.rejected)
    return counts, errors, warnings, details, records


def assert_reads_alike(full: tuple[Any, ...], skipped: tuple[Any, ...]) -> None:
    """The batch that skipped known documents says what the full read says; only the records'
    sequence numbers may differ (a full read of other bytes numbers them anew)."""
    assert full[:4] == skipped[:4]
    assert [r[1:] for r in full[4]] == [r[1:] for r in skipped[4]]


def full_read(db: Engine, settings: Settings, provider: str, content: bytes) -> tuple[Any, ...]:
    forget(db)
    return outcome(db, deliver(db, settings, provider, content))


def test_a_re_export_is_not_parsed_and_says_what_a_full_read_says(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    first = deliver(db, settings, provider, batch(documents))
    assert first.status == "completed" and first.accepted > 0 and first.rejected == 0
    assert mapped.take() == [1, 2, 3, 4, 5]

    # what the benchmark's re-export adds, and a comment and blank lines between documents
    re_export = batch(documents, between="\n<!-- next learner -->\n\n", after="<!-- re-export -->\n")
    resend = outcome(db, deliver(db, settings, provider, re_export))
    assert mapped.take() == []
    assert resend[0] == ("completed", 0, 0, 0, first.accepted, 0)
    assert resend[3]["learners"] == 5 and resend[3]["records"] == first.accepted

    full = full_read(db, settings, provider, re_export + b"\n")
    assert mapped.take() == [1, 2, 3, 4, 5]
    assert_reads_alike(full, resend)


def test_a_corrected_document_is_parsed_and_the_others_skipped(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    deliver(db, settings, provider, batch(documents))
    mapped.take()
    corrected = [*documents[:2], regrade(documents[2], "A", "B"), *documents[3:]]
    again = outcome(db, deliver(db, settings, provider, batch(corrected, between="\n")))
    assert mapped.take() == [3]
    assert again[0][:4] == ("completed", 1, 0, 1)

    full = full_read(db, settings, provider, batch(corrected, between="\n\n"))
    assert mapped.take() == [1, 2, 3, 4, 5]
    assert full[0][:3] == ("completed", 0, 0)  # the correction is stored now
    assert full[2:4] == again[2:4]
    assert [r[1:3] for r in full[4]] == [r[1:3] for r in again[4]]


def test_a_document_with_a_warning_is_parsed_again(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    # the issuer without its titles: "elmo.issuer_title_missing", and the records are imported
    start, end = documents[1].index("<title xml:lang"), documents[1].index("<url>")
    warned = [documents[0], documents[1][:start] + documents[1][end:], *documents[2:]]
    first = deliver(db, settings, provider, batch(warned))
    assert "elmo.issuer_title_missing" in {w.code for w in first.warnings}
    mapped.take()

    again = outcome(db, deliver(db, settings, provider, batch(warned, between=" ")))
    assert mapped.take() == [2]
    full = full_read(db, settings, provider, batch(warned, between="  "))
    assert_reads_alike(full, again)


def test_a_document_with_a_rejection_is_parsed_again(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    # a national id whose check digits fail: the ingest rejects the document's records
    broken = [
        *documents[:3],
        re.sub(r"(nationalIdentifier\">)\d+", r"\g<1>12345678901", documents[3]),
        *documents[4:],
    ]
    first = deliver(db, settings, provider, batch(broken))
    assert first.rejected >= 1
    mapped.take()

    again = outcome(db, deliver(db, settings, provider, batch(broken, between="\n")))
    assert mapped.take() == [4]
    full = full_read(db, settings, provider, batch(broken, between="\n\n"))
    assert_reads_alike(full, again)


def _tricky(documents: list[str], kind: str) -> bytes:
    first = {
        "comment": documents[0].replace("<learner>", "<!-- </elmo> --><learner>", 1),
        "cdata": documents[0].replace("<givenNames>", "<givenNames><![CDATA[</elmo>]]>", 1),
        "attribute": documents[0].replace("<identifier ", '<identifier note="a > b" ', 1),
    }[kind]
    return batch([first, *documents[1:]], between="\n")


@pytest.mark.parametrize("kind", ["comment", "cdata", "attribute"])
def test_tricky_bytes_inside_a_document_are_read_in_full_alike(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped, kind: str
) -> None:
    provider, documents = setup
    content = _tricky(documents, kind)
    first = outcome(db, deliver(db, settings, provider, content))
    mapped.take()
    again = outcome(db, deliver(db, settings, provider, content + b"<!-- again -->"))
    parsed = mapped.take()
    if kind == "attribute":  # a ">" in an attribute is read by the scan: nothing parsed
        assert parsed == []
    else:  # the first document holds "<!": the whole file is read
        assert parsed == [1, 2, 3, 4, 5]
    full = full_read(db, settings, provider, content + b"<!-- full -->")
    assert_reads_alike(full, again)
    assert first[0][1] == again[0][4]  # accepted first, unchanged now


def test_a_doctype_is_refused_on_a_re_send_too(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    deliver(db, settings, provider, batch(documents))
    mapped.take()
    content = batch(documents).replace(
        b"\n<elmoBatch", b'\n<!DOCTYPE elmoBatch [<!ENTITY x "y">]>\n<elmoBatch', 1
    )
    again = deliver(db, settings, provider, content)
    assert mapped.take() == []
    assert again.status == "failed"
    assert again.failure is not None and again.failure.code == "xml.doctype"


def test_a_batch_with_a_signature_is_read_in_full(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    # the first learner's document signed on its own (a signature over what it covers, inside a batch)
    signed = sign(f'<?xml version="1.0" encoding="UTF-8"?>\n{documents[0]}'.encode(), signing_identity())
    content = batch([signed.split(b"?>", 1)[1].decode().strip(), *documents[1:]])
    first = outcome(db, deliver(db, settings, provider, content))
    assert first[3]["signature"]["status"] != "absent"
    assert mapped.take() == [1, 2, 3, 4, 5]
    again = outcome(db, deliver(db, settings, provider, content + b"<!-- again -->"))
    assert mapped.take() == [1, 2, 3, 4, 5]
    assert again[2:4] == first[2:4]


def test_another_providers_identical_bytes_are_parsed(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    deliver(db, settings, provider, batch(documents))
    mapped.take()
    other = create_organisation(db, name="Eksempel eksportør", kind="university", delivers_for=[provider])
    by_other = deliver(db, settings, other, batch(documents, between="\n"))
    assert mapped.take() == [1, 2, 3, 4, 5]
    assert by_other.status == "completed" and by_other.accepted == 0 and by_other.rejected == 0


def test_a_syntax_error_after_known_documents_names_the_line_a_full_read_names(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    deliver(db, settings, provider, batch(documents))
    mapped.take()
    broken = batch([*documents[:4], documents[4].replace("</learner>", "</learnr>", 1)], between="\n")
    again = deliver(db, settings, provider, broken)
    assert mapped.take() == []  # the four known ones skipped, the fifth fails before its report
    full = deliver(db, settings, provider, broken + b"\n")  # the fifth is unknown either way
    assert again.status == full.status == "failed"
    assert again.failure is not None and full.failure is not None
    assert again.failure.code == full.failure.code == "xml.syntax"
    assert again.failure.message == full.failure.message  # the same line and column
    forget(db)
    assert deliver(db, settings, provider, broken + b"  ").failure == full.failure


BATCH = f'<batch xmlns="{ELMO_NS}"><elmo><learner/></elmo></batch>'


@pytest.mark.parametrize(
    ("content", "documents"),
    [
        (BATCH, [(len(f'<batch xmlns="{ELMO_NS}">'), len(BATCH) - len("</batch>"))]),
        (f'<b:x xmlns:b="urn:b" xmlns:e="{ELMO_NS}"><e:elmo a=">"/><!--x--><?p?> <e:elmo></e:elmo></b:x>', 2),
        (f'<x xmlns:e="urn:other"><elmo xmlns="{ELMO_NS}"><e:elmo/></elmo></x>', 1),
        ('<?xml version="1.0" encoding="ISO-8859-1"?>' + BATCH, None),  # another encoding
        ("<!DOCTYPE batch>" + BATCH, None),
        (BATCH.replace("<elmo>", "text<elmo>"), None),  # text in the batch
        (BATCH.replace("<elmo>", "<other/><elmo>"), None),  # another element: it might hold one
        (BATCH.replace("<learner/>", "<elmo/>"), None),  # nested
        (BATCH.replace("<learner/>", "<learner><!--c--></learner>"), None),
        (BATCH.replace("<learner/>", "<learner><![CDATA[x]]></learner>"), None),
        (BATCH.replace("<learner/>", "<?pi?>"), None),
        (BATCH.replace(ELMO_NS, "urn:other"), None),  # not ELMO's namespace
        (BATCH.replace(ELMO_NS, ELMO_NS.replace("/", "&#47;")), None),  # a reference: not by bytes
        (f'<elmo xmlns="{ELMO_NS}"><learner/></elmo>', None),  # one document: the root
        (BATCH.replace("</batch>", "</batch>x"), None),
        (BATCH.replace("</batch>", ""), None),
        (BATCH.replace("</elmo>", "</elmo "), None),
        (BATCH + '<!-- <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/> -->', None),
    ],
)
def test_the_scan_cuts_only_the_shape_it_is_sure_of(content: str, documents: Any) -> None:
    found = known_documents.cut(content.encode(), [])
    if documents is None:
        assert found is None
    elif isinstance(documents, int):
        assert found is not None and len(found.documents) == documents
    else:
        assert found is not None and found.documents == documents


def test_the_context_of_a_document_is_the_roots_start_tag_and_the_declaration() -> None:
    one = known_documents.cut(BATCH.encode(), [])
    other = known_documents.cut(BATCH.replace("<batch ", '<batch xml:lang="nb" ').encode(), [])
    policy = known_documents.cut(BATCH.encode(), [True])
    assert one is not None and other is not None and policy is not None
    assert len({one.context, other.context, policy.context}) == 3


def test_a_document_repeated_in_the_file_is_a_duplicate_as_in_a_full_read(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, documents = setup
    deliver(db, settings, provider, batch(documents))
    repeated = batch([*documents, documents[1]], between="\n")
    again = outcome(db, deliver(db, settings, provider, repeated))
    assert {code for _, code in again[1]} == {"source_key.duplicate"}
    full = full_read(db, settings, provider, repeated + b"\n")
    assert_reads_alike(full, again)


@pytest.fixture(params=[0, 2], ids=["read-here", "2-workers"])
def streamed(monkeypatch: pytest.MonkeyPatch, settings: Settings, request: pytest.FixtureRequest) -> None:
    """Files over the signed-document limit, read in small pieces, with a small buffer: the streaming
    path of a large batch, at a test's size — its documents read by the importer, and by two worker
    processes (``parallel``) in tasks of about two documents."""
    monkeypatch.setattr(elmo_importer, "SIGNED_DOCUMENT_LIMIT", 2_000)
    monkeypatch.setattr(transport, "READ_BYTES", 777)
    monkeypatch.setattr(known_input, "CHUNK_BYTES", 12_000)
    monkeypatch.setattr(parallel, "TASK_BYTES", 3_000)
    settings.import_parse_workers = request.param


def test_a_large_re_export_streams_and_says_what_a_full_read_says(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped, streamed: None
) -> None:
    provider, documents = setup
    first = deliver(db, settings, provider, batch(documents))
    assert first.status == "completed" and first.accepted > 0
    assert mapped.take() == [1, 2, 3, 4, 5]
    corrected = [*documents[:3], regrade(documents[3], "A", "B"), documents[4]]
    re_export = batch(corrected, between="\n<!-- next -->\n", after="<!-- re-export -->\n")
    again = outcome(db, deliver(db, settings, provider, re_export))
    assert mapped.take() == [4]
    assert again[0][:4] == ("completed", 1, 0, 1)
    full = full_read(db, settings, provider, re_export + b"\n")
    assert mapped.take() == [1, 2, 3, 4, 5]
    assert full[2:4] == again[2:4]
    assert [r[1:3] for r in full[4]] == [r[1:3] for r in again[4]]


def test_a_document_over_the_buffer_stops_the_cutting_and_the_rest_is_read(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped, streamed: None
) -> None:
    provider, documents = setup
    # the third learner's document made longer than the buffer (12 000 bytes) by blank lines
    padded = [
        *documents[:2],
        documents[2].replace("<learner>", "\n" * 13_000 + "<learner>", 1),
        *documents[3:],
    ]
    first = deliver(db, settings, provider, batch(padded))
    assert first.status == "completed", first.failure
    mapped.take()
    again = outcome(db, deliver(db, settings, provider, batch(padded, after="<!-- again -->")))
    assert again[0][0] == "completed", again
    assert mapped.take() == [3, 4, 5]  # cut and known before it; read in full from it
    full = full_read(db, settings, provider, batch(padded, after="<!-- full -->"))
    assert_reads_alike(full, again)


class Lookup:
    """``KnownInputs.lookup`` of a provider who sent ``known`` before (each made one record)."""

    def __init__(self, known: set[bytes]) -> None:
        self.known, self.asked = known, 0

    def lookup(self, digests: list[bytes]) -> dict[bytes, Any]:
        self.asked += 1
        note = '[1, "1.x", ["report[1]/x"]]'
        return {d: known_input.Known(d, note, 1) for d in digests if d in self.known}


@pytest.mark.parametrize("size", [1, 7, 64, 4096])
def test_the_streamed_cut_feeds_the_parser_the_file_with_known_documents_blanked(
    setup: tuple[str, list[str]], size: int
) -> None:
    _, documents = setup
    data = batch(documents, between="<!-- x -->\n<?pi y?>", after="<!-- z -->")
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    everything = elmo_importer._Resend(elmo_importer.ElmoImporter(), Lookup(set()), [])  # type: ignore[arg-type]
    assert b"".join(everything.pieces(iter(chunks))) == data
    assert sorted(everything.digests) == [1, 2, 3, 4, 5]

    known = {everything.digests[2], everything.digests[4]}
    resend = elmo_importer._Resend(elmo_importer.ElmoImporter(), Lookup(known), [])  # type: ignore[arg-type]
    fed = b"".join(resend.pieces(iter(chunks)))
    blanked = [
        known_documents.blank(d.rstrip("\n").encode()).decode() + "\n" if n in (1, 3) else d
        for n, d in enumerate(documents)
    ]
    assert fed == batch(blanked, between="<!-- x -->\n<?pi y?>", after="<!-- z -->")
    assert sorted(resend.digests) == [1, 3, 5]
    assert [resend.index_of(n) for n in (1, 2, 3)] == [1, 3, 5]
    assert [n for n, _ in resend.before(None)] == [2, 4]


def test_a_batch_without_documents_is_refused_as_in_a_full_read(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped
) -> None:
    provider, _ = setup
    empty = deliver(db, settings, provider, batch([], between="\n", after="<!-- nothing -->"))
    assert empty.status == "failed"
    assert empty.failure is not None and empty.failure.code == "elmo.no_elmo"


def test_a_signed_document_in_a_large_batch_is_parsed_again(
    db: Engine, settings: Settings, setup: tuple[str, list[str]], mapped: Mapped, streamed: None
) -> None:
    provider, documents = setup
    # over the signed-document limit a signature is not verified: a warning, so never remembered
    signed = sign(f'<?xml version="1.0" encoding="UTF-8"?>\n{documents[0]}'.encode(), signing_identity())
    content = batch([signed.split(b"?>", 1)[1].decode().strip(), *documents[1:]], between="\n")
    first = outcome(db, deliver(db, settings, provider, content))
    assert first[3]["signature"]["status"] == "not_verified"
    mapped.take()
    again = outcome(db, deliver(db, settings, provider, content + b"<!-- again -->"))
    assert mapped.take() == [1]
    full = full_read(db, settings, provider, content + b"<!-- full -->")
    assert mapped.take() == [1, 2, 3, 4, 5]
    assert_reads_alike(full, again)
