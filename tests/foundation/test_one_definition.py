"""Facts declared once (issue 15, item 3): the code derives them, and these tests catch a second copy."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = ("register", "importers", "intake", "api", "cli", "demo")


def application_sources() -> list[Path]:
    return [path for package in APPLICATION for path in sorted((ROOT / package).rglob("*.py"))]


def test_no_advisory_lock_key_is_written_as_a_number_outside_register_locks() -> None:
    # pg_advisory_xact_lock(7001, …) in a statement is a key nobody can find by its name.
    literal = re.compile(r"pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock(?:_shared)?\(\s*\d")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in application_sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []
