"""ELMO documents delivered before: cut out of the file by a byte scan, and not parsed again.

The protocol is ``register.ingest.known_input``'s; the raw record is one ``elmo`` element of a batch
file. ``open_root`` and ``cut_content`` find them by bytes, far faster than an XML parse, as the file
streams (``importer._Resend``), and only in the one shape they can be sure of:

- UTF-8 (no UTF-16 mark, no other declared encoding), a prolog of whitespace, comments and PIs only (a
  DOCTYPE: nothing is cut, and the parser refuses it), a root element that is not itself ``elmo``,
  whose children are ``elmo`` elements in the ELMO namespace (resolved from the root's declarations
  or the element's own), with whitespace, comments and PIs between them;
- an ``elmo`` element ends at the first ``</qname>`` after its start tag; that is sound because
  ``<`` cannot occur in text or attribute values, and the scan refuses an element holding ``<!``
  (comment, CDATA) or ``<?`` (a PI), or a start tag of the same name (nesting);
- a file the importer verifies whole (at most ``SIGNED_DOCUMENT_LIMIT``) is cut only where its bytes
  hold no XML-DSig namespace at all: ``verify_document`` then says "absent" without parsing, and no
  signature covers what lies between documents. A larger file's signature is never verified (the
  reader reports a signed document as not verified, a warning): its documents are cut either way.

Anything else — at the start: the file is read in full; later (text in the batch, another element, a
nested ``elmo``, a document over ``CHUNK_BYTES``) — is a doubt, and the cutting stops there: the rest
of the file is parsed as always. Documents already skipped stay sound: each was a whole ``elmo`` child
of the root, and what follows cannot change what it makes.

Why a known document may be skipped (the soundness argument): what the importer makes of one
``elmo`` element — its records, its warnings, its rejections, its share of the batch details
(learners, reports, records, ELMO version) — is computed from that element's subtree alone (the
reader resets learner, attachments and report count at each ``elmo`` start), read under the in-scope
namespaces, ``xml:`` attributes and encoding (the root's start tag and the XML declaration), the
sector, the depth limit and the signature settings and mode (all in the digest's context), and the
element's position (``elmo[i]``, only in references: the note keeps the references without it and
they are rebuilt). Across documents the reader shares only the per-code warning counts: a document
with any warning (listed or only counted) is not remembered, so a known one adds none. The whole file
minus the known documents is still parsed — the prolog, the root, the bytes between documents and
every unknown document — and each known document is replaced by whitespace keeping its line count and
the length of its last line, so a syntax error elsewhere names the line a full read names.

Work and memory: every ``find`` runs over one document or the bytes between two, and an unfinished
item is scanned again only once the buffer has doubled, so the work is linear in the file; the
buffer holds at most ``CHUNK_BYTES`` of an unfinished item (more: a doubt), and the cut documents
awaiting their lookup at most ``CHUNK_RECORDS`` and ``CHUNK_BYTES``. ``cut`` is the same scan over a
whole file in memory (at most ``MAX_DOCUMENTS``), for tests and tools.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from importers.higher.elmo.reader import DSIG_NS
from register.namespaces import ELMO_NS

_WHITESPACE = b" \t\r\n"
_NAME = rb"[^\s/>!?<=\"']+"
# A start tag; an attribute value may hold ">" but never "<" (XML 1.0, AttValue).
_START = re.compile(rb"<(" + _NAME + rb")((?:\s+" + _NAME + rb"\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)\s*(/?)>")
_ATTR = re.compile(rb"(" + _NAME + rb")\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENCODING = re.compile(rb"\sencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


#: documents one file may be cut into: the offsets, digests and lookups are kept for all of them at
#: once (about 200 bytes each); a learner with one report takes ~1 KB, so 16 MiB holds far fewer
MAX_DOCUMENTS = 50_000


@dataclass(frozen=True, slots=True)
class Root:
    """The batch's root element: where its content starts, its namespaces, and the context (the XML
    declaration and the root's start tag) every document of the file is read under."""

    end: int
    scope: dict[bytes, bytes]
    closing: re.Pattern[bytes]
    context: bytes
    name: bytes  # the root's qualified name, as its start tag writes it


@dataclass(frozen=True, slots=True)
class Cut:
    """The file's ``elmo`` elements as (start, end) offsets, and the context they are read under."""

    documents: list[tuple[int, int]]
    context: bytes


