"""What became of one delivery: the batch report the CLI prints and the API returns, and the earlier
batch a duplicate file stands for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from register.records import BatchWarning, RecordError


@dataclass(slots=True)
class BatchReport:
    """What happened to one delivery; the CLI prints it and the API returns it."""

    batch_id: uuid.UUID | None  # None for a dry run: nothing was stored
    status: str  # completed, failed, duplicate
    sector: str
    format: str | None = None
    accepted: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: list[BatchWarning] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    failure: RecordError | None = None  # why a whole file was unusable
    duplicate_of: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)
    new: int | None = (
        None  # of the accepted: new records (known when the batch ran here, not for a duplicate)
    )
    changed: int | None = None  # of the accepted: changed records
    dry_run: bool = False  # nothing was stored: the batch, its records and its rejections were rolled back

    @property
    def exit_code(self) -> int:
        """0 all accepted (or a duplicate), 1 some records rejected, 2 the file was unusable."""
        if self.status == "failed":
            return 2
        return 1 if self.rejected else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": None if self.batch_id is None else str(self.batch_id),
            "status": self.status,
            "sector": self.sector,
            "format": self.format,
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "new": self.new,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "duplicate_of": str(self.duplicate_of) if self.duplicate_of else None,
            "failure": _error_dict(self.failure) if self.failure else None,
            "warnings": [
                {"record": w.record, "path": w.path, "code": w.code, "message": w.message}
                for w in self.warnings
            ],
            "errors": [_error_dict(e) for e in self.errors],
            "details": self.details,
        }


def _error_dict(error: RecordError) -> dict[str, Any]:
    return {"record": error.record, "path": error.path, "code": error.code, "message": error.message}


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The completed batch (without rejections) an identical file was, and what it did."""

    batch_id: uuid.UUID
    accepted: int
    unchanged: int
    rejected: int

    def report(self, batch_id: uuid.UUID | None, sector: str) -> BatchReport:
        return BatchReport(
            batch_id=batch_id,
            status="duplicate",
            sector=sector,
            accepted=self.accepted,
            unchanged=self.unchanged,
            rejected=self.rejected,
            duplicate_of=self.batch_id,
        )
