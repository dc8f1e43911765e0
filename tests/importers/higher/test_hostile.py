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
from importers.higher.elmo import ElmoImporter
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
    from importers.higher.elmo.reader import iter_events
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
