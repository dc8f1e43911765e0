"""The shared streaming reader: encodings, structure and hostile input, each a clear error."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importers.base import UnusableInput
from importers.tabular import (
    MAX_DEPTH,
    MAX_RECORD_BYTES,
    DocumentMemory,
    Row,
    code_word,
    parse_date,
    read_csv,
    read_json,
    text_column,
)
from register.records import BatchWarning, RecordError

COLUMNS = (text_column("a", required=True), text_column("b"))


def csv_items(data: bytes) -> list[object]:
    return list(read_csv(io.BytesIO(data), COLUMNS))


def json_items(data: bytes) -> list[object]:
    return list(read_json(io.BytesIO(data), COLUMNS))


def unusable(read, data: bytes) -> UnusableInput:  # type: ignore[no-untyped-def]
    with pytest.raises(UnusableInput) as caught:
        read(data)
    return caught.value


class _Trickle(io.RawIOBase):
    """A source that hands out at most a few bytes per read, as a slow upload would."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        chunk = self.data[self.pos : self.pos + min(self.step, len(buffer))]
        buffer[: len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_with_bom_quotes_and_blank_lines() -> None:
    items = csv_items('\ufeffA ; b\r\n1;"x;y"\r\n\r\n"multi\nline";\n'.encode())
    assert items == [Row(1, {"a": "1", "b": "x;y"}), Row(2, {"a": "multi\nline"})]


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        ("a;b\nSøgne;Ålesund\n".encode("latin-1"), "encoding.not_utf8", "ISO-8859-1"),
        ("a;b\n\u201cq\u201d;x\n".encode("cp1252"), "encoding.not_utf8", "Windows-1252"),
        ("a;b\n1;2\n".encode("utf-16"), "encoding.utf16", "UTF-16"),
        ("a;b\n1;2\n".encode("utf-16-le"), "encoding.utf16", "UTF-16"),
        ("a;b\n1;2\n".encode("utf-32"), "encoding.utf32", "UTF-32"),
    ],
)
def test_csv_in_another_encoding_names_it(data: bytes, code: str, named: str) -> None:
    error = unusable(csv_items, data)
    assert error.code == code
    assert named in error.message


def test_a_wrong_encoding_deep_in_the_file_is_found_with_its_line() -> None:
    data = b"a;b\n" + b"1;2\n" * 5000 + "\u00e6;3\n".encode("latin-1")
    error = unusable(csv_items, data)
    assert (error.code, "line 5002" in error.message) == ("encoding.not_utf8", True)


def test_nul_bytes_are_refused() -> None:
    assert unusable(csv_items, b"a;b\n1;2\x00\n").code == "input.nul_byte"


def test_the_separator_must_be_a_semicolon() -> None:
    error = unusable(csv_items, b"a,b\n1,2\n")
    assert error.code == "csv.separator" and "';'" in error.message


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "csv.no_header"),
        (b"b;c\n1;2\n", "csv.header_missing_columns"),
        (b"a;a\n1;2\n", "csv.header_duplicate"),
        (b"a;;b\n1;2;3\n", "csv.header_empty_name"),
    ],
)
def test_header_problems(data: bytes, code: str) -> None:
    assert unusable(csv_items, data).code == code


def test_ragged_rows_are_rejected_one_by_one() -> None:
    items = csv_items(b"a;b\n1;2\n3\n4;5;6\n7;8\n")
    assert items[0] == Row(1, {"a": "1", "b": "2"})
    assert [(i.record, i.code) for i in items[1:3]] == [
        ("row 2", "csv.ragged_row"),
        ("row 3", "csv.ragged_row"),
    ]
    assert items[3] == Row(4, {"a": "7", "b": "8"})


def test_unknown_columns_are_a_warning() -> None:
    items = csv_items(b"a;b;extra\n1;2;3\n")
    assert items[0] == BatchWarning(
        code="column.unknown",
        message="column 'extra' is not part of this format and was ignored",
        path="extra",
    )
    assert items[1] == Row(1, {"a": "1", "b": "2"})


def test_a_ten_megabyte_line_stops_with_bounded_memory() -> None:
    error = unusable(csv_items, b"a;b\n" + b"x" * (10 * 1024 * 1024) + b";1\n")
    assert error.code == "input.line_too_long"


