"""The credential endpoint's work: key proofs checked, credentials made, status entries given, audited.

A key proof (OpenID4VCI 1.0 Appendix F.1) is a JWT of ``typ`` ``openid4vci-proof+jwt``, signed ES256 by
the holder's key, which it carries as a public ``jwk`` in its header; its ``aud`` is the credential
issuer and its ``nonce`` a ``c_nonce`` from the nonce endpoint, spent by the request. One credential is
issued per proof (batch issuance), each bound to its proof's key in ``cnf`` and given its own status
entry, so that two presentations of the same achievement cannot be linked by key or status index.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwcrypto.jwk import JWK
from sqlalchemy import Connection, text

from register.audit import record_event
from register.persons import national_id_of
from register.queries import AchievementView, person_view
from register.settings import Settings
from register.wallet import credentials, status
from register.wallet.credentials import CONFIGURATIONS, ELM, LEARNING
from register.wallet.errors import WalletError, invalid_proof
from register.wallet.keys import issuer_keys
from register.wallet.offers import Grant, spend_nonce

PROOF_TYP = "openid4vci-proof+jwt"
PROOF_ALGORITHMS = ["ES256"]
BATCH_SIZE = 10  # proofs (credentials) per request: the metadata's batch_credential_issuance
# A proof made more than five minutes ago, or later than a minute from now, is refused: the nonce
# already bounds its age, this bounds clocks that drift.
PROOF_MAX_AGE = dt.timedelta(minutes=5)
PROOF_CLOCK_SKEW = dt.timedelta(minutes=1)
STATUS_PLACE_ATTEMPTS = 20  # a list is at most half full: 20 collisions in a row has odds below 10^-6


@dataclass(frozen=True, slots=True)
class Proof:
    jwk: dict[str, Any]
    thumbprint: str  # RFC 7638, SHA-256
    nonce: str


def status_uri(settings: Settings, list_no: int) -> str:
    return f"{settings.wallet_issuer_url}/wallet/status/{list_no}"


def check_proof(proof: object, settings: Settings) -> Proof:
    """One key proof checked: header, the holder key (public, P-256), signature, audience and age."""
    if not isinstance(proof, str):
        raise invalid_proof("a key proof must be a JWT string")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError:
        raise invalid_proof("the key proof is not a JWT") from None
    if header.get("typ") != PROOF_TYP:
        raise invalid_proof(f"the key proof's typ must be {PROOF_TYP}")
    if header.get("alg") not in PROOF_ALGORITHMS:
        raise invalid_proof("the key proof must be signed with ES256")
    key = header.get("jwk")
    if not isinstance(key, dict) or key.get("kty") != "EC" or key.get("crv") != "P-256" or "d" in key:
        raise invalid_proof("the key proof must carry the holder's public P-256 key as jwk")
    if "kid" in header or "x5c" in header:
        raise invalid_proof("the key proof must name its key by jwk alone")
    try:
        public = jwt.PyJWK(key, algorithm="ES256").key
        claims = jwt.decode(
            proof,
            public,
            algorithms=PROOF_ALGORITHMS,
            audience=settings.wallet_issuer_url,
            options={"require": ["aud", "iat", "nonce"], "verify_iat": False},
        )
    except jwt.InvalidAudienceError:
        raise invalid_proof("the key proof's aud is not this credential issuer") from None
    except jwt.MissingRequiredClaimError as exc:
        if exc.claim == "nonce":
            raise WalletError("invalid_nonce", "the key proof carries no c_nonce") from None
        raise invalid_proof(f"the key proof lacks the claim {exc.claim}") from None
    except jwt.PyJWTError:
        raise invalid_proof("the key proof's signature does not verify with its jwk") from None
    issued = claims["iat"]
    now = dt.datetime.now(dt.UTC).timestamp()
    if not isinstance(issued, int | float) or not (
        now - PROOF_MAX_AGE.total_seconds() <= issued <= now + PROOF_CLOCK_SKEW.total_seconds()
    ):
        raise invalid_proof("the key proof's iat is too old or in the future")
    public_jwk = {name: key[name] for name in ("kty", "crv", "x", "y")}
    return Proof(public_jwk, JWK(**public_jwk).thumbprint(), str(claims["nonce"]))


def requested(body: Mapping[str, Any], grant: Grant) -> tuple[str, list[uuid.UUID]]:
    """Which configuration and achievements a credential request asks for, within the grant."""
    identifiers = grant.identifiers()
    identifier = body.get("credential_identifier")
    configuration = body.get("credential_configuration_id")
    if identifier is not None and configuration is not None:
        raise WalletError(
            "invalid_credential_request",
            "send credential_identifier or credential_configuration_id, not both",
        )
    if identifier is not None:
        for config, ids in identifiers.items():
            if identifier in ids:
                return config, grant.achievement_ids if config == ELM else [uuid.UUID(identifier)]
        raise WalletError("unknown_credential_identifier", "the credential_identifier is not in this grant")
    if configuration is None:
        raise WalletError(
            "invalid_credential_request", "credential_identifier or credential_configuration_id is required"
        )
    if configuration not in CONFIGURATIONS or configuration not in identifiers:
        raise WalletError(
            "unknown_credential_configuration", "the credential_configuration_id is unknown or not offered"
        )
    ids = identifiers[configuration]
    if configuration == LEARNING and len(ids) != 1:
        # The token response named one identifier per achievement: the wallet must ask by identifier.
        raise WalletError(
            "invalid_credential_request", "this offer holds several credentials: ask by credential_identifier"
        )
    return configuration, grant.achievement_ids if configuration == ELM else [uuid.UUID(ids[0])]


def issue(conn: Connection, grant: Grant, body: Mapping[str, Any], settings: Settings) -> list[str]:
    """The credentials for one credential request (one per key proof), in the caller's transaction."""
    configuration, achievement_ids = requested(body, grant)
    proofs = body.get("proofs")
    if body.get("proof") is not None:
        raise invalid_proof("OpenID4VCI 1.0 sends key proofs as proofs.jwt (an array), not proof")
    if not isinstance(proofs, dict) or not isinstance(proofs.get("jwt"), list) or not proofs["jwt"]:
        raise invalid_proof("the request must carry key proofs in proofs.jwt")
    if set(proofs) != {"jwt"}:
        raise invalid_proof("only the jwt proof type is supported")
    if len(proofs["jwt"]) > BATCH_SIZE:
        raise invalid_proof(f"at most {BATCH_SIZE} key proofs per request")
    checked = [check_proof(proof, settings) for proof in proofs["jwt"]]
    nonces = {proof.nonce for proof in checked}
    if len(nonces) != 1 or not spend_nonce(conn, nonces.pop()):
        raise WalletError("invalid_nonce", "the c_nonce is unknown, expired or already used; fetch a new one")

    person = person_view(conn, grant.person_id)
    by_id = _flatten(person.achievements) if person else {}
    chosen = [by_id[a] for a in achievement_ids if a in by_id]
    if person is None or len(chosen) != len(achievement_ids):
        # Withdrawn or corrected since the offer: the register no longer vouches for it as offered.
        raise WalletError(
            "credential_request_denied", "the result offered is no longer valid in the register"
        )
    nin = national_id_of(conn, grant.person_id)
    keys = issuer_keys(settings)
    issued_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expires_at = issued_at + dt.timedelta(days=settings.wallet_credential_days)
    if configuration == LEARNING:
        claims = credentials.learning_claims(
            person, chosen[0], nin or "", issued=issued_at.date(), expires=expires_at.date()
        )
    else:
        claims = credentials.elm_claims(person, chosen, issued=issued_at.date())
    made = []
    for proof in checked:
        list_no, index = _place(conn, grant, configuration, achievement_ids, proof, expires_at)
        made.append(
            credentials.sign(
                claims,
                vct=CONFIGURATIONS[configuration],
                keys=keys,
                issuer=settings.wallet_issuer_url,
                holder_jwk=proof.jwk,
                status_uri=status_uri(settings, list_no),
                status_index=index,
                issued_at=issued_at,
                expires_at=expires_at,
            )
        )
        record_event(
            conn,
            action="wallet.credential_issued",
            person_id=grant.person_id,
            client_id="wallet",
            details={
                "offer": str(grant.offer_id),
                "configuration": configuration,
                "achievement_ids": [str(a) for a in achievement_ids],
                "holder_jkt": proof.thumbprint,
                "status_list": list_no,
                "status_index": index,
            },
        )
    return made


