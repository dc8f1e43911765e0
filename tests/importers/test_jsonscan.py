"""The one JSON scanner against the standard parser, under both formats' rules."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import jsonscan
from importers.jsonscan import CHUNK, Piece, ScanError, ScanRules, scan_values, stream_values

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
        (b'[{"a": 1}, , {"a": "' + b"x" * 200 + b'"}]', "t.malformed"),  # a window of one empty element
    ],
)
@pytest.mark.parametrize("window", [jsonscan.WINDOW, 96])
def test_a_broken_structure_names_its_rule(
    data: bytes, code: str, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonscan, "WINDOW", window)
    with pytest.raises(ScanError) as caught:
        scan(data)
    assert caught.value.code == code
    both_agree(data)


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


# -- the cut in C against the streaming scan -----------------------------------------------------------


def outcome(scan_: Any, data: bytes, rules: ScanRules) -> tuple[list[Piece], tuple[str, str] | None]:
    """Every piece a scan yields, and the error it ends with (code, message) or None."""
    pieces: list[Piece] = []
    try:
        for piece in scan_(b"", io.BytesIO(data), rules):
            pieces.append(piece)
    except ScanError as exc:
        return pieces, (exc.code, exc.message)
    return pieces, None


def both_agree(data: bytes, rules: ScanRules = RULES) -> list[Piece]:
    cut = outcome(scan_values, data, rules)
    assert cut == outcome(stream_values, data, rules)
    return cut[0]


@pytest.fixture
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # windows of a few elements, so that every test cuts many times, and inside strings and nesting
    monkeypatch.setattr(jsonscan, "WINDOW", 96)


@given(st.lists(values, max_size=12), st.sampled_from([None, 0, 2]), st.data())
# the window stays small for every example (the fixture is not reset between them, nor need be)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_cut_in_c_gives_what_the_stream_gives_good_or_broken(
    small_window: None, elements: list[Any], indent: int | None, data: st.DataObject
) -> None:
    # index, kind, bytes, size and offset of every piece; and for text broken anywhere (a byte
    # dropped, or replaced by a bracket, quote or comma), the same pieces before the same error
    text = json.dumps(elements, indent=indent, ensure_ascii=False).encode()
    both_agree(text)
    for rules in (
        ScanRules(codes=RULES.codes, max_item_bytes=40, max_depth=3, oversized="skip"),
        ScanRules(codes=RULES.codes, max_item_bytes=40, max_depth=3, element_kinds=frozenset(("object",))),
    ):
        both_agree(text, rules)
    at = data.draw(st.integers(0, len(text) - 1))
    both_agree(text[:at] + text[at + 1 :])
    both_agree(text[:at] + data.draw(st.sampled_from([b"[", b"}", b'"', b",", b"\\"])) + text[at + 1 :])


def test_commas_and_element_openings_inside_strings_and_nesting_never_end_a_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the bytes an element starts with after a comma inside nesting, and commas inside strings: each
    # a wrong guess for where a window ends, found wrong by the decoder
    elements = [
        {"@context": "x", "n": i, "s": ', {"@context": 1}, ', "t": [{"@context": "y"}, {"@context": "z"}]}
        for i in range(40)
    ]
    monkeypatch.setattr(jsonscan, "WINDOW", 400)  # three or four elements a window
    text = json.dumps(elements).encode()
    pieces = both_agree(text)
    assert [json.loads(p.data or b"") for p in pieces] == elements

    def no_stream(*args: object) -> None:
        raise AssertionError("the streaming scan was needed")

    monkeypatch.setattr(jsonscan._Scanner, "run", no_stream)  # every window was cut in C
    assert list(scan_values(b"", io.BytesIO(text), RULES)) == pieces


@pytest.mark.parametrize("depth", [64, 65, 200, 5000])
def test_nesting_past_the_limit_is_refused_at_the_same_byte_either_way(
    small_window: None, depth: int
) -> None:
    # under msgspec's own recursion limit the depth of the window's brackets refuses it; over it, the
    # decoder does; either way the stream names the byte, after the elements before it
    data = b"[1, 2, " + b"[" * (depth - 1) + b"]" * (depth - 1) + b", 3]"
    pieces, error = outcome(scan_values, data, RULES)
    assert (pieces, error) == outcome(stream_values, data, RULES)
    assert [p.data for p in pieces] == (
        [b"1", b"2", b"[" * 63 + b"]" * 63, b"3"] if depth == 64 else [b"1", b"2"]
    )
    assert (error is None) == (depth == 64)


def test_an_element_larger_than_a_window_is_read_by_the_stream(small_window: None) -> None:
    elements = [{"a": 1}, {"big": "x" * 1000}, {"b": [2, 3]}, "s"]
    assert [json.loads(p.data or b"") for p in both_agree(json.dumps(elements).encode())] == elements


class Trickle(io.RawIOBase):
    """A source that gives one byte a read, as a slow socket may: windows end wherever the reads do."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, size: int = -1, /) -> bytes:
        self.at += 1
        return self.data[self.at - 1 : self.at]


def test_a_window_that_is_one_empty_element_is_named_by_the_stream(small_window: None) -> None:
    # the first window ends at the first comma (its 96 bytes read), the second holds only the empty
    # element before the next comma: nothing may be skipped silently
    data = b'[{"a": "' + b"x" * 86 + b'"}, , {"a": "' + b"y" * 200 + b'"}]'
    assert data.index(b",") == 96
    pieces: list[Piece] = []
    with pytest.raises(ScanError, match="an empty element") as caught:
        pieces.extend(scan_values(b"", Trickle(data), RULES))
    assert caught.value.code == "t.malformed"
    assert [p.index for p in pieces] == [1]
