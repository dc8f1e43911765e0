"""``register wallet offer`` (the national id on standard input only), and the production settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from register.database import get_engine
from register.settings import Settings
from tests.wallet.conftest import PRE_AUTHORIZED, Learner, parse_offer


@pytest.fixture
def cli(db: Engine) -> Iterator[CliRunner]:
    get_engine.cache_clear()
    yield CliRunner()
    get_engine().dispose()
    get_engine.cache_clear()


def test_cli_offer_reads_the_national_id_from_standard_input(
    cli: CliRunner, learner: Learner, db: Engine
) -> None:
    ids = [arg for a in learner.achievements for arg in ("--achievement", str(a))]
    result = cli.invoke(app, ["wallet", "offer", *ids, "--elm"], input=learner.nin + "\n")
    assert result.exit_code == 0, result.output
    link, tx_line, _ = result.stdout.splitlines()
    offer = parse_offer(link)
    assert offer["credential_configuration_ids"] == [
        "eu.europa.ec.eudi.learning_credential_vc_sd_jwt",
        "eu.dc4eu.elm_sd_jwt",
    ]
    assert "tx_code" in offer["grants"][PRE_AUTHORIZED]
    assert tx_line.startswith("tx_code: ") and len(tx_line.split()[1]) == 6
    assert learner.nin not in result.output
    with db.connect() as conn:
        who = conn.execute(text("SELECT created_by FROM wallet_offer")).scalar_one()
        audited = conn.execute(
            text("SELECT client_id FROM audit_event WHERE action = 'wallet.offer_created'")
        ).scalar_one()
    assert who == audited == "cli"


def test_cli_offer_refuses_the_national_id_as_an_argument(cli: CliRunner, learner: Learner) -> None:
    result = cli.invoke(app, ["wallet", "offer", "--achievement", str(learner.achievements[0]), learner.nin])
    assert result.exit_code == 2 and "cli.nin_in_arguments" in result.output
    assert learner.nin not in result.output


def test_cli_offer_of_someone_elses_result(cli: CliRunner, learner: Learner) -> None:
    result = cli.invoke(app, ["wallet", "offer", "--achievement", "not-a-uuid"], input=learner.nin)
    assert result.exit_code == 2 and "wallet.achievement_unknown" in result.output


def test_production_needs_a_configured_issuer_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = {
        "environment": "production",
        "database_url": "postgresql://register@db/register",
        "jwt_issuers": ["https://maskinporten.no/"],
        "jwks_files": [tmp_path / "jwks.json"],
        "allow_synthetic_ids": False,  # the test environment turns them on
    }
    assert not Settings(**base).wallet_issuance_enabled  # off until configured
    with pytest.raises(ValidationError, match="WALLET_ISSUER_KEY_PATH"):
        Settings(**base, wallet_enabled=True, wallet_issuer_url="https://kompetanseregisteret.no")
    with pytest.raises(ValidationError, match="https"):
        Settings(
            **base,
            wallet_enabled=True,
            wallet_issuer_key_path=tmp_path / "k.pem",
            wallet_issuer_chain_path=tmp_path / "c.pem",
        )
