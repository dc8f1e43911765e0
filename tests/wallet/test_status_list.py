"""Token Status List: the draft's test vectors decode, bits are least significant first, tokens verify."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from register.wallet import status

VECTORS = Path(__file__).parents[1] / "fixtures" / "formats" / "eudi" / "token-status-list"
# The draft's example key (src/util.py, kid 12): the public half, enough to verify its token.
EXAMPLE_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "I3HWm_0Ds1dPMI-IWmf4mBmH-YaeAVbPVu7vB27CxXo",
    "y": "6N_d5Elj9bs1htgV3okJKIdbHEpkgTmAluYKJemzn1M",
}
# What the draft's generator (src/main.py) set in each vector: index -> status.
SPARSE = (0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345)
LONG_2BIT = dict(zip(SPARSE, (1, 2, 1, 3, 1, 1, 2, 1, 1, 2, 3), strict=True))


def vector(name: str) -> dict:
    text = (VECTORS / name).read_text()
    # Values are wrapped over lines as in the draft; no value holds a blank, so all whitespace goes.
    return json.loads("".join(text[text.index("{") :].split()))


@pytest.mark.parametrize(
    ("name", "bits", "statuses"),
    [
        ("status_list_encoding_json.md", 1, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]),
        ("status_list_encoding2_json.md", 2, [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]),
    ],
)
def test_short_vectors(name: str, bits: int, statuses: list[int]) -> None:
    encoded = vector(name)
    assert encoded["bits"] == bits
    decoded = status.decode(encoded["lst"])
    assert [status.status_at(decoded, i, bits) for i in range(len(statuses))] == statuses


def test_the_first_vector_is_least_significant_bit_first() -> None:
    decoded = status.decode(vector("status_list_encoding_json.md")["lst"])
    assert decoded == bytes([0xB9, 0xA3])  # 1,0,0,1,1,1,0,1 read from bit 0 up is 0b10111001
    invalid = [i for i, s in enumerate([1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]) if s]
    assert status.statuses_with(invalid, size=16) == decoded
    assert status.statuses_with([0], size=8) == b"\x01" and status.statuses_with([7], size=8) == b"\x80"


def test_long_vectors() -> None:
    one = status.decode(vector("status_list_encoding1_long_json.md")["lst"])
    assert len(one) == 2**20 // 8
    assert [i for i in range(2**20) if status.status_at(one, i)] == list(SPARSE)
    two = status.decode(vector("status_list_encoding2_long_json.md")["lst"])
    assert len(two) == 2**20 * 2 // 8
    found = {i: s for i in range(2**20) if (s := status.status_at(two, i, 2))}
    assert found == LONG_2BIT


def test_the_registers_encoding_round_trips_and_matches_the_draft() -> None:
    mine = status.encode(status.statuses_with(SPARSE, size=2**20))
    theirs = vector("status_list_encoding1_long_json.md")
    assert mine["bits"] == 1
    # Compare the bytes, not the strings: another zlib level gives another string for the same bytes.
    assert status.decode(str(mine["lst"])) == status.decode(theirs["lst"])


def test_the_drafts_status_list_token_verifies() -> None:
    raw = "".join((VECTORS / "status_list_jwt_raw.md").read_text().split())
    key = jwt.PyJWK(EXAMPLE_KEY, algorithm="ES256")
    claims = jwt.decode(raw, key, algorithms=["ES256"], options={"verify_exp": False})
    assert jwt.get_unverified_header(raw)["typ"] == "statuslist+jwt"
    assert claims["sub"] == "https://example.com/statuslists/1"
    decoded = status.decode(claims["status_list"]["lst"])
    assert [status.status_at(decoded, i) for i in range(16)] == [
        1,
        0,
        0,
        1,
        1,
        1,
        0,
        1,
        1,
        1,
        0,
        0,
        0,
        1,
        0,
        1,
    ]
