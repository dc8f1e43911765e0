"""The hostile-input corpus: every case is a request against a running register and the clear error it
must get. docs/reliability.md lists them with what each proves.

A case builds its request from a ``Ctx`` (the organisations, a known person, token helpers) and names
the status it expects and the stable code(s) it accepts. Uploads are whole deliveries: the importer
decides, and a refused file is a 4xx problem+json; a file whose *records* are refused is a 201 report
with every record rejected and the reason on each (``rejections=True``). Large inputs are made when the
case runs, not stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from register.namespaces import ELMO_NS
from register.tokens import CONSUMER_AUTHORITY, DEV_ISSUER, ORGNR_PREFIX, ensure_dev_key
from tests.reliability.deliveries import HEADER
from tests.reliability.server import ADMIN, PROJECT_ROOT, READ, STATS, WRITE, Served

MiB = 1024 * 1024
#: the upload limit the hostile server runs with (REGISTER_MAX_UPLOAD_BYTES)
UPLOAD_LIMIT = 16 * MiB


@dataclass
class Ctx:
    served: Served
    provider: str  # a fagskole that delivers for itself
    other: str  # another fagskole, whose data the provider must never touch
    portal: str  # holds kompetanse:read
    nin: str  # a person the register knows (delivered by ``other``)
    other_batch: str  # a batch id of ``other``
    other_achievement: str  # an achievement id of ``other``

    def auth(self, orgnr: str, *scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.served.token(orgnr, *scopes)}"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | Callable[[], Iterator[bytes]] | None = None
    json_body: Any = None


@dataclass(frozen=True)
class Case:
    id: str
    proves: str
    build: Callable[[Ctx], Request]
    status: int
    codes: frozenset[str]  # empty: any stable dotted code (for a defect whose fix will choose the code)
    rejections: bool = False  # a 201 report whose records are all rejected, each with a reason
    xfail: str | None = None  # a known defect in another area: the case is a strict expected failure

    def __str__(self) -> str:
        return self.id


def upload(sector: str, content: bytes | Callable[[], Iterator[bytes]], content_type: str,
           filename: str | None = None) -> Callable[[Ctx], Request]:  # fmt: skip
    def build(ctx: Ctx) -> Request:
        params = {"sector": sector} | ({"filename": filename} if filename else {})
        headers = ctx.auth(ctx.provider, WRITE) | {"Content-Type": content_type}
        return Request("POST", "/v1/batches", params=params, headers=headers, content=content)

    return build


def upload_for(sector: str, make: Callable[[Ctx], bytes], content_type: str) -> Callable[[Ctx], Request]:
    """An upload whose content depends on the context (organisation numbers, known people)."""

    def build(ctx: Ctx) -> Request:
        return upload(sector, make(ctx), content_type)(ctx)

    return build


def lookup(
    body: Any, *, content_type: str = "application/json", raw: bytes | None = None
) -> Callable[[Ctx], Request]:
    def build(ctx: Ctx) -> Request:
        headers = ctx.auth(ctx.portal, READ) | {"Content-Type": content_type}
        content = raw if raw is not None else json.dumps(body).encode()
        return Request("POST", "/v1/persons/lookup", headers=headers, content=content)

    return build


def graphql(document: str | Any, *, variables: dict[str, Any] | None = None) -> Callable[[Ctx], Request]:
    def build(ctx: Ctx) -> Request:
        body = (
            {"query": document, "variables": {"nin": ctx.nin, **(variables or {})}}
            if isinstance(document, str)
            else document
        )
        return Request("POST", "/graphql", headers=ctx.auth(ctx.portal, READ), json_body=body)

    return build


def _graphql_raw(body: str) -> Callable[[Ctx], Request]:
    def build(ctx: Ctx) -> Request:
        headers = ctx.auth(ctx.portal, READ) | {"Content-Type": "application/json"}
        return Request("POST", "/graphql", headers=headers, content=body.encode())

    return build


# --- XML ------------------------------------------------------------------------------------------

ELMO_OPEN = f'<elmo xmlns="{ELMO_NS}">'


def _elmo(body: str, prolog: str = "") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}{ELMO_OPEN}{body}</elmo>'.encode()


BILLION_LAUGHS = _elmo(
    "<learner><givenNames>&lol9;</givenNames></learner>",
    '<!DOCTYPE elmo [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>\n",
)
QUADRATIC_BLOWUP = _elmo(
    "<learner><givenNames>" + "&a;" * 50_000 + "</givenNames></learner>",
    '<!DOCTYPE elmo [<!ENTITY a "' + "x" * 50_000 + '">]>\n',
)
EXTERNAL_FILE = _elmo("<learner><givenNames>&x;</givenNames></learner>",
                      '<!DOCTYPE elmo [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n')  # fmt: skip
EXTERNAL_NETWORK = _elmo("<learner><givenNames>&x;</givenNames></learner>",
                         '<!DOCTYPE elmo [<!ENTITY x SYSTEM "http://127.0.0.1:9/steal">]>\n')  # fmt: skip
PARAMETER_ENTITY = _elmo("", '<!DOCTYPE elmo [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>\n')
EXTERNAL_DTD = _elmo("", '<!DOCTYPE elmo SYSTEM "http://127.0.0.1:9/elmo.dtd">\n')
DEEP_XML = _elmo("<report>" + "<a>" * 100_000 + "</a>" * 100_000 + "</report>")
TRUNCATED_XML = _elmo("<learner><givenNames>Kari</givenNames></learner><report><issuer>")[:-20]


def _huge_attribute() -> bytes:
    return _elmo(f'<learner><givenNames x="{"A" * (12 * MiB)}">Kari</givenNames></learner>')


def _invalid_utf8() -> bytes:
    return _elmo("<learner><givenNames>Kari</givenNames><familyName>NORD</familyName></learner>").replace(
        b"NORD", b"N\xff\xfe\xc3"
    )


def _gzip_truncated() -> bytes:
    doc = _elmo("<learner><givenNames>Kari</givenNames></learner>" + "<report/>" * 5000)
    packed = gzip.compress(doc)
    return packed[: len(packed) // 2]


def _zip_bomb() -> bytes:
    """An ELMO document that gzips 512 MiB of whitespace into well under 1 MiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(f'<?xml version="1.0"?>{ELMO_OPEN}<learner>'.encode())]
    block = b" " * MiB
    parts.extend(packer.compress(block) for _ in range(512))
    parts.append(packer.compress(b"</learner></elmo>") + packer.flush())
    return b"".join(parts)


