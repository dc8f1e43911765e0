"""A large ELMO batch read by worker processes says exactly what the importer reading it alone says
(importers.higher.elmo.parallel): the same items in the same order — records, rejections, warnings,
spans and their notes — the same batch details, and the same refusal, position included."""

from __future__ import annotations

import io
import multiprocessing
import random
import re
from typing import Any

import pytest

from demo.higher import ELMO_NS, elmo_fragments, institutions, random_transcript
from importers.base import ImportContext, UnusableInput
from importers.higher.elmo import importer as elmo_importer
from importers.higher.elmo import parallel, transport
from importers.higher.elmo.importer import ElmoImporter
from register.ingest import known_input
from register.sectors import Sector
from register.settings import Settings
from register.synthetic import synthetic_person
from tests.importers.higher.helpers import sign, signing_identity


class NoneKnown:
    """``KnownInputs.lookup`` of a provider who never delivered before."""

    def lookup(self, digests: list[bytes]) -> dict[bytes, Any]:
        return {}


@pytest.fixture(autouse=True)
def streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The streaming path of a large batch at a test's size, in tasks of a few documents, at most
    one task a worker in flight: the worker's limits and the importer's waiting are both exercised."""
    monkeypatch.setattr(elmo_importer, "SIGNED_DOCUMENT_LIMIT", 2_000)
    monkeypatch.setattr(transport, "READ_BYTES", 777)
    monkeypatch.setattr(known_input, "CHUNK_BYTES", 40_000)  # over the largest document here
    monkeypatch.setattr(parallel, "TASK_BYTES", 5_000)
    monkeypatch.setattr(parallel, "TASKS_PER_WORKER", 1)


def documents(count: int) -> list[str]:
    rng = random.Random(11)
    nordvik = institutions(rng)[0]
    return [
        "".join(elmo_fragments(random_transcript(rng, nordvik, synthetic_person(rng, 1980 + i % 30))))
        for i in range(count)
    ]


def batch(docs: list[str]) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<elmoBatch xmlns="{ELMO_NS}">\n'
        + "\n<!-- next -->\n".join(docs)
        + "</elmoBatch>\n"
    ).encode()


def read(content: bytes, workers: int) -> tuple[list[Any], dict[str, Any]]:
    """Every item the importer yields for ``content``, and the batch details; or the refusal."""
    settings = Settings(import_parse_workers=workers)
    context = ImportContext(sector=Sector.HIGHER, provider_orgnr="999900101", settings=settings)
    context.known = NoneKnown()  # type: ignore[assignment]
    try:
        items = list(ElmoImporter().extract(io.BytesIO(content), context))
    except UnusableInput as exc:
        return [("refused", exc.code, exc.message)], {}
    return items, context.facts.details


def no_reports(document: str) -> str:
    """The document without its reports: a warning (``elmo.no_report``) and no records."""
    return re.sub(r"<report>.*?</report>", "", document, flags=re.DOTALL)


def test_a_batch_read_by_workers_says_what_a_read_alone_says() -> None:
    docs = documents(60)
    # 25 documents without a report: more of one warning than are listed (Warnings.per_code), the
    # count carried across documents read by different workers
    mixed = [no_reports(doc) if i % 2 else doc for i, doc in enumerate(docs[:50])]
    # a document the scan is in doubt about (a comment inside it): it and the rest read by the importer
    mixed[40] = mixed[40].replace("<learner>", "<!-- c --><learner>", 1)
    # a signed document: not verified in a streamed batch, a warning and the batch's signature details
    signed = sign(f'<?xml version="1.0" encoding="UTF-8"?>\n{docs[55]}'.encode(), signing_identity())
    mixed[7] = signed.split(b"?>", 1)[1].decode().strip()
    content = batch(mixed + docs[50:55])
    alone, alone_details = read(content, 0)
    assert sum(isinstance(item, known_input.SpanStart) for item in alone) == 40  # cut before the doubt
    no_report = [w.message for w in alone if getattr(w, "code", None) == "elmo.no_report"]
    assert len(no_report) == 21 and no_report[-1] == "4 more warnings with code elmo.no_report not listed"
    for workers in (1, 2):
        by_workers, details = read(content, workers)
        assert by_workers == alone
        assert details == alone_details
        assert not multiprocessing.active_children()  # the workers end with the batch
    assert alone_details["signature"]["status"] == "not_verified"
    assert alone_details["learners"] == 55


@pytest.mark.parametrize("where", [0, 5, 6, 29])
def test_a_document_a_worker_cannot_read_refuses_the_batch_as_a_read_alone_does(where: int) -> None:
    docs = documents(30)
    docs[where] = docs[where].replace("</learner>", "</learnr>", 1)
    content = batch(docs)
    alone, _ = read(content, 0)
    assert alone[0][:2] == ("refused", "xml.syntax")
    assert read(content, 2)[0] == alone  # the same message: the same line and column


def test_a_worker_reads_under_the_batchs_limits() -> None:
    docs = documents(10)
    deep = "<x>" * 70 + "</x>" * 70
    docs[4] = docs[4].replace("<learner>", f"<learner>{deep}", 1)
    content = batch(docs)
    alone, _ = read(content, 0)
    assert alone[0][:2] == ("refused", "xml.too_deep")
    assert read(content, 2)[0] == alone


def test_the_importer_never_has_more_tasks_in_flight_than_its_workers_may(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    most = 0
    send = parallel.Readers.send

    def counted(readers: parallel.Readers) -> None:
        nonlocal most
        send(readers)
        most = max(most, len(readers.backlog))

    monkeypatch.setattr(parallel.Readers, "send", counted)
    content = batch(documents(60))
    by_workers, _ = read(content, 2)
    assert most == 2  # two workers, one task each (TASKS_PER_WORKER), of 5 000 bytes: ~1-2 documents
    assert by_workers == read(content, 0)[0]
