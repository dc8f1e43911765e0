"""Secure, streaming reading of ELMO XML: one ``elmo`` element (one learner) at a time.

The parser never resolves entities, never loads a DTD and never touches the network; a DOCTYPE is
refused before the parser sees it (billion laughs, external entities). Depth is bounded by settings,
and so is the number of elements in one report, so memory stays bounded by the largest report, not
by the file. ``elmo`` elements are found at any depth: a plain ELMO document, an EWP
transcript-of-records response that embeds one, or a batch file whose root wraps many.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lxml import etree

from importers.base import UnusableInput
from register.namespaces import ELMO_NS

LEGACY_NS = "http://purl.org/net/elmo"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
# "" is ELMO written without its namespace: the EMREX implementation guide's own example and Danish
# STADS output do that. Such a document is read as ELMO when its root is ``elmo`` (see is_bare_elmo).
NO_NS = ""
ELMO_NAMESPACES = (ELMO_NS, LEGACY_NS, NO_NS)

PROLOG_LIMIT = 64 * 1024
# A transcript with 60 courses has about 2 000 elements; a report a hundred times larger is not one.
MAX_REPORT_ELEMENTS = 500_000


@dataclass(frozen=True, slots=True)
class Event:
    """A finished direct child of an ``elmo`` element (or the elmo start/end)."""

    kind: str  # elmo_start, learner, report, attachment, signature, other, elmo_end; fed (ticks)
    element: etree._Element
    ns: str
    elmo_index: int  # 1-based count of elmo elements in the file


_BARE_ROOT = re.compile(rb"\A(?:\s|<\?.*?\?>|<!--.*?-->)*<elmo(?P<attrs>(?:\s[^>]*)?)/?>", re.DOTALL)


def is_bare_elmo(head: bytes) -> bool:
    """True when the document's root element is ``elmo`` in no namespace (a default xmlns would name one)."""
    match = _BARE_ROOT.match(head.removeprefix(b"\xef\xbb\xbf"))
    return match is not None and re.search(rb"\sxmlns\s*=", match["attrs"]) is None


def secure_parser() -> etree.XMLParser:
    """A whole-document parser with the same refusals as the streaming one (comments kept)."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def check_prolog(head: bytes) -> bool:
    """Raise if the prolog declares a DTD; True once the root element's start has been seen."""
    return _root_start(_as_text(head), len(head)) is not None


_QNAME = re.compile(r"<([^\s/>]+)")


def _root_local_name(head: bytes) -> str | None:
    """The root element's local name, from the start of the document (None: not in ``head``, or not a
    name — the parser then refuses the document, and lxml would refuse it as a tag to look for)."""
    text = _as_text(head)
    start = _root_start(text, len(head))
    match = _QNAME.match(text, start) if start is not None else None
    if match is None:
        return None
    name = match[1].rpartition(":")[2]
    try:
        etree.QName(name)
    except ValueError:
        return None
    return name


def _root_start(text: str, head_bytes: int) -> int | None:
    """Where the root element's start tag begins in the prolog's ``text``; raise if the prolog declares
    a DTD (or runs on without a root for ``PROLOG_LIMIT`` bytes, ``head_bytes`` of them read)."""
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= len(text):
            break
        if text.startswith("<?", pos):
            end, close = text.find("?>", pos), 2
        elif text.startswith("<!--", pos):
            end, close = text.find("-->", pos), 3
        elif text.startswith("<!", pos):
            raise UnusableInput(
                "xml.doctype",
                "the document declares a DOCTYPE; DTDs and entity declarations are refused"
                " (they can expand without bound or read local files)",
            )
        elif text.startswith("<", pos):
            return pos
        else:
            raise UnusableInput("xml.syntax", "the document has text before its root element")
        if end < 0:
            break
        pos = end + close
    if head_bytes >= PROLOG_LIMIT:
        raise UnusableInput("xml.prolog_too_long", f"no root element in the first {PROLOG_LIMIT} bytes")
    return None


def _as_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) - len(head) % 2].decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


