"""Expected normalized output beside each example file: the importer's records, as JSON.

Every example (tests/importers/examples.py) has its ``<example>.expected.json`` beside it. After an
intended change to a mapping, regenerate them all and review the diff:

    .venv/bin/python -m tests.importers.golden --update

(``REGISTER_REGENERATE_EXPECTED=1 .venv/bin/pytest tests/importers -k expected`` does the same for the
examples a test reads.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import os
import sys
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from register.records import AchievementRecord, BatchWarning, RecordError


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def normalized(items: Iterable[object]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        assert isinstance(item, AchievementRecord | RecordError | BatchWarning)
        kind = {AchievementRecord: "record", RecordError: "error", BatchWarning: "warning"}[type(item)]
        fields = dataclasses.asdict(item)
        out.append({"type": kind, **_plain(fields)})
    return out


def check_expected(items: Iterable[object], expected_path: Path) -> None:
    got = normalized(items)
    if os.environ.get("REGISTER_REGENERATE_EXPECTED"):
        expected_path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(expected_path.read_text())
    assert got == expected, (
        f"the output differs from {expected_path.name}; see the module docstring to regenerate"
    )


def update_all() -> list[Path]:
    """Write the expected output of every example, read by the one importer that claims it."""
    from tests.importers.examples import claiming, example_files, expected_path, extract

    written = []
    for path in example_files():
        [importer] = claiming(path)
        target = expected_path(path)
        target.write_text(
            json.dumps(normalized(extract(importer, path)), indent=1, ensure_ascii=False) + "\n"
        )
        written.append(target)
    return written


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.importers.golden --update")
    for target in update_all():
        print(target)
