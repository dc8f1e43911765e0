"""Hostile input is refused early, with a clear code, reading little of it and writing nothing."""

from __future__ import annotations

import base64
import gzip
import io
import zlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from importers.base import ImportContext, UnusableInput
from importers.higher.elmo import ElmoImporter, reader
from importers.higher.elmo.reader import iter_events
from intake.batches import run_import
from register.sectors import Sector
from register.settings import Settings
from tests.factories import create_organisation
from tests.importers.higher.helpers import extract, settings_with

ELMO_OPEN = b'<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1">'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE elmo [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1"><learner><givenNames>&lol9;</givenNames></learner></elmo>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE elmo [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<elmo xmlns="https://github.com/emrex-eu/elmo-schemas/tree/v1"><learner><givenNames>&secret;</givenNames></learner></elmo>
"""


class CountingStream(io.RawIOBase):
    """A huge input made on the fly; counts what the importer actually read."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self.parts = parts
        self.buffer = b""
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            part = next(self.parts, None)
            if part is None:
                break
            self.buffer += part
        size = len(self.buffer) if size < 0 else size
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        self.read_bytes += len(out)
        return out


def refusal(data: bytes | io.RawIOBase, **options: object) -> UnusableInput:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    context = ImportContext(
        sector=Sector.HIGHER, provider_orgnr="999999999", settings=settings_with(**options)
    )
    with pytest.raises(UnusableInput) as caught:
        list(ElmoImporter().extract(source, context))  # type: ignore[arg-type]
    return caught.value


def test_billion_laughs_is_refused_before_parsing() -> None:
    assert refusal(BILLION_LAUGHS).code == "xml.doctype"


def test_external_entity_to_a_local_file_is_refused() -> None:
    error = refusal(EXTERNAL_ENTITY)
    assert error.code == "xml.doctype"
    assert "root:" not in error.message


def test_doctype_inside_base64_and_gzip_is_refused_too() -> None:
    assert refusal(base64.b64encode(gzip.compress(BILLION_LAUGHS))).code == "xml.doctype"


def test_a_gigabyte_of_nesting_is_refused_after_reading_a_little() -> None:
    gigabyte = 1024**3
    opening = b"<a>" * (64 * 1024)

    def nesting() -> Iterator[bytes]:
        yield ELMO_OPEN
        for _ in range(gigabyte // len(opening)):
            yield opening

    stream = CountingStream(nesting())
    error = refusal(stream, max_bytes=2 * gigabyte)
    assert error.code == "xml.too_deep"
    assert stream.read_bytes < 32 * 1024 * 1024  # refused long before the end


def test_nesting_under_the_configured_limit_is_refused_at_that_limit() -> None:
    document = ELMO_OPEN + b"<x>" * 30 + b"</x>" * 30 + b"</elmo>"
    assert refusal(document, max_xml_depth=20).code == "xml.too_deep"


def test_truncated_gzip_is_refused() -> None:
    whole = gzip.compress(ELMO_OPEN + b"<learner/>" * 1000 + b"</elmo>")
    assert refusal(base64.b64encode(whole[: len(whole) // 2])).code == "elmo.gzip_truncated"
    assert refusal(whole[:-4]).code == "elmo.gzip_truncated"


def test_gzip_bomb_is_refused_by_its_ratio() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1024 * 1024)
    bomb = b"".join(compressor.compress(zeros) for _ in range(64)) + compressor.flush()
    assert len(bomb) < 100 * 1024
    assert refusal(base64.b64encode(bomb)).code == "elmo.gzip_ratio"


def test_decoded_size_is_bounded_by_the_limit() -> None:
    data = gzip.compress(ELMO_OPEN + b" " * 200_000 + b"</elmo>")
    assert refusal(data, max_bytes=100_000).code == "input.too_large"


def test_raw_size_is_bounded_by_the_limit() -> None:
    assert refusal(ELMO_OPEN + b" " * 300_000 + b"</elmo>", max_bytes=100_000).code == "input.too_large"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "elmo.empty"),
        (b"   \n", "elmo.empty"),
        (b"%PDF-1.4 not xml", "elmo.not_xml"),
        (
            b"PD94bWwgdmVyc2lvbj0iMS4wIj8+PGVsbW8vPg==",
            "elmo.no_elmo",
        ),  # base64 of <?xml…?><elmo/> (no namespace)
        (b"QUJD!!!!", "elmo.not_xml"),
        (b"QUJDREVGR0hJSktM", "elmo.not_xml"),  # valid base64 of neither XML nor gzip
        (ELMO_OPEN + b"<learner>", "xml.syntax"),
        (b"<other xmlns='urn:x'><a/></other>", "elmo.no_elmo"),
    ],
)
def test_unreadable_input_is_refused_with_a_code(data: bytes, code: str) -> None:
    assert refusal(data).code == code


def test_unknown_elements_are_ignored() -> None:
    document = (
        ELMO_OPEN + b"<generatedDate>2026-01-01T00:00:00Z</generatedDate><futureThing><x/></futureThing>"
        b"<learner><identifier type='esi'>urn:schac:personalUniqueCode:int:esi:no:1</identifier>"
        b"<givenNames>A</givenNames><familyName>B</familyName><hobby>x</hobby></learner>"
        b"<report><issuer><identifier type='schac'>nordvik.demo.no</identifier><title>N</title></issuer>"
        b"<learningOpportunitySpecification><title>T</title><whatever/><specifies><learningOpportunityInstance>"
        b"<resultLabel>A</resultLabel><newElement/></learningOpportunityInstance></specifies>"
        b"</learningOpportunitySpecification></report></elmo>"
    )
    result = extract(document)
    assert len(result.records) == 1 and result.errors == []


def test_nothing_is_written_for_hostile_input(db: Engine, settings: Settings) -> None:
    provider = create_organisation(
        db, name="Universitetet i Nordvik", kind="university", codes={"fs": "9101"}
    )
    report = run_import(
        db, io.BytesIO(BILLION_LAUGHS), sector="higher", provider_orgnr=provider, settings=settings
    )
    assert report.status == "failed" and report.failure is not None
    assert report.failure.code == "xml.doctype" and report.exit_code == 2
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM person")).scalar_one() == 0
        status = conn.execute(text("SELECT status FROM import_batch")).scalar_one()
    assert status == "failed"


def test_the_tree_holds_one_learner_at_a_time() -> None:
    """Memory is bounded by one report, not the file: earlier learners are dropped from the tree."""
    import random

    from demo.higher import batch_document, institutions, random_transcript
    from register.synthetic import synthetic_person

    rng = random.Random(9)
    nordvik = institutions(rng)[0]
    batch = batch_document([random_transcript(rng, nordvik, synthetic_person(rng, 1990)) for _ in range(200)])
    sizes = []
    for event in iter_events(iter([batch[i : i + 4096] for i in range(0, len(batch), 4096)]), max_depth=64):
        if event.kind == "report":
            sizes.append(sum(1 for _ in event.element.getroottree().getroot().iter()))
    assert len(sizes) == 200
    # The whole file has about 200 times the elements of one learner; the tree never holds two.
    assert max(sizes) < 2 * min(sizes) + 50


def test_a_text_node_over_the_parser_limit_is_refused() -> None:
    document = ELMO_OPEN + b"<learner><givenNames>" + b"A" * 11_000_000 + b"</givenNames></learner></elmo>"
    assert refusal(document).code == "xml.node_too_large"


# The reader has libxml2 report only elmo, its children and the root (reader.iter_events); the limits
# are checked on the rest by probes. These say every element is still checked, wherever it stands.

#: 30 levels of nesting, closed again: over a limit of 20 wherever it stands
DEEP = b"<x>" * 30 + b"</x>" * 30


def test_nesting_too_deep_before_the_first_elmo_is_refused() -> None:
    document = b"<batch><header>" + DEEP + b"</header>" + ELMO_OPEN + b"<learner/></elmo></batch>"
    assert refusal(document, max_xml_depth=20).code == "xml.too_deep"


def test_nesting_too_deep_between_reports_is_refused() -> None:
    document = ELMO_OPEN + b"<learner/><report/>" + DEEP + b"<report/></elmo>"
    assert refusal(document, max_xml_depth=20).code == "xml.too_deep"


def test_nesting_too_deep_inside_a_report_is_refused() -> None:
    document = ELMO_OPEN + b"<learner/><report>" + DEEP + b"</report></elmo>"
    assert refusal(document, max_xml_depth=20).code == "xml.too_deep"


@pytest.mark.parametrize("elements", [150, 40_000], ids=["within-one-slice", "over-many-slices"])
def test_a_report_over_the_element_limit_is_refused(monkeypatch: pytest.MonkeyPatch, elements: int) -> None:
    monkeypatch.setattr(reader, "MAX_REPORT_ELEMENTS", elements - 50)
    document = ELMO_OPEN + b"<learner/><report>" + b"<x/>" * elements + b"</report></elmo>"
    error = refusal(document)
    assert error.code == "elmo.report_too_large" and "learner 1" in error.message


def test_what_stands_outside_the_elmo_elements_is_dropped_as_it_is_read() -> None:
    item = (
        b"<item><meta>" + b"<m/>" * 20 + b"</meta>" + ELMO_OPEN + b"<learner/><report/></elmo><after/></item>"
    )
    batch = b"<batch>" + item * 3000 + b"</batch>"  # some 600 kB: ten slices of the parser's
    sizes = [
        sum(1 for _ in event.element.getroottree().getroot().iter())
        for event in iter_events(iter([batch]), max_depth=64)
        if event.kind == "report"
    ]
    assert len(sizes) == 3000
    # the whole file has 75 000 elements; what was read before is dropped slice by slice
    assert max(sizes) < 20_000


def test_events_name_every_child_of_elmo_in_order_and_nothing_deeper() -> None:
    nested = ELMO_OPEN + b"<learner/><report/></elmo>"  # an elmo inside a report is not a document
    document = (
        b"<batch>" + ELMO_OPEN + b"<generatedDate>2026</generatedDate><learner><report/></learner>"
        b"<report><x>" + nested + b"</x></report><futureThing/><attachment/>"
        b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><report/><trailer/></elmo>'
        b"<other>" + b"<learner/>" * 3 + b"</other>" + ELMO_OPEN + b"</elmo></batch>"
    )
    events = [(e.kind, e.elmo_index) for e in iter_events(iter([document]), max_depth=64)]
    assert events == [
        ("elmo_start", 1), ("other", 1), ("learner", 1), ("report", 1), ("other", 1), ("attachment", 1),
        ("signature", 1), ("report", 1), ("other", 1), ("elmo_end", 1), ("elmo_start", 2), ("elmo_end", 2),
    ]  # fmt: skip


def test_nesting_too_deep_after_the_last_elmo_is_refused() -> None:
    document = b"<batch>" + ELMO_OPEN + b"<learner/></elmo><trailer>" + DEEP + b"</trailer><end/></batch>"
    assert refusal(document, max_xml_depth=20).code == "xml.too_deep"


def test_a_report_that_never_ends_is_refused_after_reading_a_little(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_REPORT_ELEMENTS", 10_000)
    elements = b"<x/>" * (16 * 1024)

    def report() -> Iterator[bytes]:
        yield ELMO_OPEN + b"<learner/><report>"
        while True:
            yield elements

    stream = CountingStream(report())
    assert refusal(stream, max_bytes=1024**3).code == "elmo.report_too_large"
    assert stream.read_bytes < 32 * 1024 * 1024  # one read of the stream, of a gigabyte allowed


def test_what_follows_the_last_elmo_is_dropped_as_it_is_read() -> None:
    chunks = [b"<batch>" + ELMO_OPEN + b"<learner/></elmo>", *([b"<m/>" * 16_384] * 20), b"</batch>"]
    root, sizes = None, []
    for event in iter_events(iter(chunks), max_depth=64, ticks=True):
        if event.kind == "elmo_end":
            root = event.element.getroottree().getroot()
        elif event.kind == "fed" and root is not None:
            sizes.append(len(root))
    assert len(sizes) == 21
    assert max(sizes) < 20_000  # of 327 680 elements in all


@pytest.mark.parametrize("start", [b"<\x00xml", b"<1root", b"<a\x01b", b"<:"])
def test_a_root_that_is_not_a_name_is_refused_as_xml(start: bytes) -> None:
    # found by tests/fuzz: the root's name is what the reader asks libxml2 to report, and lxml refuses
    # to look for a name that is none (ValueError), before the parser could refuse the document
    document = start + b' version="1.0"?>\n' + ELMO_OPEN + b"<learner/></elmo>"
    assert refusal(document).code == "xml.syntax"
