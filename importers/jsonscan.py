"""The one streaming JSON scanner: cut a delivery into its top-level values before any parser sees it.

``json.loads`` on hostile input is unsafe in two ways: deep nesting exhausts the interpreter's stack
(100 MB of ``[`` is enough), and a huge document is held whole in memory several times over. So every
JSON delivery — rows of a table (``importers.tabular``), credentials (``importers.micro``) — is first cut
into values by this scanner, which tracks only strings, brackets and the commas of the outer array:
nesting beyond ``max_depth`` stops the file at once, a value beyond ``max_item_bytes`` is skipped
unkept or stops the file (the format decides), and only a value that passed both is given to the
parser. The streaming scan's memory stays at one read chunk plus one value, its work at one
regular-expression pass.

Two shapes of delivery, by ``ScanRules.sequence``:

- one top-level array whose elements are the values (both formats), and, when ``sequence`` is true,
- concatenated objects / JSON Lines, one document after another (credentials only: rows in JSON Lines
  are read line by line, see ``importers.tabular.json_reader``).

Error codes are the format's own (``json.*`` for rows, ``micro.*`` for credentials): the scanner names
the rule that was broken, ``ScanRules.codes`` names the code a provider reads for it.

An array is cut faster, in C, a window of about ``WINDOW`` bytes at a time: msgspec's decoder reads
the window up to its last comma, closed with a bracket, and gives each element's bytes unparsed — the
text is valid JSON only where that comma stands between two elements of the array, since a parser's
state at a byte depends only on the bytes before it — and the rules are checked on the window (its
depth from its brackets outside strings, each element's kind and size). Where msgspec refuses a
window or a rule fails, the streaming scan reads the rest of the file from that window on, and names
the rule and the byte as always; so both give the same values or the same error
(``tests/importers/test_jsonscan.py`` compares them). Memory stays at a few windows; an element
larger than a window is left to the streaming scan, with the rest of the file (the price: the regular
expressions' speed, 6 × slower on a credential file, measured in docs/performance.md).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

import msgspec

CHUNK = 1024 * 1024
#: how much of an array is cut in C at a time (see the module docstring)
WINDOW = 2 * CHUNK

#: the rules the scanner enforces; each format maps them to its own error code
Rule = Literal[
    "too_large", "too_deep", "malformed", "truncated", "empty", "not_array", "trailing", "oversized"
]
#: what one top-level value is, judged by its first byte
Kind = Literal["object", "array", "string", "scalar"]

# Inside a value only brackets and strings matter: a whole string (unrolled, so linear), a bracket, or
# a lone quote whose string does not end in this chunk. Inside such a string, the quote and the escape.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}"]', re.DOTALL)
# The same inside one value, with whole strings and everything between brackets stepped over within
# the match: the group is the next bracket, or a lone quote, or empty at the chunk's end. One Python
# step per bracket, not per string — a credential's strings are most of its tokens (the scan was
# 0.39 s of Python for 291 521 tokens of a 3 MB micro file, cProfile). Atomic and possessive, so a
# failed alternative is never retried (linear).
_NEXT_BRACKET = re.compile(rb'(?>"[^"\\]*(?:\\.[^"\\]*)*"|[^"\[\]{}]+)*+([\[\]{}"]|\Z)', re.DOTALL)
_INSIDE = re.compile(rb'["\\]')
# A bare scalar (number, true, false, null — or garbage the parser will name) runs to the next delimiter.
_SCALAR = re.compile(rb'[^\s,\[\]{}"]+')
_BLANK_BYTES = b" \t\r\n"
_SPACE = frozenset(_BLANK_BYTES)
# A run of blanks between values is stepped over in one match: a file of gigabytes of spaces costs one
# regular-expression pass, not a Python step per byte.
_BLANK = b"[" + re.escape(_BLANK_BYTES) + b"]"
_BLANKS = re.compile(_BLANK + b"+")
_OPEN = {ord("]"): ord("["), ord("}"): ord("{")}
_KIND: dict[int, Kind] = {ord("{"): "object", ord("["): "array", ord('"'): "string"}


class Readable(Protocol):
    """All the scanner asks of its source: ``read(size)`` (a file, a socket's body, a wrapper)."""

    def read(self, size: int = -1, /) -> bytes: ...


class ScanError(Exception):
    """The delivery's structure is broken or hostile: nothing of it can be read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ScanRules:
    """What a format allows, and the code its providers read for each broken rule."""

    codes: Mapping[Rule, str]
    max_item_bytes: int
    max_depth: int
    max_total_bytes: int | None = None
    #: also accept concatenated top-level objects (JSON Lines); otherwise exactly one array
    sequence: bool = False
    #: a value over ``max_item_bytes``: "skip" yields it with ``data=None``, "fail" stops the file
    oversized: Literal["skip", "fail"] = "fail"
    #: how the format calls one value in messages ("row", "credential")
    item: str = "value"
    #: the kinds of array element the format can read; another is refused at its first byte
    element_kinds: frozenset[Kind] = frozenset(("object", "array", "string", "scalar"))
    #: what the format expects instead, for that refusal's message
    element_hint: str = ""

    def error(self, rule: Rule, message: str) -> ScanError:
        return ScanError(self.codes[rule], message)


@dataclass(frozen=True, slots=True)
class Piece:
    """One top-level value as raw bytes, or ``data=None`` when it was over the size limit and skipped."""

    index: int  # 1-based position in the delivery
    kind: Kind
    data: bytes | None
    size: int
    offset: int  # byte offset of its first byte in the delivery (after the byte order mark)


@dataclass(slots=True)
class _Value:
    index: int
    kind: Kind
    offset: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    dropped: bool = False


# Where the scanner stands between values.
_START, _TOP, _ARRAY_FIRST, _ARRAY_VALUE, _ARRAY_NEXT, _DONE = range(6)


def check_depth(data: bytes, max_depth: int, code: str) -> None:
    """Raise ScanError(code) if JSON text held in memory nests deeper than ``max_depth``.

    For JSON that arrives inside another document (a JWT payload, a JAdES payload string), which the
    scanner saw only as a string.
    """
    depth = 0
    for match in _TOKEN.finditer(data):
        token = match.group()
        if len(token) > 1:
            continue
        if token in (b"{", b"["):
            depth += 1
            if depth > max_depth:
                raise ScanError(code, f"nesting deeper than {max_depth} levels; refused before parsing")
        elif token in (b"}", b"]"):
            depth -= 1
        else:
            return  # a string that never ends: the parser stops there with an error, before any nesting


def scan_values(head: bytes, source: Readable, rules: ScanRules) -> Iterator[Piece]:
    """Yield the top-level values of the delivery (``head``, then the rest of ``source``), one at a time.

    ``head`` is what the caller already read, without a byte order mark. Raises ScanError for a broken
    or hostile structure, at the first byte that shows it.
    """
    scanner = _Scanner(rules)
    offset = 0
    # an array is cut in C where it can be; the streaming scan goes on where it cannot
    head = head or source.read(CHUNK)
    if head.lstrip(_BLANK_BYTES)[:1] == b"[":
        rest = yield from _cut_array(head, source, rules)
        if rest is None:
            return
        scanner.in_array(rest.elements_before, after_comma=rest.after_comma)
        head, offset = rest.data, rest.offset
    yield from scanner.run(head, source, offset)


def stream_values(head: bytes, source: Readable, rules: ScanRules) -> Iterator[Piece]:
    """``scan_values`` by the streaming scan alone: the reference the cut in C is tested against."""
    yield from _Scanner(rules).run(head, source)


class _Rest(NamedTuple):
    """Where the cut in C stopped: the delivery from ``offset`` on, as far as read, for the scanner."""

    data: bytes
    offset: int
    elements_before: int
    after_comma: bool


# What the cut in C reads: the elements unparsed; a bracket's kind does not matter to a depth;
# everything but quotes and brackets dropped at once.
_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])
_BRACKETS_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_NOT_QUOTE_OR_BRACKET = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_SEPARATOR = re.compile(_BLANK + b"*,?" + _BLANK + b"*")
_SIGNATURE_BYTES = 32
_CUT_TRIES = 3
#: blanks looked through, back from an element's first bytes, for the comma before it
_BLANKS_BEFORE_ELEMENT = 64


def _cut_array(head: bytes, source: Readable, rules: ScanRules) -> Generator[Piece, None, _Rest | None]:
    """Yield the array's elements a window at a time; return where the scanner must go on, or None."""
    start = head.index(b"[") + 1
    data, offset = head[start:], start  # the delivery from ``offset`` on, not yet cut
    count, after_comma, end_of_file = 0, False, False
    signature = b""
    while True:
        parts, have = [data], len(data)
        while not end_of_file and have < WINDOW:
            more = source.read(CHUNK)
            end_of_file = not more
            parts.append(more)
            have += len(more)
        data = b"".join(parts)
        if rules.max_total_bytes is not None and offset + len(data) > rules.max_total_bytes:
            break  # the scanner says so, at the same chunk
        signature = signature or _signature(data)
        window = _cut_window(data, end_of_file, signature, rules, count, offset - 1)
        if window is None or (not window[0] and (after_comma or not end_of_file)):
            break  # a fault, an empty element or an element larger than a window: the scanner goes on
        pieces, cut = window
        yield from pieces
        if end_of_file:
            return None
        count += len(pieces)
        data, offset, after_comma = data[cut + 1 :], offset + cut + 1, True
    return _Rest(data, offset, count, after_comma)


def _cut_window(
    data: bytes, end_of_file: bool, signature: bytes, rules: ScanRules, count: int, base: int
) -> tuple[list[Piece], int] | None:
    """The elements at the start of ``data`` (its offset ``base`` + 1) and where they end: all of it at
    the end of the file, else up to the first guessed comma the decoder accepts; None if none is."""
    if end_of_file:
        pieces = _window(b"[" + data, rules, count, base)  # up to the closing "]"
        return None if pieces is None else (pieces, len(data))
    for cut in _cuts(data, signature):
        pieces = _window(b"[" + data[:cut] + b"]", rules, count, base)
        if pieces is not None:
            return pieces, cut
    return None


def _signature(data: bytes) -> bytes:
    """The bytes the first element starts with, which the others likely start with too: an object's
    first key (``{"@context":``), or the first bytes of a string (a JWT's header) or other value."""
    blanks = _BLANKS.match(data)
    first = blanks.end() if blanks else 0
    head = data[first : first + _SIGNATURE_BYTES]
    key_end = head.find(b":") if head[:1] == b"{" else -1
    return head[: key_end + 1] if key_end > 0 else head[:16]


def _cuts(data: bytes, signature: bytes) -> Iterator[int]:
    """Where a window may end, most likely first: the comma before the last few places where the bytes
    an element of this file starts with recur (a delivery's elements start alike), then the last comma.
    A wrong guess costs a decode, never a wrong cut."""
    end = len(data)
    for _ in range(_CUT_TRIES if signature else 0):
        at = data.rfind(signature, 0, end)
        if at <= 0:
            break
        end = at
        lo = max(0, at - _BLANKS_BEFORE_ELEMENT)
        before = data[lo:at].rstrip(_BLANK_BYTES)
        if before.endswith(b","):
            yield lo + len(before) - 1
    last = data.rfind(b",")
    if last >= 0:
        yield last


def _window(text: bytes, rules: ScanRules, count: int, base: int) -> list[Piece] | None:
    """The elements of the JSON array ``text`` (``base``: its offset in the delivery), or None where
    msgspec refuses it (not JSON, or nested beyond its own recursion limit), it nests deeper than the
    rules allow, or an element is of a kind the format cannot read or oversized where that stops the file.
    """
    try:
        elements = _ELEMENTS.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return None
    if _depth(text, rules.max_depth) > rules.max_depth:
        return None
    pieces: list[Piece] = []
    position = 1
    for index, element in enumerate(elements, count + 1):
        view = memoryview(element)
        kind = _KIND.get(view[0], "scalar")
        size = len(view)
        if kind not in rules.element_kinds or (size > rules.max_item_bytes and rules.oversized == "fail"):
            return None
        # Between two elements stand only blanks and one comma: each offset follows from the one before.
        separator = _SEPARATOR.match(text, position)
        assert separator is not None  # the pattern matches the empty string
        position = separator.end()
        pieces.append(
            Piece(index, kind, None if size > rules.max_item_bytes else bytes(view), size, base + position)
        )
        position += size
    return pieces


def _depth(data: bytes, limit: int) -> int:
    """How deep JSON text ``data`` (already known to be JSON) nests, counted up to ``limit + 1``.

    Without the escaped backslashes and quotes, every quote opens or closes a string; of the quotes and
    brackets alone, quotes side by side are dropped (that never changes which brackets lie inside a
    string), the strings left — those holding a bracket — are cut out, and each round of removing every
    adjacent bracket pair removes exactly the innermost level. All of it is C over the bytes.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(_BRACKETS_ONE_KIND, _NOT_QUOTE_OR_BRACKET).replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    depth = 0
    while marks and depth <= limit:
        marks = marks.replace(b"[]", b"")
        depth += 1
    return depth


class _Scanner:
    def __init__(self, rules: ScanRules) -> None:
        self.rules = rules
        self.state = _START
        self.stack = bytearray()  # open brackets, the outer array's included
        self.in_string = False
        self.escaped = False
        self.in_scalar = False
        self.count = 0
        self.value: _Value | None = None

    # -- values -----------------------------------------------------------------------------------

    def _keep(self, data: bytes) -> None:
        value = self.value
        assert value is not None
        value.size += len(data)
        if value.dropped:
            return
        if value.size > self.rules.max_item_bytes:
            if self.rules.oversized == "fail":
                raise self.rules.error(
                    "oversized",
                    f"{self.rules.item} {value.index} is larger than {self.rules.max_item_bytes} bytes",
                )
            value.parts.clear()
            value.dropped = True
            return
        value.parts.append(data)

    def _finish(self) -> Piece:
        value = self.value
        assert value is not None
        self.value = None
        self.state = _ARRAY_NEXT if self.state in (_ARRAY_FIRST, _ARRAY_VALUE) else self.state
        data = None if value.dropped else b"".join(value.parts)
        return Piece(value.index, value.kind, data, value.size, value.offset)

    # -- the scan -----------------------------------------------------------------------------------

    def in_array(self, count: int, *, after_comma: bool) -> None:
        """Go on inside the outer array after ``count`` elements (and the comma after the last one)."""
        self.stack = bytearray(b"[")
        self.state = _ARRAY_VALUE if after_comma else _ARRAY_FIRST
        self.count = count

    def run(self, chunk: bytes, source: Readable, offset: int = 0) -> Iterator[Piece]:
        """Scan ``chunk`` — the delivery from byte ``offset`` on — and then the rest of ``source``."""
        rules = self.rules
        chunk = chunk or source.read(CHUNK)
        while chunk:
            if rules.max_total_bytes is not None and offset + len(chunk) > rules.max_total_bytes:
                raise rules.error(
                    "too_large", f"the file exceeds the upload limit of {rules.max_total_bytes} bytes"
                )
            start = 0  # where the current value starts in this chunk
            pos, n = 0, len(chunk)
            while pos < n:
                if self.value is None:
                    pos = self._between(chunk, pos, offset)
                    if self.value is None:
                        continue
                    start = pos
                    pos = self._open(chunk, pos)
                ended, pos = self._inside(chunk, pos, offset)
                if ended:
                    self._keep(chunk[start:pos])
                    yield self._finish()
            if self.value is not None:
                self._keep(chunk[start:])
            offset += len(chunk)
            chunk = source.read(CHUNK)
        self._end(offset)

    def _between(self, chunk: bytes, pos: int, offset: int) -> int:
        """Outside any value: blanks, the outer array's brackets and commas; start the next value."""
        byte = chunk[pos]
        if byte in _SPACE:
            blanks = _BLANKS.match(chunk, pos)
            assert blanks is not None
            return blanks.end()
        at = offset + pos
        state = self.state
        if state in (_START, _TOP):
            if byte == ord("[") and state == _START:
                self.stack.append(byte)
                self.state = _ARRAY_FIRST
                return pos + 1
            if not self.rules.sequence:
                raise self.rules.error("not_array", "a JSON delivery is one array of values")
            if byte != ord("{"):
                raise self.rules.error(
                    "malformed",
                    f"unexpected {chr(byte)!r} at byte {at}: each {self.rules.item} is a JSON object",
                )
            self.state = _TOP
            self._begin(byte, at)
            return pos
        if state == _DONE:
            raise self.rules.error("trailing", f"there is data after the end of the JSON array, at byte {at}")
        if byte == ord("]"):
            if state == _ARRAY_VALUE:
                raise self.rules.error("malformed", f"a comma before the end of the JSON array, at byte {at}")
            self.stack.pop()
            self.state = _DONE
            return pos + 1
        if byte == ord(","):
            if state != _ARRAY_NEXT:
                raise self.rules.error("malformed", f"an empty element in the JSON array at byte {at}")
            self.state = _ARRAY_VALUE
            return pos + 1
        if state == _ARRAY_NEXT:
            raise self.rules.error("malformed", f"a comma is missing between two values, at byte {at}")
        if byte in (ord("}"), ord("]")):
            raise self.rules.error("malformed", f"unbalanced {chr(byte)!r} at byte {at}")
        self._begin(byte, at)
        return pos

    def _begin(self, byte: int, at: int) -> None:
        kind = _KIND.get(byte, "scalar")
        if kind not in self.rules.element_kinds:
            raise self.rules.error(
                "malformed", f"unexpected {chr(byte)!r} at byte {at}: {self.rules.element_hint}"
            )
        self.count += 1
        self.value = _Value(self.count, kind, at)

    def _open(self, chunk: bytes, pos: int) -> int:
        """Step over the first byte (or the whole token) of the value that starts at ``pos``."""
        assert self.value is not None
        kind = self.value.kind
        if kind == "scalar":
            self.in_scalar = True
            return pos
        if kind == "string":
            self.in_string = True
            return pos + 1
        self.stack.append(chunk[pos])
        self._check_depth(self.value.offset)
        return pos + 1

    def _check_depth(self, at: int) -> None:
        if len(self.stack) > self.rules.max_depth:
            raise self.rules.error(
                "too_deep",
                f"nesting deeper than {self.rules.max_depth} levels at byte {at}; refused before parsing",
            )

    def _inside(self, chunk: bytes, pos: int, offset: int) -> tuple[bool, int]:
        """Scan inside the current value: (True, end) when it ends at ``end``, (False, len) if it goes on."""
        base = 1 if self.state in (_ARRAY_FIRST, _ARRAY_VALUE) else 0
        n = len(chunk)
        while pos < n:
            if self.in_scalar:
                m = _SCALAR.match(chunk, pos)
                end = m.end() if m else pos
                if end == n:
                    return False, n  # the scalar may go on in the next chunk
                self.in_scalar = False
                return True, end
            if self.in_string:
                if self.escaped:
                    self.escaped, pos = False, pos + 1
                    continue
                m = _INSIDE.search(chunk, pos)
                if m is None:
                    return False, n
                pos = m.end()
                if m.group() == b"\\":
                    self.escaped = True
                    continue
                self.in_string = False
                if len(self.stack) == base:  # the value was this string
                    return True, pos
                continue
            # One regex match per bracket or per whole string (strings are half the tokens of a
            # credential and may be long base64 images), until the value closes or a string runs past
            # the chunk's end (then the slow path above follows it).
            for m in _NEXT_BRACKET.finditer(chunk, pos):
                pos = m.end()
                token = m.group(1)
                if not token:
                    return False, n
                byte = token[0]
                if byte == ord('"'):
                    self.in_string = True
                    break
                if byte in (ord("{"), ord("[")):
                    self.stack.append(byte)
                    self._check_depth(offset + pos - 1)
                    continue
                if not self.stack or self.stack[-1] != _OPEN[byte]:
                    raise self.rules.error(
                        "malformed", f"unbalanced {chr(byte)!r} at byte {offset + pos - 1}"
                    )
                self.stack.pop()
                if len(self.stack) == base:
                    return True, pos
            else:
                return False, n
        return False, n

    def _end(self, offset: int) -> None:
        if self.value is not None or self.state in (_ARRAY_FIRST, _ARRAY_VALUE, _ARRAY_NEXT):
            raise self.rules.error(
                "truncated",
                f"the JSON ends in the middle of a value (at byte {offset}): the file is truncated or broken",
            )
        if self.state == _START:
            raise self.rules.error(
                "empty", f"the file holds no {self.rules.item} (it is empty or only whitespace)"
            )
