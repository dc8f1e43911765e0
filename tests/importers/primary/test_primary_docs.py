"""The documentation is the format: its field table, JSON Schema and examples agree with the importer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest

from importers.primary.rows import ASSESSMENTS, COLUMNS, DOCUMENT_TYPES, REFUSED

DOCS = Path(__file__).resolve().parents[3] / "docs" / "formats"
SCHEMA = json.loads((DOCS / "schemas" / "primary.schema.json").read_text())
VALIDATOR = jsonschema_rs.validator_for(SCHEMA)


def documented_columns(markdown: str) -> list[str]:
    table = markdown.split("## Fields", 1)[1].split("###", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE)


def test_the_docs_describe_every_column_in_order() -> None:
    assert documented_columns((DOCS / "primary.md").read_text()) == [c.name for c in COLUMNS]


def test_the_schema_names_exactly_the_columns_and_requires_the_required_ones() -> None:
    row = SCHEMA["$defs"]["row"]
    assert list(row["properties"]) == [c.name for c in COLUMNS]
    assert set(row["required"]) == {c.name for c in COLUMNS if c.required} - {"skole_orgnr"}
    assert row["properties"]["vurderingstype"]["enum"][:-1] == list(ASSESSMENTS)
    assert row["properties"]["dokumenttype"]["enum"][:-1] == list(DOCUMENT_TYPES)
    assert not set(REFUSED) & set(row["properties"])


def test_the_json_example_is_valid() -> None:
    VALIDATOR.validate(json.loads((DOCS / "examples" / "primary.json").read_text()))


def test_the_csv_example_rows_are_valid_as_json_rows() -> None:
    lines = (DOCS / "examples" / "primary.csv").read_text().splitlines()
    header = lines[0].split(";")
    rows = [{k: v for k, v in zip(header, line.split(";"), strict=True) if v} for line in lines[1:]]
    VALIDATOR.validate(rows)


@pytest.mark.parametrize(
    "bad",
    [
        {"karakter": "7"},
        {"fagkode": "NOR121"},
        {"vurderingstype": "orden", "karakter": "5"},
        {"fagskolepoeng": "10"},
        {"skole_orgnr": None},
    ],
)
def test_the_schema_refuses_what_the_importer_refuses(bad: dict[str, object]) -> None:
    good = json.loads((DOCS / "examples" / "primary.json").read_text())[0]
    assert VALIDATOR.is_valid([good])
    assert not VALIDATOR.is_valid([{**good, **bad}])


@pytest.mark.parametrize("example", ["primary.csv", "primary.json"])
def test_example_output_is_as_expected(example: str) -> None:
    import io

    from importers.base import ImportContext
    from intake.registry import choose
    from register.sectors import Sector
    from tests.importers.golden import check_expected

    data = (DOCS / "examples" / example).read_bytes()
    importer = choose(Sector.PRIMARY, data[:65536], example, None)
    items = importer.extract(io.BytesIO(data), ImportContext(Sector.PRIMARY, "957002013"))
    check_expected(items, DOCS / "examples" / f"{example}.expected.json")
