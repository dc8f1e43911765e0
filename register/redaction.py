"""One redaction for every place the register reflects input back: error bodies, GraphQL errors, log
lines and request ids.

A client can put a national id anywhere — a request id, a GraphQL operation name, a statistics
dimension, a filter value, an unknown JSON key, a URL path — and each of those is quoted somewhere (an
error detail, a log line, an audit row). Rather than remembering at each place, everything reflected
goes through ``redact``: any run of eleven or more digits, and eleven digits split 6 + 5 by one space,
dot or dash (how people write a fødselsnummer), become ``[redacted]``. A run longer than eleven is
masked too, because it holds an eleven-digit one. Nothing a register message says on its own holds
such a run (ids are UUIDs, organisation numbers have nine digits), so nothing useful is lost.

The text is also cut to ``limit`` characters (``MAX_REFLECTED`` unless told), so a 60 KiB unknown key
is not copied into every error body and log line that mentions it.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
#: the most characters of one reflected text kept (error details, log messages); the rest is cut
MAX_REFLECTED = 1000
#: the longest log line kept (a traceback is useful whole; a 64 MiB header quoted in one is not)
LOG_LIMIT = 64 * 1024

# \d: Unicode digits too, so a national id written in full-width or Arabic-Indic digits is masked.
_NATIONAL_ID_LIKE = re.compile(r"\d{11,}|(?<!\d)\d{6}[ .\-]\d{5}(?!\d)")
# The register's own ids are UUIDs, and about 1 in 130 random ones has eleven digits in a row in its
# last group: masking those broke a batch id in a problem body. A UUID is left whole (a national id
# written into one is not quoted as a national id; the request-id check is stricter, see
# ``holds_national_id``).
_UUID_OR_ID = re.compile(
    r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"(?![0-9A-Fa-f-])|" + _NATIONAL_ID_LIKE.pattern
)


def _mask(match: re.Match[str]) -> str:
    found = match.group()
    return found if "-" in found and len(found) == 36 else MASK


def redact(text: str, limit: int = MAX_REFLECTED) -> str:
    """``text`` with every national-id-like run masked, at most ``limit`` characters long."""
    if len(text) <= limit:
        return _UUID_OR_ID.sub(_mask, text)
    # Cut first (bounded work), dropping a digit run the cut went through: its first digits alone
    # would not be masked, and a birth date is half a national id.
    end = limit - 1
    while end and (text[end - 1].isdigit() or text[end - 1] in " .-"):
        end -= 1
    cut = text[:end]
    return _UUID_OR_ID.sub(_mask, cut) + "…"


def holds_national_id(text: str) -> bool:
    """Whether ``text`` holds something national-id-like, a UUID's digits included (for values the
    register keeps, such as a caller's request id: one is replaced, not redacted)."""
    return _NATIONAL_ID_LIKE.search(text) is not None


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message, arguments and any traceback) has gone through ``redact``.

    Applied last, at the handler, so a message built anywhere (a library's, a driver error quoting its
    parameters) cannot carry a national id to the log. The limit is generous: a traceback is kept.
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), limit=LOG_LIMIT)