def test_an_unclosed_quote_cannot_swallow_the_file() -> None:
    line = b"y" * 1000 + b"\n"
    data = b'a;b\n"open;1\n' + line * (2 * MAX_RECORD_BYTES // len(line))
    try:
        items = csv_items(data)
    except UnusableInput as exc:  # the record bound, if the csv module's field limit is raised
        assert exc.code == "csv.record_too_large"
    else:
        assert isinstance(items[0], RecordError) and items[0].record == "row 1"


def test_a_malformed_row_is_rejected_and_the_next_read() -> None:
    items = csv_items(b'a;b\n"x"y;1\n2;3\n')
    assert isinstance(items[0], RecordError)
    assert (items[0].record, items[0].code) == ("row 1", "csv.malformed_row")
    assert items[1] == Row(2, {"a": "2", "b": "3"})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), min_size=1),
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r")),
        ).filter(lambda t: t[0].strip() != ""),
        max_size=8,
    )
)
def test_any_quoted_text_survives_the_round_trip(values: list[tuple[str, str]]) -> None:
    def quoted(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    data = "a;b\n" + "".join(f"{quoted(a)};{quoted(b)}\n" for a, b in values)
    rows = [i for i in csv_items(data.encode()) if isinstance(i, Row)]
    expected = [{k: v.strip() for k, v in (("a", a), ("b", b)) if v.strip()} for a, b in values]
    assert [r.values for r in rows] == expected


# --- JSON ----------------------------------------------------------------------------------------


def test_json_array_and_json_lines_give_the_same_rows() -> None:
    objects = [{"a": "1", "b": 2.50}, {"a": 3, "b": None}]
    from_array = json_items(json.dumps(objects).encode())
    from_lines = json_items("\n".join(json.dumps(o) for o in objects).encode() + b"\n")
    assert from_array == from_lines == [Row(1, {"a": "1", "b": "2.5"}), Row(2, {"a": "3"})]


def test_numbers_keep_their_literal_text() -> None:
    assert json_items(b'[{"a": 7.50, "b": 10}]') == [Row(1, {"a": "7.50", "b": "10"})]


def test_json_array_streams_across_any_chunk_boundary() -> None:
    objects = [{"a": f'v"{i}\\]}}', "b": "æøå ✓"} for i in range(300)]
    data = json.dumps(objects, ensure_ascii=False).encode()
    for step in (1, 7, 4096):
        rows = list(read_json(io.BufferedReader(_Trickle(data, step)), COLUMNS))  # type: ignore[arg-type]
        assert [r.values["a"] for r in rows if isinstance(r, Row)] == [o["a"] for o in objects]


@pytest.mark.parametrize(
    ("row", "code", "path"),
    [
        (b'{"a": 1, "a": 2}', "json.duplicate_key", "a"),
        (b'{"a": 1, "A": 2}', "json.duplicate_key", "a"),
        (b'{"a": {"x": 1}}', "json.nested_value", "a"),
        (b'{"a": [1]}', "json.nested_value", "a"),
        (b'{"a": true}', "json.type", "a"),
        (b'{"a": ' + b"9" * 5000 + b"}", "json.number_too_long", None),
        (b'{"a": NaN}', "json.syntax", None),
        (b'{"a": tru}', "json.syntax", None),
        (b'"text"', "json.not_object", None),
    ],
)
def test_a_bad_json_row_is_rejected_and_the_next_read(row: bytes, code: str, path: str | None) -> None:
    items = json_items(b"[" + row + b', {"a": "ok"}]')
    assert isinstance(items[0], RecordError)
    assert (items[0].record, items[0].code, items[0].path) == ("row 1", code, path)
    assert items[1] == Row(2, {"a": "ok"})


def test_a_huge_exponent_stays_text_for_the_field_check() -> None:
    assert json_items(b'[{"a": 1e999999999}]') == [Row(1, {"a": "1e999999999"})]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"[" * 100_000, "json.too_deep"),
        (b"[" + b'{"a":' * (MAX_DEPTH + 1), "json.too_deep"),
        (b'[{"a": "' + b"x" * (MAX_RECORD_BYTES + 10) + b'"}]', "json.record_too_large"),
        (b'[{"a": 1}', "json.truncated"),
        (b'[{"a": 1},]', "json.syntax"),
        (b'[{"a": 1},,{"a": 2}]', "json.syntax"),
        (b'[{"a": 1}] {"a": 2}', "json.trailing_data"),
        (b'{\n  "a": 1\n}\n', "json.not_array"),
        ('[{"a": "ø"}]'.encode("latin-1"), "encoding.not_utf8"),
        ('[{"a": "1"}]'.encode("utf-16"), "encoding.utf16"),
        (b'[{"a": "1\x00"}]', "input.nul_byte"),
    ],
)
def test_broken_json_structure_is_unusable(data: bytes, code: str) -> None:
    assert unusable(json_items, data).code == code


