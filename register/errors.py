"""Domain errors: each carries a stable code and its HTTP meaning, rendered once as problem+json.

Codes are listed in docs/errors.md. Messages are for people and never contain a national id.
"""

from __future__ import annotations


class RegisterError(Exception):
    status: int = 400
    title: str = "Bad request"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidInput(RegisterError):
    status = 422
    title = "Unprocessable input"


class NotFound(RegisterError):
    status = 404
    title = "Not found"


class Conflict(RegisterError):
    status = 409
    title = "Conflict"


class Forbidden(RegisterError):
    status = 403
    title = "Forbidden"
