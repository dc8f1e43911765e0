"""One settings class for the whole register, read from the environment with the prefix ``REGISTER_``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from register import datadir


def default_parse_workers() -> int:
    """The processors this process may use beyond two (the importer's own and the database's), at most
    four: none on two cores, where the workers only took the processor time the importer and the
    database need (docs/performance.md, "Parsing in worker processes")."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    return max(0, min(4, usable - 2))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTER_", env_file=None, extra="ignore")

    environment: Literal["development", "production"] = "development"
    # Unset: an embedded PostgreSQL is started under ``data_dir`` (development only).
    database_url: str | None = None
    # Connections each process keeps open: at least the API's 40 request threads, so that requests under
    # load never wait to open one (10 more are opened past it at peaks and closed again).
    db_pool_size: int = Field(default=40, ge=1)
    # Asynchronous connections each process keeps for the JSON look-up (api/async_db.py): a look-up holds
    # one for its one statement (~1 ms), the audit group writer one per group, so 32 concurrent look-ups
    # kept 3–6 busy at once in the benchmark.
    lookup_pool_size: int = Field(default=16, ge=2)
    # Unset: the nearest .register above the current folder, else the project's (register.datadir).
    data_dir: Path = Field(default_factory=datadir.default)
    # None means "decide from the database": on with the embedded development database, off otherwise.
    allow_synthetic_ids: bool | None = None

    # Imports
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    max_xml_depth: int = Field(default=64, ge=8)
    elmo_require_valid_signature: bool = False
    # ELMO signing (POST /v1/persons/elmo, ``register export elmo --sign``): a PEM private key and its X.509
    # certificate, both or neither. Unset: a key made under data_dir in development; none in production,
    # where the ELMO endpoint then answers 503 (register/exports/signing.py, docs/operations.md).
    elmo_signing_key_path: Path | None = None
    elmo_signing_cert_path: Path | None = None
    import_chunk_rows: int = Field(default=10_000, ge=100)
    # Worker processes reading a large ELMO batch's documents while it streams (importers/higher/elmo/
    # parallel.py); 0: the importer reads them itself. Default: default_parse_workers.
    import_parse_workers: int = Field(default_factory=default_parse_workers, ge=0, le=64)
    # The analysts' roll-ups (register.stats): refreshed right after each import commits, or only by the
    # server's timer every stats_refresh_seconds (and ``register stats refresh``), many batches at once.
    stats_refresh: Literal["after_import", "background"] = "after_import"
    stats_refresh_seconds: float = Field(default=5.0, gt=0)
    # Micro-credentials (importers/micro): issuer id (URL or DID) -> JWKS file of its VC-JWT keys;
    # what to do with a credential whose validUntil has passed; whether an unverifiable proof rejects.
    micro_issuer_jwks: dict[str, Path] = {}
    micro_expired_credentials: Literal["import", "reject"] = "import"
    micro_require_verified_proof: bool = False
    micro_max_credential_bytes: int = Field(default=16 * 1024**2, ge=1024)

    # Read side
    suppression_threshold: int = Field(default=5, ge=1)
    # Encoded statistics answers kept per server process until the next refresh (0: no cache).
    stats_cache_bytes: int = Field(default=64 * 1024**2, ge=0)
    # The longest a statistics table by NUS or grade (computed from the person cells) may take.
    stats_on_demand_seconds: float = Field(default=30.0, gt=0)
    # GraphQL (/graphql): None = introspection on in development, off in production. Depth counts nested
    # selections; cost is the estimated number of objects a query may resolve (lists count their page
    # size); both are checked before a query runs.
    graphql_introspection: bool | None = None
    graphql_max_depth: int = Field(default=12, ge=2)
    graphql_max_cost: int = Field(default=50_000, ge=10)
    graphql_max_aliases: int = Field(default=15, ge=0)
    graphql_max_page_size: int = Field(default=500, ge=1)

    # Auth (Maskinporten-shaped JWTs)
    jwt_audience: str = "https://kompetanseregisteret.no"
    jwt_issuers: list[str] = []
    jwks_files: list[Path] = []
    jwt_leeway_seconds: int = 30
    dev_signing_key_path: Path | None = None

    # Audit checkpoints (register.audit_checkpoints): signed heads of every audit chain, written to this
    # directory (outside the database) by the server every interval and by ``register audit checkpoint``.
    # Unset: no scheduled checkpoints. The Ed25519 key is created under data_dir in development only.
    audit_checkpoint_dir: Path | None = None
    audit_checkpoint_interval_seconds: float = Field(default=300.0, gt=0)
    audit_signing_key_path: Path | None = None

    # Wallet issuance (register.wallet, docs/wallet.md): OpenID4VCI pre-authorized code flow, SD-JWT VC.
    # None: on in development, off in production until the issuer key and chain are configured.
    wallet_enabled: bool | None = None
    # The Credential Issuer Identifier (and `iss` of every credential): the register's public https origin.
    wallet_issuer_url: str = "http://127.0.0.1:8000"
    # P-256 private key (PEM) and its certificate chain (PEM, leaf first, no trust anchor): in production
    # a certificate from the national trusted list; unset in development = made under data_dir/wallet.
    wallet_issuer_key_path: Path | None = None
    wallet_issuer_chain_path: Path | None = None
    # An offer is redeemed within minutes of being shown (QR code on the page); 10 minutes is room to
    # install a wallet first. Five wrong transaction codes end the offer: a 6-digit code then falls to a
    # guess with odds of 5 in a million.
    wallet_offer_seconds: int = Field(default=600, ge=30, le=86_400)
    wallet_tx_code_attempts: int = Field(default=5, ge=1, le=20)
    wallet_access_token_seconds: int = Field(default=300, ge=30, le=3600)
    wallet_nonce_seconds: int = Field(default=300, ge=30, le=3600)
    wallet_credential_days: int = Field(default=365, ge=1, le=3650)
    # How long a verifier may cache a status list token (its `ttl`); the token itself lives a day.
    wallet_status_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    # Citizen pages (api/citizen, docs/citizen.md): OpenID Connect login against ID-porten in production.
    # Unset issuer in development: the test identity provider at /test-idp of the same server.
    citizen_oidc_issuer: str | None = None  # e.g. https://idporten.no
    citizen_oidc_client_id: str | None = None
    citizen_oidc_client_secret: SecretStr | None = None
    # Unset: built from the request (the address the browser used) + /me/login/callback.
    citizen_oidc_redirect_uri: str | None = None
    citizen_acr_values: str = "idporten-loa-substantial"
    # The levels the ID token's acr may carry: substantial and above (high is ID-porten's other level).
    citizen_acr_accepted: list[str] = ["idporten-loa-substantial", "idporten-loa-high"]
    # The local test identity provider (api/test_idp): None = on in development, never in production.
    citizen_test_idp: bool | None = None
    # ID-porten's own session lasts 30 minutes idle and 120 at most; the register's follows it.
    citizen_session_idle_minutes: int = Field(default=30, ge=1)
    citizen_session_max_minutes: int = Field(default=120, ge=1)
    # Share links: 6 months unless the citizen picks a shorter time; never more than a year.
    share_link_default_days: int = Field(default=183, ge=1, le=365)
    share_link_max_days: int = Field(default=365, ge=1, le=365)
    # OOTS evidence provider (register.oots, docs/oots.md). The preview pages' public https base (the
    # PreviewLocation of every request starts with it); unset: http://127.0.0.1:8000 in development.
    oots_public_base_url: str | None = None
    # How long a request waits for the person's preview: an evidence requester's session with the
    # citizen lasts about as long, and a preview left open past it is refused as expired (EDM:ERR:0005).
    oots_preview_seconds: int = Field(default=3600, ge=60)
    # Real requests are 4-8 KiB; 1 MiB leaves room for long names and many requirements, and bounds
    # what an unauthenticated-looking connector bug could make the parser hold.
    oots_max_request_bytes: int = Field(default=1024**2, ge=16 * 1024)
    # The least eIDAS level of assurance at which a person is looked up at all (the citizen pages ask
    # ID-porten for substantial, so a weaker login abroad never finds more than one at home would).
    oots_min_level_of_assurance: Literal["Substantial", "High"] = "Substantial"
    # The evidence provider as the EDM names it (EAS 0192: a Norwegian organisasjonsnummer).
    oots_provider_orgnr: str = "919477822"
    oots_provider_name: str = "Kompetanseregisteret"
    # The procedures (the request's Procedure code or English text) evidence is given for; empty: any
    # (the Evidence Broker already ties the register's evidence types to the education procedures).
    oots_procedures: list[str] = []
    # A folder with an operator's EDM 2.0.1 artefacts (register.oots.validation): xsd/ and sch/.
    oots_validation_dir: Path | None = None

    # HTTP
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _elmo_signing_is_whole(self) -> Settings:
        # A key without its certificate (or the reverse) cannot sign: refused at start, not per request.
        if (self.elmo_signing_key_path is None) != (self.elmo_signing_cert_path is None):
            raise ValueError(
                "set both REGISTER_ELMO_SIGNING_KEY_PATH and REGISTER_ELMO_SIGNING_CERT_PATH, or neither"
            )
        return self

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.environment == "production":
            if not self.database_url:
                raise ValueError("REGISTER_DATABASE_URL must be set in production (no embedded database)")
            if self.allow_synthetic_ids:
                raise ValueError("REGISTER_ALLOW_SYNTHETIC_IDS cannot be on in production")
            if not self.jwks_files or not self.jwt_issuers:
                raise ValueError("production needs REGISTER_JWT_ISSUERS and REGISTER_JWKS_FILES")
            if self.oots_public_base_url and not self.oots_public_base_url.startswith("https://"):
                raise ValueError("REGISTER_OOTS_PUBLIC_BASE_URL must be an https URL (EDM PreviewLocation)")
            if self.audit_checkpoint_dir and not self.audit_signing_key_path:
                raise ValueError(
                    "REGISTER_AUDIT_CHECKPOINT_DIR needs REGISTER_AUDIT_SIGNING_KEY_PATH in production "
                    "(an Ed25519 private key; none is generated outside development)"
                )
            if self.wallet_enabled and not (self.wallet_issuer_key_path and self.wallet_issuer_chain_path):
                raise ValueError(
                    "REGISTER_WALLET_ENABLED needs REGISTER_WALLET_ISSUER_KEY_PATH and "
                    "REGISTER_WALLET_ISSUER_CHAIN_PATH in production (a certificate from the trusted list)"
                )
            if self.wallet_enabled and not self.wallet_issuer_url.startswith("https://"):
                raise ValueError("REGISTER_WALLET_ISSUER_URL must be an https URL in production")
            if self.citizen_test_idp:
                raise ValueError(
                    "REGISTER_CITIZEN_TEST_IDP cannot be on in production (a development stand-in)"
                )
        return self

    @property
    def oots_preview_base(self) -> str:
        """Where the preview pages are reached from outside; in production only as configured."""
        if self.oots_public_base_url:
            return self.oots_public_base_url.rstrip("/")
        if self.environment != "development":
            raise ValueError("REGISTER_OOTS_PUBLIC_BASE_URL is not set (the preview pages' https address)")
        return "http://127.0.0.1:8000"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def graphql_introspection_enabled(self) -> bool:
        if self.graphql_introspection is not None:
            return self.graphql_introspection
        return self.environment == "development"

    @property
    def wallet_issuance_enabled(self) -> bool:
        if self.wallet_enabled is not None:
            return self.wallet_enabled
        return self.environment == "development"

    @property
    def test_idp_enabled(self) -> bool:
        if self.environment == "production":
            return False
        return self.citizen_test_idp if self.citizen_test_idp is not None else True

    @property
    def synthetic_ids_allowed(self) -> bool:
        if self.allow_synthetic_ids is not None:
            return self.allow_synthetic_ids
        return self.uses_embedded_database and self.environment == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
