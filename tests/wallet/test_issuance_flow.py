"""The whole pre-authorized flow, as a wallet runs it, and every credential checked by a verifier."""

from __future__ import annotations

from fastapi.testclient import TestClient
from jwcrypto.jwk import JWK
from sqlalchemy import Engine, text

from register.settings import Settings
from register.wallet.credentials import ELM_VCT, LEARNING_VCT
from tests.api.conftest import WRITE, Token, bearer, vocational_csv
from tests.factories import new_nin
from tests.wallet.conftest import (
    ISSUER,
    Learner,
    Wallet,
    offer_for,
    parse_offer,
    status_of,
    today,
    vct_of,
    verify,
)


def test_metadata_documents(client: TestClient) -> None:
    issuer = client.get("/.well-known/openid-credential-issuer").json()
    assert issuer["credential_issuer"] == ISSUER
    assert issuer["nonce_endpoint"] == ISSUER + "/wallet/nonce"
    configs = issuer["credential_configurations_supported"]
    learning = configs["eu.europa.ec.eudi.learning_credential_vc_sd_jwt"]
    assert (learning["format"], learning["vct"]) == ("dc+sd-jwt", LEARNING_VCT)
    assert learning["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == ["ES256"]
    assert configs["eu.dc4eu.elm_sd_jwt"]["vct"] == ELM_VCT
    server = client.get("/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == ISSUER and server["token_endpoint"] == ISSUER + "/wallet/token"
    assert "urn:ietf:params:oauth:grant-type:pre-authorized_code" in server["grant_types_supported"]


def test_learning_credentials_one_per_achievement(
    client: TestClient, db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet
) -> None:
    offer = offer_for(db, wallet_settings, learner)
    body = parse_offer(offer.uri)
    assert body["credential_configuration_ids"] == ["eu.europa.ec.eudi.learning_credential_vc_sd_jwt"]
    tx = body["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]
    assert (tx["input_mode"], tx["length"], len(offer.tx_code)) == ("numeric", 6, 6)

    made = wallet.receive(offer.uri, offer.tx_code)
    assert len(made) == 2
    checked = [verify(client, wallet_settings, c, wallet, LEARNING_VCT) for c in made]
    titles = sorted(v.payload["achievement_title"] for v in checked)
    assert titles == ["Emne DAT100", "Emne DAT200"]
    first = next(v for v in checked if v.payload["achievement_title"] == "Emne DAT100")
    claims = first.payload
    assert (claims["family_name"], claims["given_name"]) == ("Haugen", "Ingrid")
    assert claims["assessment_grade"] == "B" and claims["level_of_learning_experience"] == 6
    assert claims["expected_study_time"] == "7.5 ects"
    assert claims["learner_identification"] == learner.nin
    assert claims["issuing_country"] == "NO" and claims["date_of_issuance"] == today().isoformat()
    # Selective disclosure as the Type Metadata says: sd "always" claims are digests in the signed
    # JWT, sd "never" claims are plain.
    for hidden in ("family_name", "given_name", "learner_identification", "assessment_grade"):
        assert hidden not in first.signed
    for plain in ("achievement_title", "issuing_authority", "vct", "iss", "status", "cnf"):
        assert plain in first.signed
    assert first.signed["_sd_alg"] == "sha-256"
    # Each credential its own status entry, valid.
    places = {
        (v.payload["status"]["status_list"]["uri"], v.payload["status"]["status_list"]["idx"])
        for v in checked
    }
    assert len(places) == 2
    assert [status_of(client, wallet_settings, v.payload["status"]) for v in checked] == [0, 0]
    # Audited: who, which achievement, which holder key.
    with db.connect() as conn:
        rows = (
            conn.execute(
                text(
                    "SELECT details FROM audit_event WHERE action = 'wallet.credential_issued' AND person_id = :p"
                ),
                {"p": learner.person_id},
            )
            .scalars()
            .all()
        )
    thumbprint = JWK(**wallet.public_jwk).thumbprint()
    assert {r["holder_jkt"] for r in rows} == {thumbprint}
    with db.connect() as conn:  # the national id is in the credential, never in the audit trail
        details = conn.execute(text("SELECT details::text FROM audit_event")).scalars().all()
    assert details and not any(learner.nin in d for d in details)
    assert sorted(a for r in rows for a in r["achievement_ids"]) == sorted(
        str(a) for a in learner.achievements
    )


def test_elm_credential_and_batch_of_keys(
    client: TestClient, db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet
) -> None:
    offer = offer_for(db, wallet_settings, learner, elm_document=True)
    grant = parse_offer(offer.uri)["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert wallet.token(grant["pre-authorized_code"], offer.tx_code).status_code == 200
    second = Wallet(client)
    nonce = wallet.nonce()
    answer = wallet.credential(
        {
            "credential_configuration_id": "eu.dc4eu.elm_sd_jwt",
            "proofs": {"jwt": [wallet.proof(nonce), second.proof(nonce)]},
        }
    )
    assert answer.status_code == 200, answer.text
    made = [c["credential"] for c in answer.json()["credentials"]]
    assert len(made) == 2  # one per key proof, each bound to its own key
    one = verify(client, wallet_settings, made[0], wallet, ELM_VCT)
    two = verify(client, wallet_settings, made[1], second, ELM_VCT)
    assert one.payload["status"] != two.payload["status"]
    subject = one.payload["elm"]["credentialSubject"]
    assert subject["givenName"]["und"] == "Ingrid" and subject["familyName"]["und"] == "Haugen"
    assert len(subject["hasClaim"]) == 2
    assert "givenName" in one.signed["elm"]["credentialSubject"]
    assert "und" not in one.signed["elm"]["credentialSubject"]["givenName"]  # disclosable, as DC4EU says


def test_withdrawal_flips_the_status_bit(
    client: TestClient,
    db: Engine,
    wallet_settings: Settings,
    learner: Learner,
    wallet: Wallet,
    token: Token,
    orgs: dict[str, str],
) -> None:
    offer = offer_for(db, wallet_settings, learner, elm_document=True)
    made = wallet.receive(offer.uri, offer.tx_code)
    checked = [verify(client, wallet_settings, c, wallet, vct_of(c)) for c in made]
    withdrawn = learner.achievements[0]
    answer = client.post(
        f"/v1/achievements/{withdrawn}/withdrawal",
        json={"reason": "feilregistrert"},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert answer.status_code == 200
    statuses = {
        (v.payload["vct"], v.payload.get("achievement_title")): status_of(
            client, wallet_settings, v.payload["status"]
        )
        for v in checked
    }
    assert statuses == {
        (LEARNING_VCT, "Emne DAT100"): 1,  # the withdrawn one
        (LEARNING_VCT, "Emne DAT200"): 0,
        (ELM_VCT, None): 1,  # the ELM document held it too
    }


def test_a_corrected_delivery_flips_the_status_bit(
    client: TestClient,
    db: Engine,
    wallet_settings: Settings,
    wallet: Wallet,
    token: Token,
    orgs: dict[str, str],
) -> None:
    nin = new_nin(43)

    def deliver(grade: str) -> None:
        answer = client.post(
            "/v1/batches?sector=vocational",
            content=vocational_csv(orgs["own"], nin, rows=2, grade=grade),
            headers={**bearer(token(orgs["own"], WRITE)), "Content-Type": "text/csv"},
        )
        assert answer.status_code == 201, answer.text

    deliver("B")
    with db.connect() as conn:
        person, course = conn.execute(
            text(
                """SELECT a.person_id, a.id FROM achievement a JOIN learning_specification s
                   ON s.id = a.specification_id WHERE s.code = 'EL-101'"""
            )
        ).one()
    learner = Learner(nin, person, [course])
    offer = offer_for(db, wallet_settings, learner)
    (made,) = wallet.receive(offer.uri, offer.tx_code)
    reference = verify(client, wallet_settings, made, wallet, LEARNING_VCT).payload["status"]
    assert status_of(client, wallet_settings, reference) == 0
    deliver("A")  # the provider corrects the grades: a new version of each result
    assert status_of(client, wallet_settings, reference) == 1
