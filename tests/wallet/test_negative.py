"""Refusals, after the OpenID Foundation's OpenID4VCI issuer test plan: nonces, proofs, configurations,
the access token's place, the pre-authorized code and the transaction code."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register.errors import InvalidInput
from register.settings import Settings
from register.wallet import create_offer
from tests.api.conftest import WRITE, Token, bearer
from tests.api.rows import new_person
from tests.wallet.conftest import PRE_AUTHORIZED, Learner, Wallet, offer_for, parse_offer


def code_of(uri: str) -> str:
    return str(parse_offer(uri)["grants"][PRE_AUTHORIZED]["pre-authorized_code"])


@pytest.fixture
def holder(db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet) -> Wallet:
    """A wallet holding an access token for one achievement."""
    offer = offer_for(db, wallet_settings, learner, [learner.achievements[0]])
    assert wallet.token(code_of(offer.uri), offer.tx_code).status_code == 200
    return wallet


def identifier(wallet: Wallet) -> str:
    return str(wallet.details[0]["credential_identifiers"][0])


def request(wallet: Wallet, *proofs: str, **body: Any) -> dict[str, Any]:
    return {"credential_identifier": identifier(wallet), "proofs": {"jwt": list(proofs)}, **body}


def refused(answer: Any, status: int, error: str) -> None:
    assert (answer.status_code, answer.json()["error"]) == (status, error), answer.text
    assert answer.headers["cache-control"] == "no-store"


def test_a_nonce_the_issuer_never_gave_is_refused(holder: Wallet) -> None:
    refused(holder.credential(request(holder, holder.proof("made-up-nonce"))), 400, "invalid_nonce")


def test_a_proof_without_a_nonce_is_refused(holder: Wallet) -> None:
    refused(holder.credential(request(holder, holder.proof(None))), 400, "invalid_nonce")


def test_a_replayed_nonce_is_refused(holder: Wallet) -> None:
    nonce = holder.nonce()
    assert holder.credential(request(holder, holder.proof(nonce))).status_code == 200
    refused(holder.credential(request(holder, holder.proof(nonce))), 400, "invalid_nonce")


def test_an_expired_nonce_is_refused(holder: Wallet, db: Engine) -> None:
    nonce = holder.nonce()
    with db.begin() as conn:
        conn.execute(text("UPDATE wallet_nonce SET expires_at = now() - interval '1 second'"))
    refused(holder.credential(request(holder, holder.proof(nonce))), 400, "invalid_nonce")


def test_a_proof_signed_by_another_key_is_refused(holder: Wallet) -> None:
    other = ec.generate_private_key(ec.SECP256R1())  # signs, while the header names the wallet's key
    refused(holder.credential(request(holder, holder.proof(holder.nonce(), key=other))), 400, "invalid_proof")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"typ": "JWT"}, "wrong typ"),
        ({"claims": {"aud": "https://another-issuer.example"}}, "wrong audience"),
        ({"claims": {"iat": int(time.time()) - 3600}}, "an hour old"),
        ({"claims": {"iat": int(time.time()) + 3600}}, "from the future"),
        ({"kid": "did:example:123#1"}, "key named twice"),
    ],
)
def test_malformed_proofs_are_refused(holder: Wallet, change: dict[str, Any], why: str) -> None:
    refused(holder.credential(request(holder, holder.proof(holder.nonce(), **change))), 400, "invalid_proof")


def test_a_proof_carrying_a_private_key_is_refused(holder: Wallet) -> None:
    private = {**holder.public_jwk, "d": "AAAA"}
    refused(
        holder.credential(request(holder, holder.proof(holder.nonce(), jwk=private))), 400, "invalid_proof"
    )


@pytest.mark.parametrize(
    "proofs",
    [None, {}, {"jwt": []}, {"jwt": "not-a-list"}, {"jwt": ["not.a.jwt"]}, {"ldp_vp": [{}]}],
)
def test_a_missing_or_empty_proof_is_refused(holder: Wallet, proofs: Any) -> None:
    body: dict[str, Any] = {"credential_identifier": identifier(holder)}
    if proofs is not None:
        body["proofs"] = proofs
    refused(holder.credential(body), 400, "invalid_proof")


def test_the_draft_singular_proof_is_refused(holder: Wallet) -> None:
    body = {
        "credential_identifier": identifier(holder),
        "proof": {"proof_type": "jwt", "jwt": holder.proof(holder.nonce())},
    }
    refused(holder.credential(body), 400, "invalid_proof")


def test_unknown_credential_configuration_and_identifier(holder: Wallet) -> None:
    proof = holder.proof(holder.nonce())
    body = {"credential_configuration_id": "eu.europa.ec.eudi.pid_vc_sd_jwt", "proofs": {"jwt": [proof]}}
    refused(holder.credential(body), 400, "unknown_credential_configuration")
    offered_elsewhere = {"credential_configuration_id": "eu.dc4eu.elm_sd_jwt", "proofs": {"jwt": [proof]}}
    refused(holder.credential(offered_elsewhere), 400, "unknown_credential_configuration")
    another = {"credential_identifier": "00000000-0000-0000-0000-000000000000", "proofs": {"jwt": [proof]}}
    refused(holder.credential(another), 400, "unknown_credential_identifier")


def test_the_access_token_only_in_the_authorization_header(holder: Wallet, client: TestClient) -> None:
    body = request(holder, holder.proof(holder.nonce()))
    missing = client.post("/wallet/credential", json=body)
    refused(missing, 401, "invalid_token")
    assert missing.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    wrong = client.post("/wallet/credential", json=body, headers={"Authorization": "Bearer not-a-token"})
    refused(wrong, 401, "invalid_token")
    both = holder.credential(body, params={"access_token": holder.access_token})
    refused(both, 400, "invalid_request")
    # A token that travelled in a URL may sit in a log now: it is revoked, even in the header.
    refused(holder.credential(body), 401, "invalid_token")


def test_an_access_token_in_the_query_string_alone_is_refused_and_revoked(
    holder: Wallet, client: TestClient
) -> None:
    body = request(holder, holder.proof(holder.nonce()))
    in_query = client.post("/wallet/credential", params={"access_token": holder.access_token}, json=body)
    refused(in_query, 400, "invalid_request")
    refused(holder.credential(body), 401, "invalid_token")


def test_refusals_spend_no_nonce(holder: Wallet, client: TestClient) -> None:
    nonce = holder.nonce()
    refused(
        client.post("/wallet/credential", json=request(holder, holder.proof(nonce))), 401, "invalid_token"
    )
    bad = holder.proof(nonce, key=ec.generate_private_key(ec.SECP256R1()))
    refused(holder.credential(request(holder, bad)), 400, "invalid_proof")
    assert holder.credential(request(holder, holder.proof(nonce))).status_code == 200


def test_an_expired_access_token_is_refused(holder: Wallet, db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("UPDATE wallet_access_token SET expires_at = now() - interval '1 second'"))
    refused(holder.credential(request(holder, holder.proof(holder.nonce()))), 401, "invalid_token")


def test_a_pre_authorized_code_is_spent_once(
    db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet
) -> None:
    offer = offer_for(db, wallet_settings, learner)
    assert wallet.token(code_of(offer.uri), offer.tx_code).status_code == 200
    refused(Wallet(wallet.client).token(code_of(offer.uri), offer.tx_code), 400, "invalid_grant")


def test_a_wrong_transaction_code_is_counted_and_ends_the_offer(
    db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet
) -> None:
    offer = offer_for(db, wallet_settings, learner)
    wrong = f"{(int(offer.tx_code) + 1) % 10**6:06d}"
    refused(wallet.token(code_of(offer.uri), None), 400, "invalid_grant")
    for _ in range(wallet_settings.wallet_tx_code_attempts - 1):
        refused(wallet.token(code_of(offer.uri), wrong), 400, "invalid_grant")
    # The right code, after five wrong ones: the offer is ended all the same.
    refused(wallet.token(code_of(offer.uri), offer.tx_code), 400, "invalid_grant")
    with db.connect() as conn:
        attempts = conn.execute(text("SELECT failed_attempts FROM wallet_offer")).scalar_one()
    assert attempts == wallet_settings.wallet_tx_code_attempts


def test_an_expired_offer_and_other_grants(
    db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet, client: TestClient
) -> None:
    offer = offer_for(db, wallet_settings, learner)
    with db.begin() as conn:
        conn.execute(text("UPDATE wallet_offer SET expires_at = now() - interval '1 second'"))
    refused(wallet.token(code_of(offer.uri), offer.tx_code), 400, "invalid_grant")
    refused(
        client.post("/wallet/token", data={"grant_type": "authorization_code", "code": "x"}),
        400,
        "unsupported_grant_type",
    )
    refused(client.post("/wallet/token", data={"grant_type": PRE_AUTHORIZED}), 400, "invalid_request")


def test_a_result_withdrawn_after_the_offer_is_not_issued(
    holder: Wallet, learner: Learner, client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    answer = client.post(
        f"/v1/achievements/{learner.achievements[0]}/withdrawal",
        json={"reason": "feil"},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert answer.status_code == 200
    refused(
        holder.credential(request(holder, holder.proof(holder.nonce()))), 400, "credential_request_denied"
    )


def test_offers_only_for_the_persons_own_valid_results(
    db: Engine, wallet_settings: Settings, learner: Learner, orgs: dict[str, str]
) -> None:
    with db.begin() as conn:
        stranger = new_person(conn, None, "Ola", "Nordmann")
    with pytest.raises(InvalidInput) as caught, db.begin() as conn:
        create_offer(conn, stranger, learner.achievements, wallet_settings)
    assert caught.value.code == "wallet.achievement_unknown"
    with pytest.raises(InvalidInput) as empty, db.begin() as conn:
        create_offer(conn, learner.person_id, [], wallet_settings)
    assert empty.value.code == "wallet.no_achievement"


def test_the_status_list_of_nothing_is_not_found(client: TestClient) -> None:
    refused(client.get("/wallet/status/7"), 404, "not_found")
    assert client.get("/wallet/status/-1").status_code == 422
