"""The OpenAPI document (/openapi.json) holds for every operation what a client needs: examples that
fit their schemas, the error codes it can answer with (each in docs/errors.md under that status), its
scopes, and no response it cannot give. A route added without its declaration fails here, with the
line to add."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import create_engine

from api.app import create_app
from api.auth import require_scope
from api.openapi import DECLARED, ERROR_CODES, TOKEN_CODES, build_document, documented, install_openapi
from register.scopes import Scope
from register.settings import Settings

ERRORS_MD = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
METHODS = ("get", "post", "put", "patch", "delete")
HOW = (
    "add to its route decorator `**documented(example=…, request_example=…, errors={404: 'x.not_found'})`"
    " (api/openapi/__init__.py; examples in api/openapi/examples.py, codes from docs/errors.md)"
)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The document needs no database: an engine that is never connected is enough.
    settings = Settings(
        environment="development",
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        data_dir=tmp_path_factory.mktemp("data"),
    )
    app = create_app(settings, engine=create_engine(settings.database_url or ""))
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def missing_documentation(document: dict[str, Any]) -> list[str]:
    """What each operation lacks, phrased as what a developer must add."""
    found = []
    for name, operation in operations(document):
        if not operation.get(DECLARED):
            found.append(f"{name} has no declaration of its examples and error codes: {HOW}")
            continue
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if not _has_example(content):
                found.append(
                    f"{name}: its request body ({media_type}) has no example: pass request_example=…"
                )
        for status, response in operation["responses"].items():
            for media_type, content in response.get("content", {}).items():
                if not _has_example(content):
                    found.append(
                        f"{name}: response {status} ({media_type}) has no example: pass example=… (or "
                        f"examples={{name: …}}), or for a further status responses={{{status}: {{…, 'content': "
                        f"{{'{media_type}': {{'example': …}}}}}}}}"
                    )
    return found


def _has_example(content: dict[str, Any]) -> bool:
    return "example" in content or bool(content.get("examples"))


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    assert missing_documentation(document) == []


def test_an_undeclared_route_is_named_with_what_to_add() -> None:
    router = APIRouter()

    class Out(BaseModel):
        n: int

    @router.get("/v1/counted", response_model=Out)
    def counted(principal: Any = Depends(require_scope(Scope.STATS))) -> Out:
        return Out(n=1)

    @router.get("/v1/declared", response_model=Out, **documented(example={"n": 1}))
    def declared() -> Out:
        return Out(n=1)

    app = FastAPI()
    app.include_router(router)
    install_openapi(app)
    problems = missing_documentation(app.openapi())
    assert problems == [f"GET /v1/counted has no declaration of its examples and error codes: {HOW}"]


def test_a_response_an_operation_cannot_give_is_refused() -> None:
    router = APIRouter()

    @router.get("/v1/thing", **documented(example={}, errors={409: "thing.conflict"}))
    def thing() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router)
    install_openapi(app)
    with pytest.raises(ValueError, match="GET /v1/thing declares 409, which it cannot answer"):
        app.openapi()


def test_examples_fit_their_schemas(document: dict[str, Any]) -> None:
    wrong = []
    for name, operation in operations(document):
        places = [("request", operation.get("requestBody", {})), *operation["responses"].items()]
        for where, holder in places:
            for media_type, content in holder.get("content", {}).items():
                schema = content.get("schema")
                if not schema or "json" not in media_type:
                    continue
                validator = jsonschema_rs.Draft202012Validator(
                    {"components": document["components"], **schema}
                )
                values = [content["example"]] if "example" in content else []
                values += [e["value"] for e in content.get("examples", {}).values()]
                for value in values:
                    for error in validator.iter_errors(value):
                        wrong.append(
                            f"{name} {where} {media_type}: {error.message} at {list(error.instance_path)}"
                        )
    assert wrong == []


def _documented_statuses() -> dict[str, set[str]]:
    """code → the HTTP statuses docs/errors.md gives it (from every table that has an HTTP column)."""
    statuses: dict[str, set[str]] = {}
    http_column: int | None = None
    for line in ERRORS_MD.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            http_column = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "code":
            http_column = cells.index("HTTP") if "HTTP" in cells else None
            continue
        if http_column is None:
            continue
        status = re.match(r"\d{3}", cells[http_column])
        for code in re.findall(r"`([a-z0-9_.]+)`", cells[0]):
            statuses.setdefault(code, set())
            if status:
                statuses[code].add(status.group())
    return statuses


def test_error_codes_are_in_errors_md_under_their_status(document: dict[str, Any]) -> None:
    documented_statuses = _documented_statuses()
    wrong = []
    for name, operation in operations(document):
        for status, codes in operation[ERROR_CODES].items():
            for code in codes:
                if status not in documented_statuses.get(code, set()):
                    wrong.append(f"{name}: {code} ({status}) is not in docs/errors.md with HTTP {status}")
            response = operation["responses"].get(status)
            assert response is not None, f"{name}: {status} is in its error codes but not a response"
            examples = response["content"]["application/problem+json"]["examples"]
            assert set(examples) == set(codes)
            assert all(
                examples[c]["value"]["code"] == c and examples[c]["value"]["status"] == int(status)
                for c in codes
            )
    assert wrong == []


def test_no_impossible_responses(document: dict[str, Any]) -> None:
    for name, operation in operations(document):
        method = name.split()[0]
        statuses = set(operation["responses"])
        if method == "GET":
            assert not statuses & {"409", "413"}, name
        if "requestBody" not in operation:
            assert "413" not in statuses, name
        if not operation.get("security"):
            assert not statuses & {"401", "403"}, name
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_scopes_are_in_the_security_scheme_and_on_each_operation(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["maskinporten"]["flows"]["clientCredentials"]["scopes"] == {
        s.value: s.grants for s in Scope
    }
    assert schemes["bearer"]["scheme"] == "bearer"
    ops = dict(operations(document))
    assert ops["POST /v1/persons/lookup"]["security"] == [
        {"maskinporten": ["kompetanse:read"]},
        {"bearer": ["kompetanse:read"]},
    ]
    either = {s for req in ops["GET /v1/batches/{batch_id}"]["security"] for v in req.values() for s in v}
    assert either == {"kompetanse:write", "kompetanse:admin"}
    for name, operation in ops.items():
        if name.split()[1].startswith("/v1/"):
            assert operation["security"], name
            assert set(TOKEN_CODES) <= set(operation[ERROR_CODES]["401"]), name
            assert operation[ERROR_CODES]["403"][-1] == "auth.missing_scope", name
    assert "security" not in ops["GET /health"]


def test_every_upload_content_type_is_listed(document: dict[str, Any]) -> None:
    upload = document["paths"]["/v1/batches"]["post"]
    listed = set(upload["requestBody"]["content"])
    # what the importers look at (importers/micro/importer.py) and what the demo sends
    from demo.load import collect_demo_sets

    sent = {d.content_type for s in collect_demo_sets() for d in s.deliveries if d.content_type}
    needed = sent | {"application/vc+jwt", "application/vc+ld+json", "application/vc", "multipart/form-data"}
    assert needed <= listed, needed - listed
    assert {"201", "202"} <= set(upload["responses"])


def test_graphql_is_described(document: dict[str, Any]) -> None:
    graphql = document["paths"]["/graphql"]["post"]
    assert "Handle Http Post" not in graphql["summary"]
    body = graphql["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["query"]
    assert "nin" in body["example"]["variables"]
    assert graphql[ERROR_CODES]["400"] == ["graphql.query_string", "graphql.bad_request"]
    assert "403" not in graphql["responses"]  # scopes are checked per field: errors inside a 200


def test_the_document_is_built_once(tmp_path: Path) -> None:
    settings = Settings(
        environment="development",
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
        data_dir=tmp_path,
    )
    app = create_app(settings, engine=create_engine(settings.database_url or ""))
    assert app.openapi() is app.openapi()
    assert build_document(app) == app.openapi()
