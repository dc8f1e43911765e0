"""What every registered importer passes without a line of its own (docs/importers.md).

Driven by the registry (intake.registry) and the example files (tests/importers/examples.py): each
example is claimed by exactly one importer, chosen for each sector that importer serves, and read to
exactly the normalized output stored beside it; every importer has examples (which also seed its
fuzzing, tests/fuzz/test_importers.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from importers.base import HEAD_BYTES
from intake.registry import all_importers, choose
from tests.importers.examples import claiming, example_files, expected_path, extract, relative
from tests.importers.golden import check_expected

EXAMPLES = example_files()


@pytest.mark.parametrize("path", EXAMPLES, ids=relative)
def test_exactly_one_importer_claims_each_example(path: Path) -> None:
    names = [importer.name for importer in claiming(path)]
    assert len(names) == 1, f"{relative(path)} is claimed by {names or 'no importer'}"


@pytest.mark.parametrize("path", EXAMPLES, ids=relative)
def test_the_claiming_importer_is_chosen_for_each_of_its_sectors(path: Path) -> None:
    [importer] = claiming(path)
    head = path.read_bytes()[:HEAD_BYTES]
    for sector in importer.sectors:
        assert choose(sector, head, path.name, None).name == importer.name


@pytest.mark.parametrize("path", EXAMPLES, ids=relative)
def test_each_example_is_read_to_its_expected_output(path: Path) -> None:
    expected = expected_path(path)
    assert expected.is_file(), f"no {expected.name}: run python -m tests.importers.golden --update"
    [importer] = claiming(path)
    check_expected(extract(importer, path), expected)


@pytest.mark.parametrize("name", sorted(importer.name for importer in all_importers()))
def test_every_registered_importer_has_examples(name: str) -> None:
    assert any([imp.name for imp in claiming(path)] == [name] for path in EXAMPLES), (
        f"importer {name!r} claims no example: add one under docs/formats/examples"
    )


def test_every_expected_output_has_its_example() -> None:
    """An expected output left behind by a removed or renamed example is an error, not a leftover."""
    examples = {expected_path(path) for path in EXAMPLES}
    stored = {
        path for directory in {path.parent for path in EXAMPLES} for path in directory.glob("*.expected.json")
    }
    assert stored <= examples, sorted(relative(p) for p in stored - examples)