def _zip_bomb_base64() -> bytes:
    return base64.b64encode(_zip_bomb())


# --- JSON -----------------------------------------------------------------------------------------


def _row(ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "fodselsnummer": ctx.nin, "fornavn": "Kari", "etternavn": "Nordmann", "fagskole_orgnr": ctx.provider,
        "utdanning_kode": "ELKRAFT", "utdanning_navn": "Elkraft", "nkr_niva": "5.1", "utdanning_fagskolepoeng": "120",
        "emnekode": "EL-101", "emnenavn": "Emne", "fagskolepoeng": "10", "karakter": "B",
        "fullfort_dato": "2024-06-10", "semester": "2024V", "resultat_id": "H-1",
    }  # fmt: skip
    row.update(overrides)
    return row


def _rows_json(*rows: dict[str, Any]) -> bytes:
    return json.dumps(list(rows)).encode()


def _duplicate_keys(ctx: Ctx) -> bytes:
    row = json.dumps(_row(ctx))
    # The second fodselsnummer would win in most parsers: a record must not silently change its person.
    return f'[{row[:-1]}, "fodselsnummer": "24890654459"}}]'.encode()


def _huge_number(ctx: Ctx) -> bytes:
    row = json.dumps(_row(ctx, fagskolepoeng="NUMBER"))
    return ("[" + row.replace('"NUMBER"', "9" * 100_000) + "]").encode()


def _lone_surrogate_rows(ctx: Ctx) -> bytes:
    """Valid JSON (``\\ud800`` is a legal escape) whose string cannot be written as UTF-8."""
    return _rows_json(_row(ctx, fornavn="Kari\ud800", resultat_id="S-1"))


def _lone_surrogate_micro(ctx: Ctx) -> bytes:
    example = (
        (PROJECT_ROOT / "docs" / "formats" / "examples" / "micro-envelope.jsonl").read_text().splitlines()[0]
    )
    envelope = json.loads(example)
    envelope["learner"]["nin"] = ctx.nin
    envelope["credential"]["issuer"]["id"] = MICRO_ISSUER
    envelope["credential"]["credentialSubject"]["achievement"]["name"] = "Kurs \udfff"
    return (json.dumps(envelope) + "\n").encode()


def _float_overflow(ctx: Ctx) -> bytes:
    return (
        "[" + json.dumps(_row(ctx, fagskolepoeng="NUMBER")).replace('"NUMBER"', "1e999999") + "]"
    ).encode()


def _wrong_types(ctx: Ctx) -> bytes:
    return _rows_json(
        _row(ctx, resultat_id="T-2", fagskolepoeng=True),
        _row(ctx, resultat_id="T-3", emnekode=["EL-101"]),
        _row(ctx, resultat_id="T-4", karakter={"value": "B"}),
        _row(ctx, resultat_id="T-5", fagskole_orgnr=None, fullfort_dato=20240610),
    )


def _deep_rows(ctx: Ctx) -> bytes:
    row = json.dumps(_row(ctx, emnenavn="DEEP"))
    return ("[" + row.replace('"DEEP"', "[" * 100_000 + "]" * 100_000) + "]").encode()


def _deep_micro() -> bytes:
    inner = '{"a":' * 50_000 + "1" + "}" * 50_000
    return (
        '{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"], "x": '
        + inner
        + "}"
    ).encode()


def _micro_huge_number() -> bytes:
    return ('{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential", "OpenBadgeCredential"], '
            '"credentialSubject": {"achievement": {"creditsAvailable": ' + "9" * 100_000 + "}}}").encode()  # fmt: skip


MICRO_ISSUER = "https://kursakademiet.example/issuer"  # registered on the provider as its issuer code


def _micro_duplicate_keys(ctx: Ctx) -> bytes:
    """The documented envelope example, for a known learner, whose credential names its subject twice:
    parsers disagree on which one counts, so a signer and the register could read two different
    results out of the same bytes."""
    example = (
        (PROJECT_ROOT / "docs" / "formats" / "examples" / "micro-envelope.jsonl").read_text().splitlines()[0]
    )
    envelope = json.loads(example)
    credential = envelope["credential"]
    credential["issuer"]["id"] = MICRO_ISSUER
    other = json.loads(json.dumps(credential["credentialSubject"]))
    other["achievement"]["name"] = "Et annet kurs"
    text = json.dumps(credential)
    doubled = text[:-1] + ', "credentialSubject": ' + json.dumps(other) + "}"
    return ('{"learner": {"nin": "' + ctx.nin + '"}, "credential": ' + doubled + "}\n").encode()


def _micro_wrong_types() -> bytes:
    return json.dumps(
        {
            "@context": 7,
            "type": {"VerifiableCredential": True},
            "issuer": ["x"],
            "credentialSubject": "nobody",
            "validFrom": 20240101,
        }
    ).encode()


