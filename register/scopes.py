"""The scopes of the register's API, the one list that tokens, the API's checks and the help derive from."""

from __future__ import annotations

import enum


class Scope(enum.StrEnum):
    WRITE = "kompetanse:write"
    READ = "kompetanse:read"
    STATS = "kompetanse:stats"
    ADMIN = "kompetanse:admin"
    OOTS = "kompetanse:oots"

    @property
    def grants(self) -> str:
        return _GRANTS[self]


_GRANTS = {
    Scope.WRITE: "providers upload",
    Scope.READ: "look-ups of a person",
    Scope.STATS: "aggregates",
    Scope.ADMIN: "organisations, audit",
    Scope.OOTS: "the OOTS connector of the national access point: EDM evidence requests",
}


def scopes_listed() -> str:
    """``kompetanse:write`` (providers upload), … — for help texts and the API's description."""
    return ", ".join(f"`{scope.value}` ({scope.grants})" for scope in Scope)
