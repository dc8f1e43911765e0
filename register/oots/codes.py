"""The EDM's fixed values: specification identifiers, error codes, levels of assurance."""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: The EDM versions answered. 1.x messages validate against the SDG profile and Schematron of the
#: TDD; 2.0 messages follow the real 2.0 messages (docs/oots.md, "EDM 1.x and 2.0").
SPEC_V2 = "oots-edm:v2.0"
SPECS_V1 = frozenset({"oots-edm:v1.0", "oots-edm:v1.1", "oots-edm:v1.2"})
SPECIFICATIONS = frozenset({SPEC_V2, *SPECS_V1})

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
# The host differs between the 2022-12 code list (1.x) and 2.0 (docs/oots.md).
PREVIEW_REQUIRED = {
    "v1": "urn:sr.oots.tech.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired",
    "v2": "urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired",
}


@dataclass(frozen=True, slots=True)
class _Code:
    code: str
    exception_type: str  # rs:Exception/@xsi:type
    message: str


class EdmErrorCode(enum.Enum):
    """EDMErrorCodes-CodeList 2.0.1, as transcribed by oots-france (docs/oots.md)."""

    FAILED_AUTHENTICATION = _Code("EDM:ERR:0001", "rs:AuthenticationExceptionType", "Failed Authentication")
    PREVIEW_REQUIRED = _Code("EDM:ERR:0002", "rs:AuthorizationExceptionType", "Missing Authorization")
    INVALID_REQUEST = _Code(
        "EDM:ERR:0003", "rs:InvalidRequestExceptionType", "Syntactically or semantically invalid request"
    )
    NOT_FOUND = _Code("EDM:ERR:0004", "rs:ObjectNotFoundExceptionType", "Object not found")
    TIMEOUT = _Code("EDM:ERR:0005", "rs:TimeoutExceptionType", "Exceeding timeout period")
    UNSUPPORTED = _Code(
        "EDM:ERR:0007",
        "rs:UnsupportedCapabilityExceptionType",
        "Optional feature or capability is not supported",
    )

    @property
    def code(self) -> str:
        return self.value.code


class EdmError(Exception):
    """A request the register answers with an EDM error response.

    ``reason`` is a stable code of the register's own (docs/errors.md, ``oots.*``), written to the
    audit trail; ``detail`` travels in ``rs:Exception/@detail`` and never holds a national id.
    """

    def __init__(self, edm: EdmErrorCode, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.edm = edm
        self.reason = reason
        self.detail = detail


class LevelOfAssurance(enum.IntEnum):
    """eIDAS levels of assurance (``sdg:LevelOfAssurance``: Low, Substantial, High)."""

    LOW = 1
    SUBSTANTIAL = 2
    HIGH = 3

    @classmethod
    def parse(cls, text: str | None) -> LevelOfAssurance | None:
        return {"low": cls.LOW, "substantial": cls.SUBSTANTIAL, "high": cls.HIGH}.get((text or "").lower())
