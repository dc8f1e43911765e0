"""Property-based fuzzing of every importer's parser: whatever the bytes, ``identify`` answers True or
False and ``extract`` yields records, record errors and warnings or raises ``UnusableInput`` — never
another exception, and never a hang.

Inputs are random bytes and mutations of real examples (every example of tests/importers/examples.py:
docs/formats/examples and the ELMO, ELM and Open Badges examples in tests/fixtures/formats): bytes flipped, ranges cut, markup and separators inserted, the file
truncated, gzip/base64 transports damaged.
"""

from __future__ import annotations

import base64
import gzip
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from importers.base import HEAD_BYTES, ImportContext, UnusableInput
from intake.registry import all_importers
from register.records import AchievementRecord, BatchWarning, RecordError
from register.settings import Settings
from tests.fuzz.profile import FUZZ, TIMEOUT, no_hang
from tests.importers.examples import claiming, example_files

pytestmark = [pytest.mark.fuzz, TIMEOUT]

IMPORTERS = {importer.name: importer for importer in all_importers()}
# The seeds of each importer: the examples it claims (tests/importers/examples.py), so a new importer is
# fuzzed from its examples without a line here.
SEEDS: dict[str, list[Path]] = {
    name: [path for path in example_files() if [imp.name for imp in claiming(path)] == [name]]
    for name in IMPORTERS
}
TOKENS = [
    b"<", b">", b"&", b"&amp;", b"&x;", b"]]>", b"<!--", b"<!DOCTYPE x [<!ENTITY x 'y'>]>", b"xmlns=\"\"",
    b'"', b"'", b";", b",", b"\n", b"\r\n", b"\t", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"{", b"}",
    b"[", b"]", b":", b"null", b"true", b"1e999", b"-0", b"9" * 50, b'"\\u0000"', b"\\", b"=1+1", b"'; --",
]  # fmt: skip


def _context(name: str) -> ImportContext:
    importer = IMPORTERS[name]
    sector = sorted(importer.sectors, key=lambda s: s.value)[0]
    return ImportContext(
        sector=sector,
        provider_orgnr="974760673",
        filename="fuzz",
        settings=Settings(allow_synthetic_ids=True, max_upload_bytes=8 * 1024 * 1024),
    )


def _run(name: str, data: bytes) -> None:
    importer = IMPORTERS[name]
    with no_hang():
        assert importer.identify(data[:HEAD_BYTES], "fuzz", None) in (True, False)
        try:
            for item in importer.extract(io.BytesIO(data), _context(name)):
                assert isinstance(item, AchievementRecord | RecordError | BatchWarning), type(item)
                if isinstance(item, RecordError | BatchWarning):
                    assert item.code and "." in item.code and item.message
        except UnusableInput as exc:
            assert exc.code and "." in exc.code and exc.message


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    seed = draw(st.sampled_from([p for p in SEEDS[name] if p.is_file()]))
    data = bytearray(seed.read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 32))] * draw(st.integers(2, 50))
        else:
            del data[at:]
    transport = (
        draw(st.sampled_from(["as is", "as is", "gzip", "gzip+base64", "cut gzip"]))
        if name == "elmo"
        else "as is"
    )
    raw = bytes(data)
    if transport == "gzip":
        return gzip.compress(raw)
    if transport == "gzip+base64":
        return base64.b64encode(gzip.compress(raw))
    if transport == "cut gzip":
        packed = gzip.compress(raw)
        return packed[: draw(st.integers(0, len(packed)))]
    return raw


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_exist(name: str) -> None:
    assert any(p.is_file() for p in SEEDS[name]), SEEDS[name]
    assert name in IMPORTERS


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_mutated_examples_are_read_or_refused_cleanly(name: str, data: st.DataObject) -> None:
    _run(name, data.draw(mutated(name)))


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ
@given(raw=st.binary(max_size=4096))
def test_random_bytes_are_refused_cleanly(name: str, raw: bytes) -> None:
    _run(name, raw)
