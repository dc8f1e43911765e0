"""Every example file the project holds, and the one registered importer that claims each.

The examples are the documented ones (docs/formats/examples) and the official and real documents
(tests/fixtures/formats/*/examples). The conformance suite (test_conformance.py), the golden outputs
(golden.py) and the fuzz seeds (tests/fuzz/test_importers.py) all start from this list, so a new
importer is held to all three by adding its examples, not code.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from importers.base import HEAD_BYTES, ImportContext, Importer, Item
from intake.registry import all_importers
from register.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIRS = (
    PROJECT_ROOT / "docs" / "formats" / "examples",
    *sorted((PROJECT_ROOT / "tests" / "fixtures" / "formats").glob("*/examples")),
)
EXPECTED_SUFFIX = ".expected.json"
# The provider each sector's examples are delivered by: the awarding organisations the examples name
# (a county for the schools, a fagskole); the other formats name their issuer themselves.
PROVIDERS = {"primary": "957002013", "vocational": "965897976"}
OTHER_PROVIDER = "974760673"


def example_files() -> list[Path]:
    return sorted(
        path
        for directory in EXAMPLE_DIRS
        for path in directory.iterdir()
        if path.is_file() and not path.name.endswith(EXPECTED_SUFFIX) and path.name != "README.md"
    )


def claiming(path: Path) -> list[Importer]:
    """The registered importers that claim the file, whatever their sector."""
    head = path.read_bytes()[:HEAD_BYTES]
    return [imp for imp in all_importers() if imp.identify(head, path.name, None)]


def expected_path(path: Path) -> Path:
    return path.with_name(path.name + EXPECTED_SUFFIX)


def extract(importer: Importer, path: Path) -> Iterator[Item]:
    """The importer's items for the example, read as its first sector (by name) delivers it."""
    sector = min(importer.sectors, key=lambda s: s.value)
    context = ImportContext(
        sector=sector,
        provider_orgnr=PROVIDERS.get(sector.value, OTHER_PROVIDER),
        filename=path.name,
        settings=Settings(allow_synthetic_ids=True),
    )
    return importer.extract(io.BytesIO(path.read_bytes()), context)


def relative(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))