def _place(
    conn: Connection,
    grant: Grant,
    configuration: str,
    achievement_ids: list[uuid.UUID],
    proof: Proof,
    expires_at: dt.datetime,
) -> tuple[int, int]:
    """Record the credential with a free random place in the current status list."""
    list_no, index = status.allocate(conn)
    for _ in range(STATUS_PLACE_ATTEMPTS):
        placed = conn.execute(
            text(
                """INSERT INTO wallet_credential (person_id, offer_id, configuration_id, achievement_ids,
                                                  holder_jkt, status_list, status_index, expires_at)
                   VALUES (:person, :offer, :config, CAST(:ids AS uuid[]), :jkt, :list, :index, :expires)
                   ON CONFLICT (status_list, status_index) DO NOTHING RETURNING id"""
            ),
            {
                "person": grant.person_id,
                "offer": grant.offer_id,
                "config": configuration,
                "ids": achievement_ids,
                "jkt": proof.thumbprint,
                "list": list_no,
                "index": index,
                "expires": expires_at,
            },
        ).first()
        if placed is not None:
            return list_no, index
        index = status.next_index()
    raise RuntimeError(f"no free place found in status list {list_no}")


def _flatten(nodes: list[AchievementView]) -> dict[uuid.UUID, AchievementView]:
    found: dict[uuid.UUID, AchievementView] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        found[node.id] = node
        stack.extend(node.parts)
    return found
