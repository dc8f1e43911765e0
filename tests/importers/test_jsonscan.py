"""The one JSON scanner against the standard parser, under both formats' rules."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importers.jsonscan import CHUNK, ScanError, ScanRules, scan_values

RULES = ScanRules(
    codes={
        "too_large": "t.too_large",
        "too_deep": "t.too_deep",
        "malformed": "t.malformed",
        "truncated": "t.truncated",
        "empty": "t.empty",
        "not_array": "t.not_array",
        "trailing": "t.trailing",
        "oversized": "t.oversized",
    },
    max_item_bytes=4 * CHUNK,
    max_depth=64,
)

characters = st.characters(exclude_categories=("Cs",))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=characters, max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=characters, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def scan(data: bytes, rules: ScanRules = RULES) -> list[Any]:
    return [json.loads(p.data) for p in scan_values(b"", io.BytesIO(data), rules) if p.data is not None]


@given(st.lists(values, max_size=6), st.sampled_from([None, 0, 2]))
@settings(max_examples=300, deadline=None)
def test_every_element_of_any_array_is_what_the_parser_reads(elements: list[Any], indent: int | None) -> None:
    assert scan(json.dumps(elements, indent=indent, ensure_ascii=False).encode()) == elements


def test_values_across_the_read_boundary_with_escapes_and_scalars() -> None:
    elements: list[Any] = [
        "x" * (CHUNK - 7),
        12345678901234567890,
        {"b": 'q"uo\\te\\"d' * 5},
        True,
        None,
        -1.5e-7,
    ]
    assert scan(json.dumps(elements).encode()) == elements


@pytest.mark.parametrize("shift", range(0, 40, 3))
def test_brackets_and_quotes_inside_strings_across_the_read_boundary(shift: int) -> None:
    # A string full of brackets, escaped quotes and backslashes, cut by the read boundary at each
    # place: stepped over inside one match, or followed byte by byte past the boundary.
    tricky = '}]{["q}\\' + "x" * shift  # one escaped quote: brackets after it are still inside
    elements: list[Any] = [
        "x" * (CHUNK - 30 - shift),
        {"s": tricky, "t": [tricky, {"u": tricky}]},
        [[]],
        tricky,
    ]
    assert scan(json.dumps(elements).encode()) == elements


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "t.empty"),
        (b"  \n", "t.empty"),
        (b'{"a": 1}', "t.not_array"),
        (b"[1, 2", "t.truncated"),
        (b'["open', "t.truncated"),
        (b"[1,]", "t.malformed"),
        (b"[,1]", "t.malformed"),
        (b"[1 2]", "t.malformed"),
        (b"[1,,2]", "t.malformed"),
        (b"[{]}]", "t.malformed"),
        (b"[1] 2", "t.trailing"),
        (b"[" * 100, "t.too_deep"),
        (b'["' + b"x" * (4 * CHUNK + 1) + b'"]', "t.oversized"),
    ],
)
def test_a_broken_structure_names_its_rule(data: bytes, code: str) -> None:
    with pytest.raises(ScanError) as caught:
        scan(data)
    assert caught.value.code == code


def test_an_oversized_value_is_skipped_unkept_when_the_format_says_so() -> None:
    rules = ScanRules(codes=RULES.codes, max_item_bytes=100, max_depth=8, oversized="skip")
    pieces = list(scan_values(b"", io.BytesIO(b'[{"a": "' + b"x" * 1000 + b'"}, {"b": 1}]'), rules))
    assert [(p.index, p.data is None, p.size) for p in pieces] == [(1, True, 1009), (2, False, 8)]


def test_concatenated_objects_only_where_the_format_allows_a_sequence() -> None:
    data = b'{"a": 1}\n{"b": 2}\n'
    assert scan(data, ScanRules(codes=RULES.codes, max_item_bytes=100, max_depth=8, sequence=True)) == [
        {"a": 1},
        {"b": 2},
    ]
    with pytest.raises(ScanError, match="one array"):
        scan(data)


def test_the_total_size_is_bounded_before_the_whole_file_is_read() -> None:
    rules = ScanRules(codes=RULES.codes, max_item_bytes=100, max_depth=8, max_total_bytes=CHUNK)
    with pytest.raises(ScanError) as caught:
        scan(b"[" + b"1," * CHUNK + b"1]", rules)
    assert caught.value.code == "t.too_large"


def test_blanks_between_values_across_the_read_boundary() -> None:
    # a run of blanks is stepped over in one match; it may end in the next read chunk
    data = b"[" + b" \n" * CHUNK + b'{"a": 1},' + b"\t" * (CHUNK - 3) + b"2 ]"
    assert scan(data) == [{"a": 1}, 2]