def syntax_error(exc: etree.XMLSyntaxError) -> UnusableInput:
    message = str(exc.msg or exc)
    if "depth" in message.lower():
        return UnusableInput("xml.too_deep", f"the XML nests too deeply ({message})")
    if "resource limit" in message.lower():
        return UnusableInput(
            "xml.node_too_large",
            f"a text node (an attachment?) is over the parser's 10 MB limit: {message}",
        )
    return UnusableInput("xml.syntax", f"the document is not well-formed XML: {message}")


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def namespace(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return ""
    return tag[1:].partition("}")[0]


FEED_BYTES = 64 * 1024


def _slices(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), FEED_BYTES):
        yield data[start : start + FEED_BYTES]


#: the element of a ``fed`` event, which has none
FED = etree.Element("fed")


#: the direct children of ``elmo`` the importer reads, each an event of its name; any other child is an
#: ``other`` event (and an XML-DSig ``Signature`` a ``signature`` one)
_READ_CHILDREN = frozenset({"learner", "report", "attachment"})
_COUNT_ELEMENTS = etree.XPath("count(.//*)")


@functools.lru_cache(maxsize=256)
def _nesting_probe(levels: int) -> etree.XPath:
    """True when the element has a descendant ``levels`` levels below it (evaluated by libxml2)."""
    return etree.XPath("boolean(" + "/".join(["*"] * levels) + ")")


