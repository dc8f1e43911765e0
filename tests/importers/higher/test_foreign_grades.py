"""Foreign fail grades come out failed, with no credits, through the whole import (issue 13, item 7)."""

from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy import Engine, text

from intake.batches import run_import
from register.organisations import add_organisation
from register.settings import Settings
from register.stats import refresh_pending
from tests.factories import create_organisation, new_nin
from tests.importers.higher.test_mapping import course, doc

DANISH = "<country>DK</country><identifier type='erasmus'>DK KOBENHA01</identifier><title>Københavns Universitet</title>"
FINNISH = "<country>FI</country><identifier type='erasmus'>SF HELSINK01</identifier><title>Helsingin yliopisto</title>"


def _deliverer(db: Engine) -> str:
    """A Norwegian provider delivering the Danish and Finnish universities' transcripts for them."""
    provider = create_organisation(db, name="Sikt (test)", kind="other")
    with db.begin() as conn:
        for name, country, erasmus in (("Københavns Universitet", "DK", "DK KOBENHA01"),
                                       ("Helsingin yliopisto", "FI", "SF HELSINK01")):  # fmt: skip
            foreign = add_organisation(
                conn, orgnr=None, name=name, kind="foreign", country=country, codes=[("erasmus", erasmus)]
            )
            conn.execute(
                text(
                    "INSERT INTO organisation_delivery (deliverer_id, on_behalf_of_id)"
                    " SELECT id, :f FROM organisation WHERE orgnr = :p"
                ),
                {"f": foreign, "p": provider},
            )
    return provider


def test_danish_00_and_minus_3_and_finnish_hylatty_are_failed_without_credits(
    db: Engine, settings: Settings
) -> None:
    provider = _deliverer(db)
    nin = new_nin()
    learner = f"<identifier type='nationalIdentifier'>{nin}</identifier>"
    danish = doc(learner=learner, issuer=DANISH,
                 los=course("DK00", grade="00", credits="7.5") + course("DKM3", grade="-3", credits="5")
                 + course("DK02", grade="02", credits="10"))  # fmt: skip
    finnish = doc(learner=learner, issuer=FINNISH, los=course("FIHYL", grade="Hylätty", credits="5"))
    for document in (danish, finnish):
        report = run_import(
            db, io.BytesIO(document), sector="higher", provider_orgnr=provider, settings=settings
        )
        assert report.rejected == 0, report.errors
    with db.connect() as conn:
        rows = {
            r.code: r
            for r in conn.execute(
                text(
                    "SELECT s.code, a.grade_scheme, a.grade_value, a.grade_passed, a.credits, a.details"
                    " FROM achievement a JOIN learning_specification s ON s.id = a.specification_id"
                )
            )
        }
    assert {c: (r.grade_scheme, r.grade_value, r.grade_passed, r.credits) for c, r in rows.items()} == {
        "DK00": ("dk-7", "00", False, None),
        "DKM3": ("dk-7", "-3", False, None),
        "DK02": ("dk-7", "02", True, Decimal(10)),
        "FIHYL": ("fi-pass-fail", "hylätty", False, None),
    }
    assert rows["DK00"].details["credits_as_delivered"] == "7.5"
    assert rows["FIHYL"].details["grade_as_delivered"] == "Hylätty"
    refresh_pending(db)
    with db.connect() as conn:
        counted = conn.execute(text("SELECT sum(credits_ects) FROM stats_person_cell")).scalar_one()
    assert counted == Decimal(10)


def test_a_grade_on_an_unknown_scale_is_kept_with_a_warning(db: Engine, settings: Settings) -> None:
    provider = _deliverer(db)
    learner = f"<identifier type='nationalIdentifier'>{new_nin()}</identifier>"
    document = doc(learner=learner, issuer=DANISH, los=course("DKX", grade="bestanden", credits="5"))
    report = run_import(db, io.BytesIO(document), sector="higher", provider_orgnr=provider, settings=settings)
    assert (report.accepted, report.rejected) == (1, 0)
    assert "elmo.grade_scale_unknown" in {w.code for w in report.warnings}
    with db.connect() as conn:
        row = conn.execute(text("SELECT grade_scheme, grade_value FROM achievement")).one()
    assert tuple(row) == ("external", "bestanden")