def test_empty_array_is_no_rows() -> None:
    assert json_items(b" [ ] ") == []


def test_unknown_json_keys_warn_once() -> None:
    items = json_items(b'[{"a": 1, "zz": 2}, {"a": 2, "zz": 3}]')
    warnings = [i for i in items if isinstance(i, BatchWarning)]
    assert [(w.code, w.path) for w in warnings] == [("column.unknown", "zz")]


# --- values and documents ------------------------------------------------------------------------


def test_dates() -> None:
    assert parse_date("2025-06-20") == parse_date("20.06.2025") == parse_date("20.6.2025")
    for bad in ("2025-02-30", "20/06/2025", "2025-6-1"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_code_words_fold_spelling() -> None:
    assert code_word("Muntlig-praktisk eksamen") == "muntlig_praktisk_eksamen"
    assert code_word(" Fagprøve ") == "fagprove"
    assert code_word("Kompetansebevis for fagopplæring") == "kompetansebevis_for_fagopplaering"


def test_document_memory_is_bounded_and_names_the_conflict() -> None:
    memory = DocumentMemory(limit=2)
    fields = (("x", "1"), ("y", "2"))
    assert memory.check("d1", fields) == (True, None)
    assert memory.check("d1", fields) == (False, None)
    assert memory.check("d1", (("x", "1"), ("y", "3"))) == (False, "y")
    memory.check("d2", fields)
    memory.check("d3", fields)
    assert len(memory.seen) == 2 and "d1" not in memory.seen


# --- fuzzing: any bytes give rows, row errors or one UnusableInput, never another exception -------

_JSONISH = st.lists(
    st.sampled_from([b"[", b"]", b"{", b"}", b",", b":", b'"', b"\\", b'"a"', b"1", b"-2.5e3", b"null", b"true",
                     b" ", b"\n", b"\xc3\xa6", b"\xff", b"\x00", b"\xef\xbb\xbf"]),
    max_size=60,
).map(b"".join)  # fmt: skip


def _drain(read, data: bytes) -> None:  # type: ignore[no-untyped-def]
    try:
        for item in read(io.BytesIO(data), COLUMNS):
            assert isinstance(item, Row | RecordError | BatchWarning)
    except UnusableInput as exc:
        assert exc.code and exc.message


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), _JSONISH))
def test_hostile_bytes_never_crash_the_json_reader(data: bytes) -> None:
    _drain(read_json, data)
    _drain(read_json, b"[" + data)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), _JSONISH))
def test_hostile_bytes_never_crash_the_csv_reader(data: bytes) -> None:
    _drain(read_csv, b"a;b\n" + data)
    _drain(read_csv, data)


def test_a_wrong_encoding_deep_in_a_json_array_names_the_byte_and_its_offset() -> None:
    data = b"[" + b'{"a": "x"},' * 20_000 + '{"a": "Ålesund"}]'.encode("latin-1")
    error = unusable(json_items, data)
    assert error.code == "encoding.not_utf8"
    assert (
        "0xC5" in error.message
        and f"offset {len(data) - 10}" in error.message
        and "ISO-8859-1" in error.message
    )


_VALUES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",))),
    st.integers(-(10**20), 10**20),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(float),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.fixed_dictionaries({"a": _VALUES}, optional={"b": _VALUES}), max_size=6),
    st.integers(1, 64),
    st.booleans(),
)
def test_the_array_splitter_agrees_with_the_json_module(objects: list[dict], step: int, pretty: bool) -> None:
    data = json.dumps(objects, indent=2 if pretty else None, ensure_ascii=step % 2 == 0).encode()
    rows = list(read_json(io.BufferedReader(_Trickle(data, step)), COLUMNS))  # type: ignore[arg-type]
    expected = []
    for number, obj in enumerate(json.loads(data), start=1):
        values = {
            k: (v if isinstance(v, str) else json.dumps(v)).strip() for k, v in obj.items() if v is not None
        }
        expected.append(Row(number, {k: v for k, v in values.items() if v}))
    assert rows == expected