def iter_events(
    chunks: Iterator[bytes],
    *,
    max_depth: int,
    index_of: Callable[[int], int] | None = None,
    ticks: bool = False,
) -> Iterator[Event]:
    """Stream the XML and yield each finished direct child of every ``elmo`` element.

    ``index_of``: where the file's known documents were left out (``known_documents``), the file's
    index of the n-th ``elmo`` element fed, so events and messages name it as a full read does.
    ``ticks``: also a ``fed`` event after each chunk (an empty one too), so that the consumer has a
    turn while chunks hold no elements (where the documents are read elsewhere, ``parallel``).

    After the consumer has handled an event the element is cleared and dropped, so the tree never
    holds more than the current report.

    The parser reports only the elements this needs — ``elmo`` and the children the importer reads,
    by local name, and the root's name, for a handle on the tree — and libxml2 walks the rest without
    Python: a start and an end event for every element were 40 % of reading a batch fed whole (245 224
    events for 5 056 records; 1 764 now), far less of one fed document by document, as an import cuts
    it (docs/performance.md, "ELMO: libxml2 walks …"). The limits are still checked on every element,
    in libxml2 too: a finished subtree by XPath probes before it is yielded or dropped, the elements
    still open after each slice by their path from the root (the last child at each level of a tree
    being built).
    """
    source = iter(chunks)
    head = b""
    for chunk in source:
        head += chunk
        if check_prolog(head[:PROLOG_LIMIT]):
            break
    else:
        check_prolog(head)
    if not head.strip():
        raise UnusableInput("elmo.empty", "the document is empty")

    wanted = ["{*}elmo", "{*}Signature", *("{*}" + name for name in sorted(_READ_CHILDREN))]
    root_name = _root_local_name(head[:PROLOG_LIMIT])
    if root_name is not None:
        wanted.append("{*}" + root_name)
    parser = etree.XMLPullParser(
        events=("start", "end"),
        tag=wanted,
        remove_comments=True,
        remove_pis=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )
    root: etree._Element | None = None
    elmo: etree._Element | None = None  # the elmo element being read
    elmo_depth = 0
    elmo_ns = ""
    elmo_count = elmo_index = 0
    handled: etree._Element | None = None  # the elmo's last child yielded (cleared, kept in place)

    def too_deep() -> UnusableInput:
        return UnusableInput("xml.too_deep", f"the XML nests deeper than the limit of {max_depth} levels")

    def check_subtree(element: etree._Element, depth: int, in_report: bool) -> None:
        """The limits on a finished subtree whose top stands at ``depth``."""
        if depth > max_depth or _nesting_probe(max_depth - depth + 1)(element):
            raise too_deep()
        if in_report and _COUNT_ELEMENTS(element) > MAX_REPORT_ELEMENTS:
            raise UnusableInput(
                "elmo.report_too_large",
                f"one report of learner {elmo_index} has more than {MAX_REPORT_ELEMENTS} elements",
            )

    def depth_of(element: etree._Element) -> int:
        return 1 + sum(1 for _ in element.iterancestors())

    def drop(element: etree._Element) -> None:
        element.clear(keep_tail=False)
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]

    def others_before(child: etree._Element | None) -> Iterator[Event]:
        """The elmo's children before ``child`` (None: all) not yet yielded: those the importer does
        not read. Every child before the last one yielded was dropped with it."""
        assert elmo is not None
        pending = []
        node = child.getprevious() if child is not None else (elmo[-1] if len(elmo) else None)
        while node is not None and node is not handled:
            pending.append(node)
            node = node.getprevious()
        for other in reversed(pending):
            check_subtree(other, elmo_depth + 1, True)
            yield Event("other", other, elmo_ns, elmo_index)

    def clean_before(element: etree._Element, depth: int) -> None:
        """Drop what precedes ``element`` (at ``depth``) and its ancestors: finished, whatever the parser
        has read since."""
        node, parent = element, element.getparent()
        while parent is not None:
            for finished in list(node.itersiblings(preceding=True)):
                check_subtree(finished, depth, False)
                parent.remove(finished)
            node, parent, depth = parent, parent.getparent(), depth - 1

    def settle_open_path() -> None:
        """Down the path of the elements still open (the last child at each level), after a slice's
        events — while they are handled, the tree holds what the parser read since: the limits on each,
        the finished elements beside the path dropped (outside any elmo) or, the elmo's unfinished
        child, checked so far."""
        node, depth = root, 1
        while node is not None:
            if depth > max_depth:
                raise too_deep()
            if node is elmo:
                if len(elmo) and elmo[-1] is not handled:
                    check_subtree(elmo[-1], depth + 1, True)
                return
            if not len(node):
                return
            for finished in list(node)[:-1]:
                check_subtree(finished, depth + 1, False)
                node.remove(finished)
            node, depth = node[-1], depth + 1

    def feed(data: bytes | None) -> None:
        try:
            if data is None:
                parser.close()
            else:
                parser.feed(data)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc) from None

    def events() -> Iterator[tuple[str, etree._Element]]:
        try:
            yield from parser.read_events()
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc) from None

    def all_input() -> Iterator[bytes | None]:
        # Fed in slices, so that the depth and size checks run every FEED_BYTES, whatever the chunks.
        yield from _slices(head)
        for data in source:
            yield from _slices(data)
            if ticks:
                yield b""  # a turn for the consumer
        yield None  # end of input: close the parser

    for data in all_input():
        if data == b"":
            yield Event("fed", FED, "", 0)
            continue
        feed(data)
        for action, element in events():
            if root is None:
                root = element.getroottree().getroot()
                info = element.getroottree().docinfo
                if info.doctype or info.internalDTD is not None:
                    raise UnusableInput("xml.doctype", "the document declares a DOCTYPE; refused")
            if elmo is None:
                if (
                    action == "start"
                    and local_name(element) == "elmo"
                    and namespace(element) in ELMO_NAMESPACES
                ):
                    elmo, elmo_depth, elmo_ns = element, depth_of(element), namespace(element)
                    clean_before(element, elmo_depth)
                    if elmo_depth > max_depth:
                        raise too_deep()
                    elmo_count += 1
                    elmo_index = elmo_count if index_of is None else index_of(elmo_count)
                    handled = None
                    yield Event("elmo_start", element, elmo_ns, elmo_index)
                continue
            if action != "end":
                continue
            if element is elmo:
                yield from others_before(None)
                yield Event("elmo_end", element, elmo_ns, elmo_index)
                drop(element)
                elmo = handled = None
                continue
            if element.getparent() is not elmo:
                continue  # a deeper element of the same name
            name, ns = local_name(element), namespace(element)
            if ns == elmo_ns and name in _READ_CHILDREN:
                kind = name
            elif ns == DSIG_NS and name == "Signature":
                kind = "signature"
            else:
                kind = "other"
            yield from others_before(element)
            check_subtree(element, elmo_depth + 1, True)
            yield Event(kind, element, elmo_ns, elmo_index)
            drop(element)
            handled = element
        if root is not None:
            settle_open_path()
    if elmo_count == 0 and index_of is None:  # with index_of the caller knows what it left out
        raise no_elmo()


def no_elmo() -> UnusableInput:
    return UnusableInput(
        "elmo.no_elmo",
        f"the document has no elmo element in the namespace {ELMO_NS} (nor the legacy {LEGACY_NS},"
        " nor in no namespace)",
    )
