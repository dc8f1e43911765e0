"""The splitter against the standard parser: the same documents, and nothing but clean failures."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from importers.base import UnusableInput
from importers.micro.jsonstream import CHUNK, StreamError, split_documents
from tests.importers.micro.helpers import extract

# JSON text is UTF-8: lone surrogates cannot be written in a file, so they are not generated.
characters = st.characters(exclude_categories=("Cs",))
scalars = st.none() | st.booleans() | st.integers() | st.text(alphabet=characters, max_size=20)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=characters, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
documents = st.dictionaries(st.text(alphabet=characters, max_size=8), values, max_size=5)


def _split(data: bytes, max_item: int = 1 << 20) -> list[Any]:
    pieces = split_documents(io.BytesIO(data), max_total_bytes=1 << 30, max_item_bytes=max_item, max_depth=64)
    return [json.loads(p.data) if p.data is not None else None for p in pieces]


@given(st.lists(documents, min_size=1, max_size=5), st.sampled_from(["array", "lines", "pretty"]))
@settings(max_examples=200, deadline=None)
def test_split_documents_are_what_the_parser_reads(docs: list[dict[str, Any]], shape: str) -> None:
    if shape == "array":
        data = json.dumps(docs).encode()
    elif shape == "lines":
        data = b"".join(json.dumps(d, ensure_ascii=False).encode() + b"\n" for d in docs)
    else:
        data = b"\n".join(json.dumps(d, indent=2).encode() for d in docs)
    assert _split(data) == docs


def test_documents_spanning_chunk_boundaries_with_escapes() -> None:
    # a string with escaped quotes and backslashes laid across the 1 MiB read boundary
    filler = "x" * (CHUNK - 20)
    doc = {"a": filler, "b": 'q"uo\\te\\"d' * 5, "c": [{"d": "]}"}]}
    assert _split(json.dumps(doc).encode() + b"\n" + json.dumps(doc).encode(), max_item=4 * CHUNK) == [
        doc,
        doc,
    ]


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_fail_cleanly(data: bytes) -> None:
    # anything but a clean refusal (an IndexError, a RecursionError …) fails the test
    with contextlib.suppress(UnusableInput):
        extract(data)


@given(st.text(alphabet='{}[]",: \\ab1\n', max_size=200))
@settings(max_examples=300, deadline=None)
def test_arbitrary_json_like_text_fails_cleanly(text: str) -> None:
    # StreamError: the file is refused; ValueError: a balanced piece json.loads refuses (micro.json_invalid)
    with contextlib.suppress(StreamError, ValueError):
        _split(text.encode())
