"""Credential offers and the pre-authorized code flow's secrets: codes, transaction codes, tokens, nonces.

Every secret is 256 bits from ``secrets`` (the transaction code: 6 digits, a second factor the person
reads off the page) and is stored as its SHA-256 only. The transaction code is hashed together with the
pre-authorized code, so the 10^6 codes cannot be tried against a stolen table without the 256-bit code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Connection, text

from register.audit import record_event
from register.errors import InvalidInput
from register.settings import Settings
from register.wallet.credentials import ELM, LEARNING
from register.wallet.errors import WalletError, invalid_grant

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"
TX_CODE_LENGTH = 6
ELM_IDENTIFIER = "elm-document"  # the credential identifier of the one ELM credential in an offer


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True, slots=True)
class Offer:
    uri: str  # openid-credential-offer://?credential_offer=...
    tx_code: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid access token allows: the offer's person, its configurations and achievements."""

    offer_id: uuid.UUID
    person_id: uuid.UUID
    configuration_ids: list[str]
    achievement_ids: list[uuid.UUID]

    def identifiers(self) -> dict[str, list[str]]:
        """Credential identifiers per configuration (the token response's ``authorization_details``)."""
        found: dict[str, list[str]] = {}
        if LEARNING in self.configuration_ids:
            found[LEARNING] = [str(a) for a in self.achievement_ids]
        if ELM in self.configuration_ids:
            found[ELM] = [ELM_IDENTIFIER]
        return found


def create_offer(
    conn: Connection,
    person_id: uuid.UUID,
    achievement_ids: Sequence[uuid.UUID],
    settings: Settings,
    *,
    elm_document: bool = False,
    created_by: str = "citizen",
) -> Offer:
    """Offer the person's chosen valid achievements to their wallet: one learning credential each, and
    with ``elm_document`` also one ELM credential holding them all. Audited in the caller's transaction.

    Raises InvalidInput ``wallet.achievement_unknown`` when an id is not a valid achievement of the
    person (the same answer whether it belongs to another person or does not exist).
    """
    wanted = list(dict.fromkeys(achievement_ids))
    if not wanted:
        raise InvalidInput("wallet.no_achievement", "choose at least one achievement to put in the wallet")
    found = conn.execute(
        text(
            """SELECT count(*) FROM achievement
               WHERE id = ANY(CAST(:ids AS uuid[])) AND person_id = :person AND status = 'valid'"""
        ),
        {"ids": wanted, "person": person_id},
    ).scalar_one()
    if found != len(wanted):
        raise InvalidInput(
            "wallet.achievement_unknown", "an achievement chosen is not a valid result of this person"
        )
    configurations = [LEARNING, ELM] if elm_document else [LEARNING]
    code = secrets.token_urlsafe(32)
    tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.wallet_offer_seconds)
    offer_id = conn.execute(
        text(
            """INSERT INTO wallet_offer (person_id, code_hash, tx_code_hash, configuration_ids,
                                         achievement_ids, created_by, expires_at)
               VALUES (:person, :code, :tx, :configs, CAST(:ids AS uuid[]), :by, :expires) RETURNING id"""
        ),
        {
            "person": person_id,
            "code": digest(code),
            "tx": digest(code + tx_code),
            "configs": configurations,
            "ids": wanted,
            "by": created_by,
            "expires": expires_at,
        },
    ).scalar_one()
    record_event(
        conn,
        action="wallet.offer_created",
        person_id=person_id,
        client_id=created_by,
        details={
            "offer": str(offer_id),
            "achievement_ids": [str(a) for a in wanted],
            "configurations": configurations,
        },
    )
    offer = {
        "credential_issuer": settings.wallet_issuer_url,
        "credential_configuration_ids": configurations,
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": TX_CODE_LENGTH,
                    "description": "Skriv inn koden som vises i Kompetanseregisteret / "
                    "Enter the code shown in Kompetanseregisteret",
                },
            }
        },
    }
    encoded = quote(json.dumps(offer, separators=(",", ":"), ensure_ascii=False), safe="")
    return Offer(uri=f"{OFFER_SCHEME}?credential_offer={encoded}", tx_code=tx_code, expires_at=expires_at)


