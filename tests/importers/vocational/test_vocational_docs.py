"""The documentation is the format: its field table, JSON Schema and examples agree with the importer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest

from importers.vocational.rows import COLUMNS, REFUSED

DOCS = Path(__file__).resolve().parents[3] / "docs" / "formats"
SCHEMA = json.loads((DOCS / "schemas" / "vocational.schema.json").read_text())
VALIDATOR = jsonschema_rs.validator_for(SCHEMA)


def test_the_docs_describe_every_column_in_order() -> None:
    table = (DOCS / "vocational.md").read_text().split("## Fields", 1)[1].split("###", 1)[0]
    assert re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE) == [c.name for c in COLUMNS]


def test_the_schema_names_exactly_the_columns_and_requires_the_required_ones() -> None:
    row = SCHEMA["$defs"]["row"]
    assert list(row["properties"]) == [c.name for c in COLUMNS]
    assert set(row["required"]) == {c.name for c in COLUMNS if c.required}
    assert not set(REFUSED) & set(row["properties"])


def test_the_examples_are_valid() -> None:
    lines = (DOCS / "examples" / "vocational.jsonl").read_text().splitlines()
    VALIDATOR.validate([json.loads(line) for line in lines])
    csv_lines = (DOCS / "examples" / "vocational.csv").read_text().splitlines()
    header = csv_lines[0].split(";")
    VALIDATOR.validate(
        [{k: v for k, v in zip(header, line.split(";"), strict=True) if v} for line in csv_lines[1:]]
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"karakter": "5"},
        {"nkr_niva": "6"},
        {"studiepoeng": 10},
        {"resultat_id": None},
        {"fagskolepoeng": "ti"},
    ],
)
def test_the_schema_refuses_what_the_importer_refuses(bad: dict[str, object]) -> None:
    good = json.loads((DOCS / "examples" / "vocational.jsonl").read_text().splitlines()[0])
    assert VALIDATOR.is_valid([good])
    assert not VALIDATOR.is_valid([{**good, **bad}])


@pytest.mark.parametrize("example", ["vocational.csv", "vocational.jsonl"])
def test_example_output_is_as_expected(example: str) -> None:
    import io

    from importers.base import ImportContext
    from intake.registry import choose
    from register.sectors import Sector
    from tests.importers.golden import check_expected

    data = (DOCS / "examples" / example).read_bytes()
    importer = choose(Sector.VOCATIONAL, data[:65536], example, None)
    items = importer.extract(io.BytesIO(data), ImportContext(Sector.VOCATIONAL, "965897976"))
    check_expected(items, DOCS / "examples" / f"{example}.expected.json")
