"""Validating EDM messages: the RegRep 4.0 schemas with the SDG profile, and the EDM Schematron rules.

A rule set is a folder (``Settings.oots_validation_dir``, else the one shipped in ``schemas/``):

- ``xsd/oots-edm-driver.xsd`` — one schema that imports RegRep query/rs/lcm and the SDG profile;
  ``catalog.xml`` (OASIS XML catalog, optional) maps the absolute schema URLs the schemas import to
  files of the folder, so nothing is ever fetched;
- ``sch/<kind>/*.sch`` — Schematron for ``request``, ``response`` (Success) and ``exception``
  (Failure), in the subset the TDD's structure rules use (``ns``, ``pattern``, ``rule``, ``let``,
  ``assert``, ``report``), run through ``compile_schematron`` with SaxonC-HE (XPath 2: lxml's XSLT 1.0
  cannot);
- ``xslt/<kind>/*.xsl`` — Schematron an operator compiled elsewhere (e.g. the 2.0.1 rules with their
  ``codelist-include/``, compiled with SchXslt), run as they are; their SVRL output is read alike.

The shipped folder is the TDD 2022-Q4 release (EDM 1.0 draft); schemas/README.md says where each file
comes from. An operator who has the 2.0.1 artefacts lays them out the same way (docs/oots.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from register.namespaces import QUERY_NS

SHIPPED = Path(__file__).parent / "schemas"
SCH_NS = "http://purl.oclc.org/dsdl/schematron"
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
_CATALOG_NS = "urn:oasis:names:tc:entity:xmlns:xml:catalog"
KINDS = ("request", "response", "exception")


@dataclass(frozen=True, slots=True)
class FailedAssert:
    id: str | None
    role: str | None
    location: str
    text: str


@dataclass(frozen=True, slots=True)
class Report:
    schema_errors: tuple[str, ...]
    failed_asserts: tuple[FailedAssert, ...]

    @property
    def schema_valid(self) -> bool:
        return not self.schema_errors

    def failed_ids(self) -> set[str]:
        return {f.id or f.text for f in self.failed_asserts}


def kind_of(root: etree._Element) -> str:
    """``request``, ``response`` or ``exception``: which rules apply to a message."""
    if root.tag == f"{{{QUERY_NS}}}QueryRequest":
        return "request"
    return "response" if (root.get("status") or "").endswith(":Success") else "exception"


class _CatalogResolver(etree.Resolver):
    def __init__(self, mapping: dict[str, Path]) -> None:
        super().__init__()
        self._mapping = mapping

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        local = self._mapping.get(system_url or "")
        return self.resolve_filename(str(local), context) if local is not None else None


def _catalog(folder: Path) -> dict[str, Path]:
    path = folder / "catalog.xml"
    if not path.exists():
        return {}
    root = etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False)).getroot()
    return {
        uri.get("name", ""): (folder / uri.get("uri", "")).resolve()
        for uri in root.iter(f"{{{_CATALOG_NS}}}uri")
    }


class Validator:
    """The rules of one folder, compiled once (an XSD set and Saxon executables are dear to build)."""

    def __init__(self, folder: Path) -> None:
        from saxonche import PySaxonProcessor  # imported here: only validation needs a Saxon

        self.folder = folder
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        parser.resolvers.add(_CatalogResolver(_catalog(folder)))
        driver = etree.parse(str(folder / "xsd" / "oots-edm-driver.xsd"), parser)
        self._schema = etree.XMLSchema(driver)
        self._lock = threading.Lock()  # an XMLSchema object is not to be used by two threads at once
        self._saxon = PySaxonProcessor(license=False)
        compiler = self._saxon.new_xslt30_processor()
        self._rules: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        for kind in KINDS:
            for sch in sorted((folder / "sch" / kind).glob("*.sch")):
                text = compile_schematron(etree.parse(str(sch), parser).getroot())
                self._rules[kind].append(compiler.compile_stylesheet(stylesheet_text=text))
            for xsl in sorted((folder / "xslt" / kind).glob("*.xsl*")):
                self._rules[kind].append(compiler.compile_stylesheet(stylesheet_file=str(xsl)))

    def validate(self, message: bytes) -> Report:
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        root = etree.fromstring(message, parser)
        with self._lock:
            self._schema.validate(root)
            errors = tuple(f"line {e.line}: {e.message}" for e in self._schema.error_log)
        failed: list[FailedAssert] = []
        document = self._saxon.parse_xml(xml_text=message.decode("utf-8"))
        for executable in self._rules[kind_of(root)]:
            svrl = etree.fromstring(executable.transform_to_string(xdm_node=document).encode("utf-8"), parser)
            for node in svrl.iter(f"{{{SVRL_NS}}}failed-assert", f"{{{SVRL_NS}}}successful-report"):
                failed.append(
                    FailedAssert(
                        id=node.get("id"),
                        role=node.get("role") or node.get("flag"),
                        location=node.get("location", ""),
                        text=" ".join("".join(node.itertext()).split()),
                    )
                )
        return Report(errors, tuple(failed))


@lru_cache(maxsize=4)
def validator(folder: Path | None = None) -> Validator:
    return Validator(folder or SHIPPED)


def compile_schematron(schema: etree._Element) -> str:
    """An XSLT 3.0 stylesheet that writes SVRL for a Schematron schema (query binding xslt2/xslt3).

    Written here because the ISO skeleton is not packaged on PyPI or npm (docs/oots.md). ISO Schematron
    semantics kept: within a pattern a node is matched by the first rule whose context fits (rules
    in document order, earlier ones at higher priority), patterns independent of each other, ``let``
    as variables of the rule, ``assert`` failing when its test is false, ``report`` firing when true.
    Schemas that use ``include``, abstract patterns or phases are refused: compile those elsewhere and
    drop the XSLT into ``xslt/<kind>/``.
    """
    s = f"{{{SCH_NS}}}"
    for unsupported in ("include", "phase", "extends"):
        if schema.find(f".//{s}{unsupported}") is not None:
            raise ValueError(
                f"sch:{unsupported} is not supported here; compile this schema to XSLT elsewhere"
            )
    nsmap = {"xsl": XSL_NS, "svrl": SVRL_NS}
    for ns in schema.iter(f"{s}ns"):
        nsmap[ns.get("prefix", "")] = ns.get("uri", "")
    x = f"{{{XSL_NS}}}"
    sheet = etree.Element(f"{x}stylesheet", nsmap=nsmap, version="3.0")
    patterns = schema.findall(f"{s}pattern")
    top = etree.SubElement(sheet, f"{x}template", match="/")
    output = etree.SubElement(top, f"{{{SVRL_NS}}}schematron-output")
    for number, pattern in enumerate(patterns):
        mode = f"p{number}"
        etree.SubElement(output, f"{x}apply-templates", select=".", mode=mode)
        rules = pattern.findall(f"{s}rule")
        for order, rule in enumerate(rules):
            template = etree.SubElement(
                sheet, f"{x}template", match=rule.get("context", ""), mode=mode, priority=str(1000 - order)
            )
            for let in rule.findall(f"{s}let"):
                etree.SubElement(
                    template, f"{x}variable", name=let.get("name", ""), select=let.get("value", "")
                )
            for check in rule:
                if check.tag not in (f"{s}assert", f"{s}report"):
                    continue
                failing = check.tag == f"{s}assert"
                test = f"not({check.get('test')})" if failing else check.get("test", "")
                condition = etree.SubElement(template, f"{x}if", test=test)
                tag = "failed-assert" if failing else "successful-report"
                found = etree.SubElement(condition, f"{{{SVRL_NS}}}{tag}", test=check.get("test", ""))
                for name in ("id", "role", "flag"):
                    if check.get(name):
                        found.set(name, check.get(name, ""))
                etree.SubElement(
                    etree.SubElement(found, f"{x}attribute", name="location"), f"{x}value-of", select="path()"
                )
                etree.SubElement(found, f"{{{SVRL_NS}}}text").text = " ".join(
                    "".join(check.itertext()).split()
                )
            etree.SubElement(template, f"{x}apply-templates", select="@*|node()", mode=mode)
        walk = etree.SubElement(sheet, f"{x}template", match="@*|node()", mode=mode, priority="-10")
        etree.SubElement(walk, f"{x}apply-templates", select="@*|node()", mode=mode)
    return etree.tostring(sheet, encoding="unicode")