def open_root(head: bytes) -> Root | None:
    """The root of a batch whose prolog and root start tag are in ``head``; None where in doubt."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    declaration = b""
    if head.startswith(b"<?xml", pos) and head[pos + 5 : pos + 6] in (b" ", b"\t", b"\r", b"\n"):
        end = head.find(b"?>", pos)
        if end < 0:
            return None
        declaration = head[pos : end + 2]
        encoding = _ENCODING.search(declaration)
        if encoding is not None and encoding[1].lower() not in (b"utf-8", b"utf8"):
            return None
        pos = end + 2
    prolog_end = _misc(head, pos)
    if prolog_end is None or head.startswith((b"<!", b"<?"), prolog_end):
        return None  # a DOCTYPE, or no root
    root = _START.match(head, prolog_end)
    if root is None or root[3] or _local(root[1]) == b"elmo":
        return None
    scope = _namespaces(root[2], {})
    if scope is None:
        return None
    closing = re.compile(rb"</" + re.escape(root[1]) + rb"[ \t\r\n]*>")
    context = json.dumps([declaration.hex(), root[0].hex()]).encode()
    return Root(root.end(), scope, closing, context, root[1])


def cut_content(data: bytes, pos: int, root: Root, final: bool) -> tuple[list[tuple[int, int]], int, str]:
    """The whole documents in ``data`` from ``pos`` (a point between the root's children), where the
    scan stopped (again such a point) and why: "end" (at the root's end tag), "more" (an item is not
    complete in ``data``; call again with more from the point returned) or "doubt" (cut no further)."""
    documents: list[tuple[int, int]] = []
    while True:
        lt = data.find(b"<", pos)
        if data[pos : len(data) if lt < 0 else lt].translate(None, _WHITESPACE):
            return documents, pos, "doubt"  # text in the batch
        if lt < 0:
            return documents, pos, "doubt" if final else "more"
        if data.startswith((b"<!--", b"<?"), lt):
            skipped = _skip(data, lt)
            if skipped is None:
                return documents, pos, "doubt" if final or data.startswith(b"<![", lt) else "more"
            pos = skipped
            continue
        if data.startswith(b"<!", lt):
            return documents, pos, "doubt"
        if data.startswith(b"</", lt):
            if root.closing.match(data, lt) is not None:
                return documents, lt, "end"
            return documents, pos, "doubt" if final or data.find(b">", lt) >= 0 else "more"
        document = _document(data, lt, root.scope)
        if document is None:
            return documents, pos, "doubt"
        if document < 0:
            return documents, pos, "doubt" if final else "more"
        documents.append((lt, document))
        pos = document


def cut(data: bytes, policy: list[object]) -> Cut | None:
    """The documents of a whole batch file in memory, or None where the file is not of the one shape
    this scan is sure of (also: a signature anywhere, too many documents)."""
    if DSIG_NS.encode() in data:
        return None
    root = open_root(data)
    if root is None:
        return None
    documents, pos, status = cut_content(data, root.end, root, True)
    closing = root.closing.match(data, pos)
    if status != "end" or closing is None or _misc(data, closing.end()) != len(data):
        return None
    if not documents or len(documents) > MAX_DOCUMENTS:
        return None
    return Cut(documents, context(root, policy))


def context(root: Root, policy: list[object]) -> bytes:
    return json.dumps([root.context.decode(), policy], default=str).encode()


def _document(data: bytes, lt: int, scope: dict[bytes, bytes]) -> int | None:
    """Where the ``elmo`` element starting at ``lt`` ends; -1 where it does not end in ``data``; None
    where in doubt."""
    start = _START.match(data, lt)
    if start is None:
        return -1 if data.find(b">", lt) < 0 else None
    if _local(start[1]) != b"elmo":
        return None
    own = _namespaces(start[2], scope)
    qname = start[1]
    prefix = qname.rpartition(b":")[0] if b":" in qname else b""
    if own is None or own.get(prefix) != ELMO_NS.encode():
        return None
    if start[3]:
        return start.end()
    body = start.end()
    close = data.find(b"</" + qname, body)
    # "<!" (comment, CDATA), "<?" (PI) or a nested start of the same name: the first "</qname" is
    # then not certainly this element's end
    for inside in (b"<!", b"<?", b"<" + qname):
        if data.find(inside, body, len(data) if close < 0 else close) >= 0:
            return None
    if close < 0:
        return -1
    tail = close + 2 + len(qname)
    while tail < len(data) and data[tail] in _WHITESPACE:
        tail += 1
    if tail >= len(data):
        return -1
    if not data.startswith(b">", tail):
        return None
    return tail + 1


def _namespaces(attributes: bytes, scope: dict[bytes, bytes]) -> dict[bytes, bytes] | None:
    """The in-scope namespace declarations (prefix → name, b"" the default) after a start tag's own."""
    out = dict(scope)
    for attr in _ATTR.finditer(attributes):
        name, value = attr[1], attr[2] if attr[2] is not None else attr[3]
        if name == b"xmlns" or name.startswith(b"xmlns:"):
            if b"&" in value:  # a reference in a namespace name: not compared by bytes
                return None
            out[name[6:]] = value
    return out


def _local(qname: bytes) -> bytes:
    return qname.rpartition(b":")[2]


def _skip(data: bytes, lt: int) -> int | None:
    """Past the comment or PI at ``lt``."""
    close = b"-->" if data.startswith(b"<!--", lt) else b"?>"
    end = data.find(close, lt + 2)
    return None if end < 0 else end + len(close)


def _misc(data: bytes, pos: int) -> int | None:
    """Past whitespace, comments and PIs from ``pos``."""
    while True:
        while pos < len(data) and data[pos] in _WHITESPACE:
            pos += 1
        if data.startswith((b"<!--", b"<?"), pos):
            skipped = _skip(data, pos)
            if skipped is None:
                return None
            pos = skipped
            continue
        return pos


def blank(document: bytes) -> bytes:
    """Whitespace in place of a known document: the same lines, the last as long (in characters), so
    the parser's positions after it are a full read's."""
    lines = document.count(b"\n")
    last = document[document.rfind(b"\n") + 1 :]
    return b"\n" * lines + b" " * len(last.decode("utf-8", errors="replace"))


def note(reports: int, version: str | None, refs: list[str], where: str) -> str | None:
    """What a document adds to the batch details, and its records' references without ``elmo[i]``;
    None where a reference does not start so (the document is then not remembered)."""
    if not all(ref.startswith(where) for ref in refs):
        return None
    return json.dumps([reports, version, [ref[len(where) :] for ref in refs]])


#: what a known document's note gives back: its reports, its learner's ELMO version, its records' references
Replay = tuple[int, str | None, list[str]]


def replay(text: str) -> Replay:
    reports, version, refs = json.loads(text)
    return int(reports), version, list(refs)
