"""The register's credential types against their published definitions: the EU reference issuer's
configuration and Type Metadata of the learning credential, DC4EU's Type Metadata of the ELM type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from register.settings import Settings
from register.wallet.credentials import ELM, ELM_VCT, LEARNING, LEARNING_VCT
from register.wallet.metadata import configurations
from tests.wallet.conftest import Learner, Wallet, offer_for, vct_of, verify

EUDI = Path(__file__).parents[1] / "fixtures" / "formats" / "eudi"


def load(name: str) -> Any:
    return json.loads((EUDI / name).read_text())


def test_the_learning_configuration_offers_the_reference_claims() -> None:
    reference = load("eu-reference-issuer/learning_credential_jwt_vc.json")[LEARNING]
    mine = configurations()[LEARNING]
    assert (
        (mine["format"], mine["vct"])
        == (reference["format"], reference["vct"])
        == ("dc+sd-jwt", LEARNING_VCT)
    )
    claims = {tuple(c["path"]): c["mandatory"] for c in reference["credential_metadata"]["claims"]}
    assert {tuple(c["path"]): c["mandatory"] for c in mine["credential_metadata"]["claims"]} == claims


def test_learning_credential_discloses_as_its_type_metadata_says(
    client: TestClient, db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet
) -> None:
    offer = offer_for(db, wallet_settings, learner, [learner.achievements[0]])
    (made,) = wallet.receive(offer.uri, offer.tx_code)
    credential = verify(client, wallet_settings, made, wallet, LEARNING_VCT)
    metadata = load("eu-reference-issuer/learning_credential_type_metadata.json")
    assert metadata["vct"] == LEARNING_VCT
    top = [c for c in metadata["claims"] if len(c["path"]) == 1]
    for claim in top:
        name = claim["path"][0]
        if name not in credential.payload:
            # Only optional claims the register has no value for, and the one the configuration makes
            # mandatory but the register cannot know for every result (EQF level).
            assert not claim.get("mandatory") or name == "level_of_learning_experience", name
            continue
        where = "digest" if name not in credential.signed else "plain"
        assert where == ("digest" if claim["sd"] == "always" else "plain"), name
    mandatory = {c["path"][0] for c in top if c.get("mandatory")}
    assert mandatory <= set(credential.payload)


def test_elm_credential_discloses_as_dc4eu_says(
    client: TestClient, db: Engine, wallet_settings: Settings, learner: Learner, wallet: Wallet
) -> None:
    metadata = load("dc4eu/vctm_elm.json")
    assert metadata["vct"] == ELM_VCT == configurations()[ELM]["vct"]
    offer = offer_for(db, wallet_settings, learner, elm_document=True)
    made = wallet.receive(offer.uri, offer.tx_code)
    (elm,) = [verify(client, wallet_settings, c, wallet, ELM_VCT) for c in made if vct_of(c) == ELM_VCT]
    for claim in metadata["claims"]:
        # DC4EU writes an array position inside a path string ("hasClaim[0]"); take it apart.
        path: list[Any] = []
        for part in claim["path"]:
            name, _, rest = part.partition("[")
            path.append(name)
            if rest:
                path.append(int(rest.rstrip("]")))
        value: Any = elm.payload
        signed: Any = elm.signed
        for part in path[:-1]:
            value, signed = value[part], signed[part]
        assert isinstance(value[path[-1]], str) and value[path[-1]]
        assert claim["sd"] == "always" and path[-1] not in signed  # disclosable: a digest in the JWT
