"""Text the database can hold.

PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate (which JSON's \\ud800 escape
and Python strings can carry). A record with such a character is rejected by the ingest with the field
named (``find_invalid_text``); text the register writes about a delivery — error messages quoting a
value, warnings, file names — is cleaned instead (``clean_text``), so a report can always be stored.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

_INVALID = re.compile(r"[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def is_storable(value: str) -> bool:
    return _INVALID.search(value) is None


def clean_text(value: str, *, single_line: bool = False) -> str:
    """NUL and lone surrogates replaced by U+FFFD; with ``single_line`` every control character too."""
    pattern = _CONTROL if single_line else _INVALID
    cleaned = pattern.sub("\ufffd", value)
    if single_line:
        cleaned = cleaned.replace("\r", "\ufffd").replace("\n", "\ufffd").replace("\t", " ")
    return cleaned


def clean_json(value: Any) -> Any:
    """``clean_text`` through a JSON-able structure (warnings, batch details)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def find_invalid_text(value: Any, path: str = "") -> str | None:
    """The path of the first string in a record that the database cannot hold, or None."""
    if isinstance(value, str):
        return path or "value" if not is_storable(value) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            found = find_invalid_text(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = find_invalid_text(k, path) or find_invalid_text(
                v, f"{path}.{k}" if is_storable(str(k)) else path
            )
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = find_invalid_text(v, f"{path}[{i}]")
            if found:
                return found
    return None
