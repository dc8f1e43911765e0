"""SQL-injection strings in every parameter and every text field of every endpoint, read from the running
server's own OpenAPI document, so that an endpoint added later is covered without editing this test.

Each request is sent with a token holding every scope (the injection must fail on its own, not on
authorisation). Every answer must be a client error in problem+json, or a normal answer (a filter that
matches nothing is not an error); never a 5xx. Afterwards every table is still there, the register's
content is unchanged and the audit chain verifies.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine, text

from register import audit
from tests.hostile.corpus import Ctx
from tests.reliability.server import ADMIN, READ, STATS, WRITE, Served

pytestmark = pytest.mark.slow

INJECTIONS = (
    "' OR '1'='1",
    "1; DROP TABLE person; --",
    '" OR ""="',
    "%' UNION SELECT value, kind FROM person_identifier --",
    "$1) OR (1=1",
    "nul\x00byte",  # PostgreSQL text cannot hold NUL
    "lone\ud800surrogate",  # valid JSON (\ud800), not encodable as UTF-8
)
#: uploads are the hostile corpus's business (bodies are deliveries, not fields)
SKIP = {("post", "/v1/batches"), ("post", "/graphql")}

CONTENT = """
SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM person_identifier), (SELECT count(*) FROM achievement),
       (SELECT coalesce(sum(version), 0) FROM achievement), (SELECT count(*) FROM organisation),
       (SELECT count(*) FROM organisation_code), (SELECT count(*) FROM learning_specification),
       (SELECT count(*) FROM import_batch), (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')
"""


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body(spec: dict[str, Any], schema: dict[str, Any], value: str) -> dict[str, Any]:
    """An object whose every text field holds ``value`` (lists of text: one element)."""
    schema = _resolve(spec, schema)
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(spec, prop)
        kinds = {prop.get("type")} | {_resolve(spec, p).get("type") for p in prop.get("anyOf", [])}
        if "string" in kinds:
            body[name] = value
        elif "array" in kinds:
            body[name] = [value]
    return body


def _quoted(value: str) -> str:
    """Percent-encoded, a lone surrogate as the bytes it would be (ED A0 80: not valid UTF-8)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _fill(path: str, params: list[dict[str, Any]], ctx: Ctx, value: str, injected: str | None) -> str:
    """The path with ``value`` in the parameter ``injected`` and valid-looking values in the others."""
    for p in params:
        if p["in"] == "path":
            sample = ctx.provider if "orgnr" in p["name"] else str(uuid.uuid4())
            path = path.replace("{" + p["name"] + "}", _quoted(value) if p["name"] == injected else sample)
    return path


def _requests(spec: dict[str, Any], ctx: Ctx, value: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, httpx keyword arguments) with ``value`` in each parameter and body in turn."""
    out = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if (method, path) in SKIP:
                continue
            params = operation.get("parameters", [])
            body_schema = (
                operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            )

            body = _json(_body(spec, body_schema, "x")) if body_schema else {}
            for p in params:
                if p["in"] == "path":
                    out.append((method, _fill(path, params, ctx, value, p["name"]), body))
                elif p["in"] == "query":
                    query = f"?{p['name']}={_quoted(value)}"
                    out.append((method, _fill(path, params, ctx, value, None) + query, body))
            if body_schema:
                out.append(
                    (method, _fill(path, params, ctx, value, None), _json(_body(spec, body_schema, value)))
                )
    return out


def _json(body: dict[str, Any]) -> dict[str, Any]:
    """httpx keyword arguments for a JSON body written with escapes, so a lone surrogate travels as the
    valid JSON text ``\\ud800`` rather than failing to encode in the client."""
    return {"content": json.dumps(body).encode(), "headers": {"Content-Type": "application/json"}}


def _content(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(CONTENT)).one())


@pytest.mark.parametrize("value", INJECTIONS, ids=lambda v: repr(v)[:24])
def test_injection_strings_in_every_parameter_and_field(
    value: str, ctx: Ctx, served: Served, engine: Engine
) -> None:
    headers = ctx.auth(ctx.provider, READ, WRITE, STATS, ADMIN)
    before = _content(engine)
    with served.client(timeout=60) as http:
        spec = http.get("/openapi.json").json()
        sent = _requests(spec, ctx, value)
        assert len(sent) > 25  # the document was read: every endpoint's parameters are here
        answers: list[tuple[str, str, httpx.Response]] = []
        for method, path, kwargs in sent:
            extra = kwargs.pop("headers", {})
            answers.append(
                (method, path, http.request(method.upper(), path, headers=headers | extra, **kwargs))
            )
    wrong = [
        f"{method.upper()} {path}: {response.status_code} {response.headers.get('content-type')}"
        for method, path, response in answers
        if response.status_code >= 500
        or (
            response.status_code >= 400
            and not response.headers["content-type"].startswith("application/problem+json")
        )
    ]
    assert wrong == []
    assert served.alive()
    assert _content(engine) == before
    with engine.connect() as conn:
        assert audit.verify_chain(conn).ok
