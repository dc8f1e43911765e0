"""Verified tokens are remembered until their ``exp`` and no longer; a token that fails is never remembered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.auth import AuthError, TokenVerifier, _load_jwks
from tests.api.conftest import AUDIENCE, ISSUER, KID, READ, STATS, claims

ORG = "910000004"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).timestamp()

    def __call__(self) -> float:
        return self.now


class Counting(TokenVerifier):
    """Counts the full verifications (signature and claims) behind ``verify``."""

    full = 0

    def _verify(self, token: str) -> Any:
        self.full += 1
        return super()._verify(token)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _verifier(jwks_file: Path, clock: Clock, **options: Any) -> Counting:
    return Counting(
        {ISSUER: _load_jwks(jwks_file)}, audience=AUDIENCE, leeway_seconds=30, clock=clock, **options
    )


def _token(key: rsa.RSAPrivateKey, *scopes: str, **overrides: Any) -> str:
    return jwt.encode(claims(ORG, scopes, **overrides), key, algorithm="RS256", headers={"kid": KID})


def test_a_token_is_verified_once_while_it_lives_and_again_from_its_exp(
    jwks_file: Path, issuer_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    verifier = _verifier(jwks_file, clock)
    exp = dt.datetime.fromtimestamp(int(clock.now) + 300, dt.UTC)
    token = _token(issuer_key, READ, exp=exp)
    first = verifier.verify(token)
    assert verifier.verify(token) == first and verifier.full == 1
    clock.now = exp.timestamp() - 0.001
    assert verifier.verify(token) == first and verifier.full == 1
    # From exp on the cache answers nothing; only the full check (with its leeway) may still accept it.
    clock.now = exp.timestamp()
    assert verifier.verify(token) == first and verifier.full == 2


def test_tokens_are_remembered_each_for_itself(
    jwks_file: Path, issuer_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    verifier = _verifier(jwks_file, clock)
    reader, analyst = _token(issuer_key, READ), _token(issuer_key, STATS)
    assert verifier.verify(reader).scopes == {READ}
    assert verifier.verify(analyst).scopes == {STATS}
    assert verifier.verify(reader).scopes == {READ} and verifier.verify(analyst).scopes == {STATS}
    assert verifier.full == 2


def test_a_failing_token_fails_every_time(
    jwks_file: Path, issuer_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    verifier = _verifier(jwks_file, clock)
    now = dt.datetime.now(dt.UTC)
    expired = _token(issuer_key, READ, iat=now - dt.timedelta(hours=2), exp=now - dt.timedelta(hours=1))
    header, payload, signature = _token(issuer_key, READ).split(".")
    tampered = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    for bad in (expired, tampered):
        for _ in range(3):
            with pytest.raises(AuthError):
                verifier.verify(bad)
    assert verifier.full == 6


def test_the_cache_is_bounded_and_drops_expired_tokens_first(
    jwks_file: Path, issuer_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    verifier = _verifier(jwks_file, clock, cache_size=3)
    short = _token(issuer_key, READ, exp=dt.datetime.fromtimestamp(int(clock.now) + 60, dt.UTC))
    tokens = [_token(issuer_key, READ) for _ in range(2)]  # five minutes each
    for token in (short, *tokens):
        verifier.verify(token)
    clock.now += 120  # ``short`` has expired
    newest = _token(issuer_key, READ, exp=dt.datetime.fromtimestamp(int(clock.now) + 300, dt.UTC))
    verifier.verify(newest)
    assert len(verifier._verified) == 3
    verifier.full = 0
    for token in (*tokens, newest):
        verifier.verify(token)
    assert verifier.full == 0  # the expired one made room, not a live one
    one_more = _token(issuer_key, READ, exp=dt.datetime.fromtimestamp(int(clock.now) + 300, dt.UTC))
    verifier.verify(one_more)
    assert len(verifier._verified) == 3
    verifier.verify(tokens[0])  # the oldest live entry made room this time
    assert verifier.full == 2


def test_no_cache_at_all_when_the_size_is_zero(
    jwks_file: Path, issuer_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    verifier = _verifier(jwks_file, clock, cache_size=0)
    token = _token(issuer_key, READ)
    verifier.verify(token)
    verifier.verify(token)
    assert verifier.full == 2 and not verifier._verified
