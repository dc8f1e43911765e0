"""Each mandatory element of the Council Recommendation missing in turn gets its documented outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from importers.micro.council import ELEMENTS, Outcome
from tests.importers.micro.helpers import codes, errors, extract, full_badge, full_elm, records, warnings

# The decisions as docs/formats/micro.md states them; the table in council.py must agree.
DOCUMENTED = {
    "learner": Outcome.REJECT,
    "title": Outcome.REJECT,
    "issuer_country": Outcome.WARN,
    "awarding_body": Outcome.REJECT,
    "issue_date": Outcome.REJECT,
    "learning_outcomes": Outcome.WARN,
    "workload": Outcome.WARN,
    "level": Outcome.WARN,
    "assessment": Outcome.WARN,
    "participation": Outcome.WARN,
    "quality_assurance": Outcome.WARN,
}


def _claim(c: dict[str, Any]) -> dict[str, Any]:
    return c["credentialSubject"]["hasClaim"]


def _spec(c: dict[str, Any]) -> dict[str, Any]:
    return _claim(c)["specifiedBy"]


def _drop_country(c: dict[str, Any]) -> None:
    # An organisasjonsnummer makes the country Norway, so the body is named by its web id instead.
    org = _claim(c)["awardedBy"]["awardingBody"]
    org["id"] = "https://testkurs.example/org"
    del org["registration"], org["location"]


ELM_REMOVERS: dict[str, Callable[[dict[str, Any]], object]] = {
    "learner": lambda c: c["credentialSubject"].pop("nationalID"),
    "title": lambda c: (_spec(c).pop("title"), _claim(c).pop("title")),
    "issuer_country": _drop_country,
    "awarding_body": lambda c: (_claim(c).pop("awardedBy"), c.pop("issuer")),
    "issue_date": lambda c: (c.pop("issued"), c.pop("validFrom")),
    "learning_outcomes": lambda c: _spec(c).pop("learningOutcome"),
    "workload": lambda c: (_spec(c).pop("creditPoint"), _spec(c).pop("volumeOfLearning")),
    "level": lambda c: _spec(c).pop("eqfLevel"),
    "assessment": lambda c: _claim(c).pop("provenBy"),
    "participation": lambda c: _spec(c).pop("mode"),
    "quality_assurance": lambda c: _spec(c).pop("accreditation"),
}


def test_the_documented_decisions_are_the_implemented_ones() -> None:
    assert {e.key: e.outcome for e in ELEMENTS} == DOCUMENTED
    assert len(ELEMENTS) == 11


def test_a_complete_elm_credential_has_no_missing_element() -> None:
    items = extract(full_elm())
    assert codes(items) == []
    (record,) = records(items)
    assert "missing_elements" not in (record.details or {})


@pytest.mark.parametrize("key", list(ELM_REMOVERS))
def test_elm_credential_missing_one_element(key: str) -> None:
    credential = full_elm()
    ELM_REMOVERS[key](credential)
    items = extract(credential)
    if DOCUMENTED[key] is Outcome.REJECT:
        assert records(items) == []
        (error,) = errors(items)
        assert error.code == f"micro.element_missing.{key}"
        assert error.record == "credential 1"
        assert error.path == key
    else:
        assert errors(items) == []
        (record,) = records(items)
        assert record.details is not None and record.details["missing_elements"] == [key]
        assert [w.code for w in warnings(items)] == [f"micro.element_missing.{key}"]
        assert warnings(items)[0].record == "credential 1"


def test_every_rejecting_element_missing_is_named_in_one_rejection() -> None:
    credential = full_elm()
    for key in ("learner", "title", "issue_date"):
        ELM_REMOVERS[key](credential)
    (error,) = errors(extract(credential))
    assert error.code == "micro.element_missing.learner"
    assert "title of the micro-credential" in error.message and "date of issuing" in error.message


def _badge_subject(c: dict[str, Any]) -> dict[str, Any]:
    return c["credentialSubject"]


def _badge_achievement(c: dict[str, Any]) -> dict[str, Any]:
    return c["credentialSubject"]["achievement"]


def _drop_alignments(kind: str) -> Callable[[dict[str, Any]], None]:
    def drop(c: dict[str, Any]) -> None:
        keep_eqf = kind == "outcomes"
        _badge_achievement(c)["alignment"] = [
            a for a in _badge_achievement(c)["alignment"] if ("eqf" in a.get("targetUrl", "")) == keep_eqf
        ]

    return drop


OB_REMOVERS: dict[str, Callable[[dict[str, Any]], object]] = {
    "learner": lambda c: _badge_subject(c).pop("identifier"),
    "title": lambda c: (_badge_achievement(c).pop("name"), c.pop("name")),
    "issuer_country": lambda c: c["issuer"].pop("address"),
    "awarding_body": lambda c: c.pop("issuer"),
    "issue_date": lambda c: c.pop("validFrom"),
    "learning_outcomes": _drop_alignments("outcomes"),
    "workload": lambda c: _badge_achievement(c).pop("creditsAvailable"),
    "level": _drop_alignments("level"),
    "assessment": lambda c: _badge_achievement(c).pop("resultDescription"),
}


def _complete_badge() -> dict[str, Any]:
    """A badge that carries even the two elements Open Badges has no field for, by the documented mapping."""
    badge = full_badge()
    _badge_achievement(badge)["endorsement"] = [
        {
            "type": ["VerifiableCredential", "EndorsementCredential"],
            "issuer": {"id": "https://nokut.example", "name": "Akkrediteringsorganet"},
            "credentialSubject": {
                "type": ["EndorsementSubject"],
                "endorsementComment": "Kvalitetssikret kurs",
            },
        }
    ]
    return badge


def test_a_badge_never_carries_a_form_of_participation() -> None:
    items = extract(_complete_badge())
    assert codes(items) == ["micro.element_missing.participation"]
    (record,) = records(items)
    assert record.specification.details is not None
    assert (
        record.specification.details["quality_assurance"]["endorsements"][0]["endorser"]
        == "Akkrediteringsorganet"
    )


@pytest.mark.parametrize("key", list(OB_REMOVERS))
def test_badge_missing_one_element(key: str) -> None:
    badge = _complete_badge()
    OB_REMOVERS[key](badge)
    items = extract(badge)
    if DOCUMENTED[key] is Outcome.REJECT:
        assert records(items) == []
        (error,) = errors(items)
        assert error.code == f"micro.element_missing.{key}"
    else:
        (record,) = records(items)
        assert record.details is not None
        assert record.details["missing_elements"] == sorted(
            [key, "participation"], key=[e.key for e in ELEMENTS].index
        )
        assert f"micro.element_missing.{key}" in codes(items)
