"""The official ELMO schemas, loaded offline: remote schemaLocations resolved through the fixtures' catalog."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from tests.conftest import FORMATS_DIR

ELMO_DIR = FORMATS_DIR / "elmo"
CATALOG_NS = "urn:oasis:names:tc:entity:xmlns:xml:catalog"


class CatalogResolver(etree.Resolver):
    """Maps the URIs named in catalog.xml to the local copies beside it; anything else is refused."""

    def __init__(self, catalog: Path) -> None:
        super().__init__()
        root = etree.parse(str(catalog), etree.XMLParser(no_network=True, resolve_entities=False)).getroot()
        self.mapping = {
            entry.get("name", ""): (catalog.parent / entry.get("uri", "")).resolve()
            for entry in root.iter(f"{{{CATALOG_NS}}}uri")
        }

    def resolve(self, url, pubid, context):
        local = self.mapping.get(url)
        if local is not None:
            return self.resolve_filename(str(local), context)
        if url and Path(url).exists():
            return None  # a relative include next to the schema: let libxml2 read it
        raise LookupError(f"schema validation would need the network for {url}")


@cache
def elmo_schema(version: str = "v1.7.0") -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(CatalogResolver(ELMO_DIR / "catalog.xml"))
    document = etree.parse(str(ELMO_DIR / "schema" / version / "schema.xsd"), parser)
    return etree.XMLSchema(document)


def schema_errors(xml: bytes, version: str = "v1.7.0") -> list[str]:
    schema = elmo_schema(version)
    document = etree.fromstring(xml, etree.XMLParser(no_network=True, resolve_entities=False))
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