def redeem(conn: Connection, code: str, tx_code: str | None, settings: Settings) -> tuple[str, int, Grant]:
    """The token endpoint's work: exchange a pre-authorized code and its transaction code for an access
    token (returned with its lifetime in seconds). The code is spent by the first right answer.

    A wrong transaction code is counted on the offer before ``invalid_grant`` is raised — the caller
    must commit before answering (``WalletError.commit``) — and ``wallet_tx_code_attempts`` wrong codes
    end the offer. An unknown, expired, spent or ended offer gives the same ``invalid_grant``.
    """
    row = conn.execute(
        text(
            """SELECT id, person_id, tx_code_hash, configuration_ids, achievement_ids, failed_attempts
               FROM wallet_offer
               WHERE code_hash = :code AND redeemed_at IS NULL AND expires_at > now()
               FOR UPDATE"""
        ),
        {"code": digest(code)},
    ).one_or_none()
    if row is None or row.failed_attempts >= settings.wallet_tx_code_attempts:
        raise invalid_grant("the pre-authorized code is unknown, expired or already used")
    if not tx_code or not secrets.compare_digest(digest(code + tx_code), row.tx_code_hash):
        conn.execute(
            text("UPDATE wallet_offer SET failed_attempts = failed_attempts + 1 WHERE id = :id"),
            {"id": row.id},
        )
        left = settings.wallet_tx_code_attempts - row.failed_attempts - 1
        raise invalid_grant(
            "the transaction code (tx_code) is missing or wrong"
            + (f"; {left} attempt(s) left" if left else "; the offer is now ended"),
            commit=True,
        )
    conn.execute(text("UPDATE wallet_offer SET redeemed_at = now() WHERE id = :id"), {"id": row.id})
    token = secrets.token_urlsafe(32)
    conn.execute(
        text(
            """INSERT INTO wallet_access_token (token_hash, offer_id, person_id, expires_at)
               VALUES (:hash, :offer, :person, now() + make_interval(secs => :seconds))"""
        ),
        {
            "hash": digest(token),
            "offer": row.id,
            "person": row.person_id,
            "seconds": settings.wallet_access_token_seconds,
        },
    )
    grant = Grant(row.id, row.person_id, list(row.configuration_ids), list(row.achievement_ids))
    return token, settings.wallet_access_token_seconds, grant


def grant_of(conn: Connection, access_token: str) -> Grant:
    """The grant behind a valid access token; 401 ``invalid_token`` otherwise."""
    row = conn.execute(
        text(
            """SELECT o.id, o.person_id, o.configuration_ids, o.achievement_ids
               FROM wallet_access_token t JOIN wallet_offer o ON o.id = t.offer_id
               WHERE t.token_hash = :hash AND t.expires_at > now()"""
        ),
        {"hash": digest(access_token)},
    ).one_or_none()
    if row is None:
        raise WalletError("invalid_token", "the access token is unknown or expired", status=401)
    return Grant(row.id, row.person_id, list(row.configuration_ids), list(row.achievement_ids))


def revoke_access_tokens(conn: Connection, access_tokens: Sequence[str]) -> None:
    """End these access tokens (one that was sent where it may have been logged)."""
    conn.execute(
        text("DELETE FROM wallet_access_token WHERE token_hash = ANY(:hashes)"),
        {"hashes": [digest(t) for t in access_tokens]},
    )


def new_nonce(conn: Connection, settings: Settings) -> str:
    """A fresh ``c_nonce``; expired ones are swept in the same breath (an index range, few rows)."""
    conn.execute(text("DELETE FROM wallet_nonce WHERE expires_at <= now()"))
    nonce = secrets.token_urlsafe(32)
    conn.execute(
        text(
            """INSERT INTO wallet_nonce (nonce_hash, expires_at)
               VALUES (:hash, now() + make_interval(secs => :seconds))"""
        ),
        {"hash": digest(nonce), "seconds": settings.wallet_nonce_seconds},
    )
    return nonce


def spend_nonce(conn: Connection, nonce: str) -> bool:
    """True once for a nonce the register gave out and that has not expired; False ever after."""
    spent = conn.execute(
        text("DELETE FROM wallet_nonce WHERE nonce_hash = :hash AND expires_at > now() RETURNING 1"),
        {"hash": digest(nonce)},
    ).first()
    return spent is not None