# --- CSV ------------------------------------------------------------------------------------------


def _csv_row(ctx: Ctx, i: int = 1, **overrides: str) -> str:
    values = {
        "fodselsnummer": ctx.nin, "fornavn": "Kari", "etternavn": "Nordmann", "fagskole_orgnr": ctx.provider,
        "utdanning_kode": "ELKRAFT", "utdanning_navn": "Elkraft", "nkr_niva": "5.1", "utdanning_fagskolepoeng": "120",
        "emnekode": "EL-101", "emnenavn": "Emne", "fagskolepoeng": "10", "karakter": "B", "fullfort_dato": "2024-06-10",
        "semester": "2024V", "resultat_id": f"C-{i}", "vitnemal_id": "", "vitnemal_dato": "",
    }  # fmt: skip
    values.update(overrides)
    return ";".join(values[c] for c in HEADER.split(";"))


def _csv(ctx: Ctx, *rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _utf16(ctx: Ctx) -> bytes:
    return _csv(ctx, _csv_row(ctx, fornavn="Bjørn")).decode().encode("utf-16")


def _windows_1252(ctx: Ctx) -> bytes:
    return _csv(ctx, _csv_row(ctx, fornavn="Bjørn Ærlig")).decode().encode("cp1252")


def _duplicate_header(ctx: Ctx) -> bytes:
    header = HEADER.replace("fornavn", "fodselsnummer")
    return (header + "\n" + _csv_row(ctx) + "\n").encode()


def _ragged(ctx: Ctx) -> bytes:
    good = _csv_row(ctx, 1)
    return _csv(ctx, good + ";extra;fields", ";".join(_csv_row(ctx, 2).split(";")[:5]), _csv_row(ctx, 3)[:40])


def _nul(ctx: Ctx) -> bytes:
    return _csv(ctx, _csv_row(ctx, fornavn="Ka\x00ri"))


def _long_line(ctx: Ctx) -> bytes:
    return _csv(ctx, _csv_row(ctx, emnenavn="x" * (10 * MiB)))


def _formula_in_coded_fields(ctx: Ctx) -> bytes:
    return _csv(
        ctx,
        _csv_row(ctx, 1, fagskole_orgnr="=1+1"),
        _csv_row(ctx, 2, emnekode='=HYPERLINK("http://x")'),
        _csv_row(ctx, 3, karakter="+A"),
        _csv_row(ctx, 4, fagskolepoeng="-1+1"),
        _csv_row(ctx, 5, fodselsnummer="@SUM(1+1)"),
    )


def _other_orgs_records(ctx: Ctx) -> bytes:
    """The provider delivers results that ``other`` awarded: it is not registered to deliver for it."""
    return _csv(ctx, _csv_row(ctx, 1, fagskole_orgnr=ctx.other), _csv_row(ctx, 2, fagskole_orgnr=ctx.other))


# --- HTTP -----------------------------------------------------------------------------------------


def _past_the_limit() -> bytes:
    return b"x" * (UPLOAD_LIMIT + MiB)


def _chunked_past_the_limit() -> Iterator[bytes]:
    block = b"fodselsnummer;" + b"y" * (MiB - 14)
    for _ in range(UPLOAD_LIMIT // MiB + 2):
        yield block


def _slow_body() -> Iterator[bytes]:
    """A slowloris upload: a few bytes at a time, with pauses (the test checks others are served meanwhile)."""
    doc = _elmo(
        '<learner><givenNames x="' + "A" * 64 + '">&x;</givenNames></learner>',
        '<!DOCTYPE elmo [<!ENTITY x "y">]>\n',
    )
    for i in range(0, len(doc), len(doc) // 8 + 1):
        time.sleep(0.3)
        yield doc[i : i + len(doc) // 8 + 1]


def _multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "hostileboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _multipart_traversal(ctx: Ctx) -> Request:
    body, ctype = _multipart("../../../../../../tmp/kompetanse-hostile-pwned.csv", b"\x00not a delivery")
    return Request("POST", "/v1/batches", params={"sector": "vocational"},
                   headers=ctx.auth(ctx.provider, WRITE) | {"Content-Type": ctype}, content=body)  # fmt: skip


def _multipart_nul_filename(ctx: Ctx) -> Request:
    body, ctype = _multipart("a\x00b.csv", b"\x00")
    return Request("POST", "/v1/batches", params={"sector": "vocational"},
                   headers=ctx.auth(ctx.provider, WRITE) | {"Content-Type": ctype}, content=body)  # fmt: skip


def _multipart_broken(ctx: Ctx) -> Request:
    return Request("POST", "/v1/batches", params={"sector": "vocational"},
                   headers=ctx.auth(ctx.provider, WRITE) | {"Content-Type": "multipart/form-data; boundary=x"},
                   content=b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc")  # fmt: skip


def _get(
    path: str, scopes: tuple[str, ...] = (WRITE,), org: str = "provider", **params: str
) -> Callable[[Ctx], Request]:
    def build(ctx: Ctx) -> Request:
        resolved = path.format(other_batch=ctx.other_batch, other_achievement=ctx.other_achievement)
        return Request("GET", resolved, params=params, headers=ctx.auth(getattr(ctx, org), *scopes))

    return build


def _heads(headers: dict[str, str]) -> Callable[[Ctx], Request]:
    """A look-up by the portal with extra request headers."""

    def build(ctx: Ctx) -> Request:
        return Request("POST", "/v1/persons/lookup", headers=ctx.auth(ctx.portal, READ) | headers,
                       json_body={"nin": ctx.nin})  # fmt: skip

    return build


def _reflect_request_id(ctx: Ctx) -> Request:
    """A national id as the request id, on a request that fails (its problem names the request id)."""
    return Request("POST", "/v1/persons/lookup", headers=ctx.auth(ctx.portal, READ) | {"X-Request-ID": ctx.nin},
                   json_body={"nin": ctx.nin, "unknown": 1})  # fmt: skip


def _reflect_json_key(ctx: Ctx) -> Request:
    return Request(
        "POST", "/v1/persons/lookup", headers=ctx.auth(ctx.portal, READ), json_body={"nin": "1", ctx.nin: 1}
    )


def _reflect_group_by(ctx: Ctx) -> Request:
    return Request("GET", "/v1/stats/achievements", params={"group_by": f"sector,{ctx.nin}"},
                   headers=ctx.auth(ctx.portal, STATS))  # fmt: skip


def _reflect_operation_name(ctx: Ctx) -> Request:
    return Request("POST", "/graphql", headers=ctx.auth(ctx.portal, READ),
                   json_body={"query": "query Q { __typename }", "operationName": ctx.nin})  # fmt: skip


def _long_given_name_rows(ctx: Ctx) -> bytes:
    return _rows_json(_row(ctx, fornavn="K" * 5000, resultat_id="L-1"))


def _long_course_name_csv(ctx: Ctx) -> bytes:
    return _csv(ctx, _csv_row(ctx, 1, emnenavn="E" * 5000))


def _huge_micro_name(ctx: Ctx) -> bytes:
    """A credential whose achievement name is 3 MiB (under the 16 MiB credential bound, and small enough
    to be answered at once: the 9 MiB of the attack is tests/foundation/test_text_limits.py's)."""
    example = (
        (PROJECT_ROOT / "docs" / "formats" / "examples" / "micro-envelope.jsonl").read_text().splitlines()[0]
    )
    envelope = json.loads(example)
    envelope["learner"]["nin"] = ctx.nin
    envelope["credential"]["issuer"]["id"] = MICRO_ISSUER
    envelope["credential"]["credentialSubject"]["achievement"]["name"] = "N" * (3 * MiB)
    return (json.dumps(envelope) + "\n").encode()


# --- tokens ---------------------------------------------------------------------------------------


def _claims(ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER, "aud": ctx.served.settings.jwt_audience, "scope": READ,
        "consumer": {"authority": CONSUMER_AUTHORITY, "ID": ORGNR_PREFIX + ctx.portal},
        "client_id": "hostile", "iat": now, "exp": now + dt.timedelta(minutes=5),
    }  # fmt: skip
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _kid(ctx: Ctx) -> str:
    return str(jwt.get_unverified_header(ctx.served.token(ctx.portal, READ))["kid"])


def _signed(
    ctx: Ctx, claims: dict[str, Any], *, key: Any = None, alg: str = "ES256", kid: str | None = "same"
) -> str:
    headers = {"kid": _kid(ctx) if kid == "same" else kid} if kid is not None else {}
    return jwt.encode(claims, key or ensure_dev_key(ctx.served.settings), algorithm=alg, headers=headers)


def _alg_none(ctx: Ctx) -> str:
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "none", "typ": "JWT", "kid": _kid(ctx)}).encode()
    ).rstrip(b"=")
    claims = {k: int(v.timestamp()) if isinstance(v, dt.datetime) else v for k, v in _claims(ctx).items()}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return (header + b"." + body + b".").decode()


def _hmac_with_public_key(ctx: Ctx) -> str:
    """Key confusion: an HS256 token whose secret is the issuer's public key."""
    public = (
        ensure_dev_key(ctx.served.settings)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": _kid(ctx)}).encode()).rstrip(b"=")
    claims = {k: int(v.timestamp()) if isinstance(v, dt.datetime) else v for k, v in _claims(ctx).items()}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(
        hmac.new(public, header + b"." + body, hashlib.sha256).digest()
    ).rstrip(b"=")
    return (header + b"." + body + b"." + signature).decode()


def _tampered(ctx: Ctx) -> str:
    """A valid read token whose payload is changed afterwards to add the admin scope."""
    header, _, signature = ctx.served.token(ctx.portal, READ).split(".")
    claims = {
        k: int(v.timestamp()) if isinstance(v, dt.datetime) else v
        for k, v in _claims(ctx, scope=f"{READ} {ADMIN}").items()
    }
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def _token_case(make: Callable[[Ctx], str]) -> Callable[[Ctx], Request]:
    def build(ctx: Ctx) -> Request:
        return Request("POST", "/v1/persons/lookup", headers={"Authorization": f"Bearer {make(ctx)}"},
                       json_body={"nin": ctx.nin})  # fmt: skip

    return build


def _raw_auth(value: str) -> Callable[[Ctx], Request]:
    def build(ctx: Ctx) -> Request:
        return Request(
            "POST", "/v1/persons/lookup", headers={"Authorization": value}, json_body={"nin": ctx.nin}
        )

    return build


def _header_shaped(header: dict[str, Any]) -> Callable[[Ctx], str]:
    """A token from the trusted issuer whose JOSE header has this shape ("kid": "same" = the real kid)."""

    def make(ctx: Ctx) -> str:
        shaped = {k: _kid(ctx) if v == "same" else v for k, v in header.items()}
        head = base64.urlsafe_b64encode(json.dumps(shaped).encode()).rstrip(b"=")
        claims = {k: int(v.timestamp()) if isinstance(v, dt.datetime) else v for k, v in _claims(ctx).items()}
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        return (head + b"." + body + b".c2ln").decode()

    return make


_foreign_key = ec.generate_private_key(ec.SECP256R1())
_hour = dt.timedelta(hours=1)

# --- the corpus -----------------------------------------------------------------------------------

# fmt: off
CASES: list[Case] = [
    # XML: parsed with entities, DTDs and the network off, depth and node size bounded
    Case("xml-billion-laughs", "nested entity expansion is refused before any expansion", upload("higher", BILLION_LAUGHS, "application/xml"), 422, frozenset({"xml.doctype"})),
    Case("xml-quadratic-blowup", "one large entity referenced many times is refused", upload("higher", QUADRATIC_BLOWUP, "application/xml"), 422, frozenset({"xml.doctype"})),
    Case("xml-external-entity-file", "a SYSTEM entity naming a local file is never read", upload("higher", EXTERNAL_FILE, "application/xml"), 422, frozenset({"xml.doctype"})),
    Case("xml-external-entity-network", "a SYSTEM entity naming a URL is never fetched", upload("higher", EXTERNAL_NETWORK, "application/xml"), 422, frozenset({"xml.doctype"})),
    Case("xml-parameter-entity", "a parameter entity pulling an external DTD is refused", upload("higher", PARAMETER_ENTITY, "application/xml"), 422, frozenset({"xml.doctype"})),
    Case("xml-external-dtd", "a DOCTYPE naming an external DTD is refused", upload("higher", EXTERNAL_DTD, "application/xml"), 422, frozenset({"xml.doctype"})),
    Case("xml-deep-nesting", "100 000 nested elements are refused at the depth limit", upload("higher", DEEP_XML, "application/xml"), 422, frozenset({"xml.too_deep"})),
    Case("xml-huge-attribute", "a 12 MiB attribute is refused at the node-size limit", upload_for("higher", lambda _: _huge_attribute(), "application/xml"), 422, frozenset({"xml.node_too_large"})),
    Case("xml-invalid-utf8", "bytes that are not UTF-8 in a UTF-8 document are refused", upload_for("higher", lambda _: _invalid_utf8(), "application/xml"), 422, frozenset({"xml.syntax"})),
    Case("xml-surrogate-char-ref", "&#xD800; (a character XML does not allow) is refused", upload("higher", _elmo("<learner><givenNames>Kari&#xD800;</givenNames></learner>"), "application/xml"), 422, frozenset({"xml.syntax"})),
    Case("xml-nul-char-ref", "&#0; is refused: XML 1.0 has no NUL character", upload("higher", _elmo("<learner><givenNames>Ka&#0;ri</givenNames></learner>"), "application/xml"), 422, frozenset({"xml.syntax"})),
    Case("xml-truncated", "a document cut off mid-element is refused, not half imported", upload("higher", TRUNCATED_XML, "application/xml"), 422, frozenset({"xml.syntax"})),
    Case("gzip-truncated", "a gzip stream that ends early is refused with its own code", upload_for("higher", lambda _: _gzip_truncated(), "application/gzip"), 422, frozenset({"elmo.gzip_truncated"})),
    Case("gzip-bomb", "512 MiB packed into <1 MiB is refused after a few MiB of work", upload_for("higher", lambda _: _zip_bomb(), "application/gzip"), 422, frozenset({"elmo.gzip_ratio"})),
    Case("gzip-bomb-base64", "the same bomb in EMREX's base64 transport", upload_for("higher", lambda _: _zip_bomb_base64(), "text/plain"), 422, frozenset({"elmo.gzip_ratio"})),
    # JSON
    Case("json-deep-nesting-rows", "100 000 nested arrays in a row file are refused", upload_for("vocational", _deep_rows, "application/json"), 422, frozenset({"json.too_deep"})),
    Case("json-deep-nesting-micro", "50 000 nested objects in a credential are refused", upload_for("micro", lambda _: _deep_micro(), "application/json"), 422, frozenset({"micro.too_deep"})),
    Case("json-huge-number-rows", "a 100 000-digit number is refused without being converted", upload_for("vocational", _huge_number, "application/json"), 201, frozenset({"json.number_too_long"}), rejections=True),
    Case("json-float-overflow-rows", "1e999999 (infinity) is not a credit value", upload_for("vocational", _float_overflow, "application/json"), 201, frozenset({"credits.invalid"}), rejections=True),
    Case("json-lone-surrogate-rows", "a \\ud800 escape (valid JSON, no UTF-8) in a row is refused with a reason", upload_for("vocational", _lone_surrogate_rows, "application/json"), 201, frozenset({"text.invalid_character"}), rejections=True),
    Case("json-lone-surrogate-micro", "a \\udfff escape in a credential is refused with a reason", upload_for("micro", _lone_surrogate_micro, "application/json"), 201, frozenset({"text.invalid_character"}), rejections=True),
    Case("json-huge-number-micro", "a 100 000-digit number in a credential is refused", upload_for("micro", lambda _: _micro_huge_number(), "application/json"), 201, frozenset({"micro.json_invalid"}), rejections=True),
    Case("json-duplicate-keys", "a row naming its person twice is refused, not silently resolved", upload_for("vocational", _duplicate_keys, "application/json"), 201, frozenset({"json.duplicate_key"}), rejections=True),
    Case("json-wrong-types", "numbers, booleans, arrays, objects and null where text belongs", upload_for("vocational", _wrong_types, "application/json"), 201, frozenset({"field.missing", "json.nested_value", "json.type"}), rejections=True),
    Case("json-duplicate-keys-micro", "a credential naming its subject twice is refused, not silently resolved", upload_for("micro", _micro_duplicate_keys, "application/json"), 201, frozenset({"micro.json_invalid"}), rejections=True),
    Case("json-wrong-types-micro", "a credential whose every member has the wrong type", upload_for("micro", lambda _: _micro_wrong_types(), "application/json"), 201, frozenset({"micro.type_unknown"}), rejections=True),
    # CSV
    Case("csv-utf16", "a UTF-16 file is refused with the encoding named", upload_for("vocational", _utf16, "text/csv"), 422, frozenset({"encoding.utf16"})),
    Case("csv-windows-1252", "Windows-1252 æøå are refused, not turned into mojibake", upload_for("vocational", _windows_1252, "text/csv"), 422, frozenset({"encoding.not_utf8"})),
    Case("csv-duplicate-header", "a header naming a column twice is refused: which one counts would be a guess", upload_for("vocational", _duplicate_header, "text/csv"), 422, frozenset({"csv.header_duplicate"})),
    Case("csv-encoded-surrogate", "a surrogate encoded as UTF-8 bytes (ED A0 80) is not UTF-8", upload_for("vocational", lambda c: _csv(c, _csv_row(c, fornavn="KARI")).replace(b"KARI", b"Kari\xed\xa0\x80"), "text/csv"), 422, frozenset({"encoding.not_utf8"})),
    Case("csv-ragged-rows", "rows with more or fewer fields than the header are each rejected", upload_for("vocational", _ragged, "text/csv"), 201, frozenset({"csv.ragged_row"}), rejections=True),
    Case("csv-nul-byte", "a NUL byte marks a binary or damaged file", upload_for("vocational", _nul, "text/csv"), 422, frozenset({"input.nul_byte"})),
    Case("csv-10mb-line", "a 10 MiB line is refused at the line limit, not buffered", upload_for("vocational", _long_line, "text/csv"), 422, frozenset({"input.line_too_long"})),
    Case("csv-formula-in-coded-fields", "=, +, -, @ cells in coded fields fail their formats", upload_for("vocational", _formula_in_coded_fields, "text/csv"), 201,
         frozenset({"credits.invalid", "grade.invalid", "nin.format", "orgnr.invalid", "vocational.code"}), rejections=True),
    # HTTP
    Case("http-body-past-limit", "a declared body past the upload limit is refused before it is read", upload("vocational", _past_the_limit(), "text/csv"), 413, frozenset({"upload.too_large"})),
    Case("http-chunked-body-past-limit", "an undeclared (chunked) body is cut off at the limit", upload("vocational", _chunked_past_the_limit, "text/csv"), 413, frozenset({"upload.too_large"})),
    Case("http-json-body-past-limit", "a look-up body over 64 KiB is refused before it is parsed", lookup({"nin": "1" * 200_000}), 413, frozenset({"request.too_large"})),
    Case("http-deep-json-lookup", "30 000 nested arrays in a look-up body (under the 64 KiB limit)", lookup(None, raw=b'{"nin": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"), 422, frozenset({"request.invalid"})),
    Case("http-wrong-content-type-lookup", "a look-up that is not JSON", lookup(None, content_type="text/plain", raw=b"nin=24890654459"), 422, frozenset({"request.invalid"})),
    Case("http-wrong-content-type-upload", "an XML bomb declared as CSV meets the XML defences: the format is read from the bytes", upload("higher", BILLION_LAUGHS, "text/csv"), 422, frozenset({"xml.doctype"})),
    Case("http-slow-body", "a slowloris body does not block other requests; its content is still checked", upload("higher", _slow_body, "application/xml"), 422, frozenset({"xml.doctype"})),
    Case("http-multipart-traversal", "a form filename with ../ is a name, never a path", _multipart_traversal, 422, frozenset({"format.unknown"})),
    Case("http-multipart-broken", "a form body that ends early", _multipart_broken, 422, frozenset({"upload.missing_file"})),
    Case("http-filename-traversal", "the filename parameter with ../ is a name, never a path", upload("vocational", b"\x00", "text/csv", filename="../../../../etc/passwd"), 422, frozenset({"format.unknown"})),
    Case("http-nul-in-filename", "a NUL byte in the filename parameter (PostgreSQL text cannot hold one)", upload("vocational", b"fodselsnummer\n\x00", "text/csv", filename="a\x00b.csv"), 422, frozenset({"request.invalid"})),
    Case("http-control-characters-in-filename", "CR, LF and ESC in the filename parameter are a name, not headers or log lines", upload("vocational", b"\x00", "text/csv", filename="x\r\nSet-Cookie: a=b\x1b[31m.csv"), 422, frozenset({"format.unknown", "request.invalid"})),
    Case("http-nul-in-form-filename", "a NUL byte in a form upload's filename", _multipart_nul_filename, 422, frozenset({"format.unknown"})),
    Case("http-path-traversal-batch", "../ in a path parameter", _get("/v1/batches/..%2F..%2Fetc%2Fpasswd"), 404, frozenset({"route.not_found"})),
    Case("http-path-traversal-route", "../ in the route itself", _get("/v1/../../etc/passwd"), 404, frozenset({"route.not_found"})),
    Case("http-sql-in-batch-id", "an SQL string where a batch id belongs", _get("/v1/batches/1' OR '1'='1"), 422, frozenset({"request.invalid"})),
    Case("http-sql-in-nin", "an SQL string where a national id belongs", lookup({"nin": "' OR 1=1 --"}), 422, frozenset({"nin.format"})),
    Case("http-sql-in-stats-group-by", "an SQL string as a statistics dimension", _get("/v1/stats/achievements", (STATS,), "portal", group_by="sector; DROP TABLE person; --"), 422, frozenset({"stats.unknown_dimension"})),
    Case("http-sql-in-stats-provider", "an SQL string as the provider filter", _get("/v1/stats/achievements", (STATS,), "portal", provider="1 OR 1=1"), 422, frozenset({"request.invalid"})),
    Case("http-sql-in-cursor", "an SQL string as a paging cursor", _get("/v1/batches", cursor="') OR 1=1; --"), 422, frozenset({"request.cursor"})),
    Case("http-header-too-large", "40 KiB of request headers (past the 32 KiB bound) are refused by the server before the app", _heads({"X-Pad": "a" * 40 * 1024}), 431, frozenset({"request.headers_too_large"})),
    Case("http-too-many-headers", "150 header lines (past the bound of 100)", _heads({f"X-H{i}": "1" for i in range(150)}), 431, frozenset({"request.headers_too_large"})),
    Case("text-long-given-name-rows", "a 5 000-character given name in a JSON row is refused with the field named", upload_for("vocational", _long_given_name_rows, "application/json"), 201, frozenset({"text.too_long"}), rejections=True),
    Case("text-long-course-name-csv", "a 5 000-character course name in a CSV row", upload_for("vocational", _long_course_name_csv, "text/csv"), 201, frozenset({"text.too_long"}), rejections=True),
    Case("text-huge-micro-name", "a 3 MiB achievement name in a credential (9 MiB ones were stored, and a look-up was 18.9 MB)", upload_for("micro", _huge_micro_name, "application/json"), 201, frozenset({"text.too_long"}), rejections=True),
    # Reflected input: a national id put where it does not belong is not echoed
    Case("reflect-request-id", "a national id as X-Request-ID is replaced, not echoed, logged or stored", _reflect_request_id, 422, frozenset({"request.invalid"})),
    Case("reflect-unknown-json-key", "a national id as an unknown JSON key is redacted from the problem's errors", _reflect_json_key, 422, frozenset({"request.invalid"})),
    Case("reflect-stats-group-by", "a national id as a statistics dimension is redacted from the detail", _reflect_group_by, 422, frozenset({"stats.unknown_dimension"})),
    Case("reflect-graphql-operation-name", "a national id as the GraphQL operationName", _reflect_operation_name, 400, frozenset({"graphql.bad_request"})),
    # GraphQL
    Case("graphql-depth-bomb", "a query nested past the depth limit is refused before it runs",
         graphql("query($nin: String!) { person(nin: $nin) { achievements { nodes { " + "partOf { parts { " * 20 + "id" + " } }" * 20 + " } } } }"),
         200, frozenset({"query.too_deep"})),
    Case("graphql-walk-up-and-down", "partOf { parts } three turns under a page of 500 (built 504 896 objects from an estimate of 4 001) is refused before it runs",
         graphql("query($nin: String!) { person(nin: $nin) { achievements(kind: [COURSE_RESULT], first: 500) { nodes { id " + "partOf { parts { id " * 3 + "} }" * 3 + " } } } }"),
         200, frozenset({"query.too_costly"})),
    Case("graphql-alias-bomb", "one field repeated under 100 aliases is refused",
         graphql("query($nin: String!) { " + " ".join(f"p{i}: person(nin: $nin) {{ id }}" for i in range(100)) + " }"),
         200, frozenset({"query.too_many_aliases"})),
    Case("graphql-batch-bomb", "a JSON array of 1000 operations is not accepted",
         graphql([{"query": "{ __typename }"}] * 1000), 400, frozenset({"graphql.bad_request"})),
    Case("graphql-token-flood", "a document of 20 000 tokens is refused while parsing",
         graphql("{ " + "a " * 20_000 + "}"), 200, frozenset({"query.too_many_tokens"})),
    Case("graphql-sql-in-argument", "an SQL string as a GraphQL argument",
         graphql("query { person(nin: \"' OR 1=1; DROP TABLE person; --\") { id } }"), 200, frozenset({"nin.format"})),
    Case("graphql-deep-variables", "30 000 nested arrays as a GraphQL variable", _graphql_raw('{"query": "query($nin: String!) { person(nin: $nin) { id } }", "variables": {"nin": ' + "[" * 30_000 + "]" * 30_000 + "}}"), 400, frozenset({"graphql.bad_request"})),
    Case("graphql-lone-surrogate", "a \\ud800 escape in a GraphQL variable", _graphql_raw('{"query": "query($nin: String!) { person(nin: $nin) { id } }", "variables": {"nin": "2489065445\\ud800"}}'), 200, frozenset({"nin.format"})),
    Case("graphql-nul-in-variable", "a NUL in a GraphQL variable", _graphql_raw('{"query": "query($nin: String!) { person(nin: $nin) { id } }", "variables": {"nin": "2489065445\\u0000"}}'), 200, frozenset({"nin.format"})),
    # Tokens: every defect, and a valid token used for another organisation
    Case("token-missing", "no Authorization header", _raw_auth(""), 401, frozenset({"auth.missing_token"})),
    Case("token-not-bearer", "Basic instead of Bearer", _raw_auth("Basic dXNlcjpwYXNz"), 401, frozenset({"auth.missing_token"})),
    Case("token-garbage", "a bearer value that is no JWT", _raw_auth("Bearer not.a.jwt"), 401, frozenset({"token.malformed"})),
    Case("token-too-long", "a 20 KiB bearer value", _raw_auth("Bearer " + "a" * 20_000), 401, frozenset({"token.malformed"})),
    Case("token-alg-none", "an unsigned token (alg none)", _token_case(_alg_none), 401, frozenset({"token.algorithm_not_allowed"})),
    Case("token-hmac-key-confusion", "HS256 signed with the issuer's public key", _token_case(_hmac_with_public_key), 401, frozenset({"token.algorithm_not_allowed"})),
    Case("token-bad-signature", "a payload changed after signing (scope raised to admin)", _token_case(_tampered), 401, frozenset({"token.bad_signature"})),
    Case("token-foreign-key", "signed by a key the issuer does not have, under its kid", _token_case(lambda c: _signed(c, _claims(c), key=_foreign_key)), 401, frozenset({"token.bad_signature"})),
    Case("token-unknown-kid", "a kid the issuer does not publish", _token_case(lambda c: _signed(c, _claims(c), kid="nope")), 401, frozenset({"token.unknown_key"})),
    Case("token-unknown-issuer", "an issuer the register does not trust", _token_case(lambda c: _signed(c, _claims(c, iss="https://evil.example/"))), 401, frozenset({"token.unknown_issuer"})),
    Case("token-expired", "exp an hour ago", _token_case(lambda c: _signed(c, _claims(c, iat=dt.datetime.now(dt.UTC) - 2 * _hour, exp=dt.datetime.now(dt.UTC) - _hour))), 401, frozenset({"token.expired"})),
    Case("token-not-yet-valid", "nbf an hour ahead", _token_case(lambda c: _signed(c, _claims(c, nbf=dt.datetime.now(dt.UTC) + _hour, exp=dt.datetime.now(dt.UTC) + 2 * _hour))), 401, frozenset({"token.not_yet_valid"})),
    Case("token-wrong-audience", "issued for another API", _token_case(lambda c: _signed(c, _claims(c, aud="https://other.example/"))), 401, frozenset({"token.wrong_audience"})),
    Case("token-missing-exp", "no exp: a token that never expires", _token_case(lambda c: _signed(c, _claims(c, exp=None))), 401, frozenset({"token.missing_claim"})),
    Case("token-bad-consumer", "consumer not 0192:<valid orgnr>", _token_case(lambda c: _signed(c, _claims(c, consumer={"authority": CONSUMER_AUTHORITY, "ID": "0192:123456789"}))), 401, frozenset({"token.invalid_claims"})),
    Case("token-nul-in-client-id", "a trusted token whose client_id holds a NUL byte (it is written to the audit row)", _token_case(lambda c: _signed(c, _claims(c, client_id="evil\x00client"))), 401, frozenset({"token.invalid_claims"})),
    Case("token-scope-not-string", "scope as a list", _token_case(lambda c: _signed(c, _claims(c, scope=[READ, ADMIN]))), 401, frozenset({"token.invalid_claims"})),
    Case("token-alg-list", "alg as a list (was a 500 with a traceback)", _token_case(_header_shaped({"alg": ["ES256"], "kid": "same"})), 401, frozenset({"token.malformed"})),
    Case("token-alg-object", "alg as an object", _token_case(_header_shaped({"alg": {"a": "ES256"}, "kid": "same"})), 401, frozenset({"token.malformed"})),
    Case("token-kid-integer", "kid as an integer", _token_case(_header_shaped({"alg": "ES256", "kid": 1})), 401, frozenset({"token.malformed"})),
    Case("token-kid-null", "kid as null", _token_case(_header_shaped({"alg": "ES256", "kid": None})), 401, frozenset({"token.malformed"})),
    Case("token-crit-header", "a crit header naming an extension", _token_case(_header_shaped({"alg": "ES256", "kid": "same", "crit": ["exp"]})), 401, frozenset({"token.malformed"})),
    Case("token-b64-false", "b64: false (an unencoded payload)", _token_case(_header_shaped({"alg": "ES256", "kid": "same", "b64": False})), 401, frozenset({"token.malformed"})),
    Case("token-consumer-with-blank", "consumer.ID 0192:<space><orgnr> (was a 500 after verification)", _token_case(lambda c: _signed(c, _claims(c, consumer={"authority": CONSUMER_AUTHORITY, "ID": ORGNR_PREFIX + " " + c.portal}))), 401, frozenset({"token.invalid_claims"})),
    Case("token-other-org-batch", "a provider reads another provider's batch: 404, as if it did not exist", _get("/v1/batches/{other_batch}"), 404, frozenset({"batch.not_found"})),
    Case("token-other-org-rejections", "… or its rejections", _get("/v1/batches/{other_batch}/rejections"), 404, frozenset({"batch.not_found"})),
    Case("token-other-org-withdraw", "a provider withdraws another provider's result",
         lambda c: Request("POST", f"/v1/achievements/{c.other_achievement}/withdrawal", headers=c.auth(c.provider, WRITE), json_body={"reason": "hostile"}),
         404, frozenset({"achievement.not_found"})),
    Case("token-other-org-deliver", "a provider delivers results another organisation awarded", upload_for("vocational", _other_orgs_records, "text/csv"), 201, frozenset({"organisation.not_authorised"}), rejections=True),
    Case("token-write-scope-reads-person", "a provider's write token looks a person up", lambda c: Request("POST", "/v1/persons/lookup", headers=c.auth(c.provider, WRITE), json_body={"nin": c.nin}), 403, frozenset({"auth.missing_scope"})),
    Case("token-read-scope-uploads", "the portal's read token uploads", lambda c: Request("POST", "/v1/batches", params={"sector": "vocational"}, headers=c.auth(c.portal, READ), content=b"x"), 403, frozenset({"auth.missing_scope"})),
    Case("token-read-scope-audit", "a read token lists the audit trail", _get("/v1/audit", (READ,), "portal"), 403, frozenset({"auth.missing_scope"})),
]
# fmt: on
