"""docs/graphql.md shows the schema the server runs, and every code GraphQL adds is in docs/errors.md."""

from __future__ import annotations

import re
from pathlib import Path

from api.graphql.schema import build_schema
from register.settings import Settings

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_the_documented_schema_is_the_running_schema() -> None:
    text = (DOCS / "graphql.md").read_text()
    [documented] = re.findall(r"```graphql\n(.*?)```", text, flags=re.S)[:1]
    running = build_schema(Settings(database_url="postgresql://localhost/x")).as_str()
    assert documented.strip() == running.strip(), "regenerate the schema block of docs/graphql.md"


def test_every_code_graphql_adds_is_listed() -> None:
    errors = (DOCS / "errors.md").read_text()
    sources = "\n".join(p.read_text() for p in (DOCS.parent / "api" / "graphql").glob("*.py"))
    patterns = (
        r'ApiError\(\s*\d+,\s*"([a-z_]+\.[a-z_]+)"',  # raised by a resolver or the router
        r'"code": "([a-z_]+\.[a-z_]+)"',  # set by a validation rule or limit
        r'return "([a-z_]+\.[a-z_]+)", \d+',  # given to a GraphQL error by its class
    )
    codes = {code for pattern in patterns for code in re.findall(pattern, sources)}
    assert codes >= {"graphql.query_string", "query.too_deep", "query.too_costly", "specification.not_found"}
    for code in sorted(codes):
        assert f"`{code}`" in errors, code
