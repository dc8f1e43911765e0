"""Foreign issuers export with their own country and name language; credits exactly as delivered
(issue 13, items 6 and 9)."""

from __future__ import annotations

import io
from decimal import Decimal

from lxml import etree
from sqlalchemy import Engine, text

from intake.batches import run_import
from register.exports.elmo import ELMO_NS
from register.organisations import add_organisation
from register.settings import Settings
from tests.exports.test_elmo_export import export, person_ids
from tests.factories import create_organisation, new_nin
from tests.importers.higher.test_mapping import course, doc

E = f"{{{ELMO_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FOREIGN = [
    ("Uniwersytet Warszawski", "PL", "pl", "PL WARSZAW01"),
    ("Tampereen yliopisto", "FI", "fi", "SF TAMPERE17"),
    ("Umeå universitet", "SE", "sv", "S UMEA01"),
    ("Freie Universität Berlin", "DE", "de", "D BERLIN01"),
]


def _deliver_for_foreign(db: Engine) -> str:
    provider = create_organisation(db, name="Sikt (test)", kind="other")
    with db.begin() as conn:
        for name, country, lang, erasmus in FOREIGN:
            add_organisation(conn, orgnr=None, name=name, kind="foreign", country=country, name_lang=lang,
                             codes=[("erasmus", erasmus)])  # fmt: skip
        add_organisation(
            conn,
            orgnr=provider,
            name="Sikt (test)",
            kind="other",
            delivers_for=[f"erasmus={e}" for *_, e in FOREIGN],
        )
    return provider


def test_warsaw_tampere_umea_and_berlin_export_with_their_own_country_and_language(
    db: Engine, settings: Settings
) -> None:
    provider = _deliver_for_foreign(db)
    learner = f"<identifier type='nationalIdentifier'>{new_nin()}</identifier>"
    for index, (name, country, _, erasmus) in enumerate(FOREIGN):
        issuer = f"<country>{country}</country><identifier type='erasmus'>{erasmus}</identifier><title>{name}</title>"
        document = doc(learner=learner, issuer=issuer, los=course(f"C{index}", grade="E", credits="5"))
        report = run_import(
            db, io.BytesIO(document), sector="higher", provider_orgnr=provider, settings=settings
        )
        assert (report.accepted, report.rejected) == (1, 0), report.errors
    (person,) = person_ids(db)
    root = etree.fromstring(export(db, person))
    issuers = {
        issuer.findtext(f"{E}title"): (issuer.findtext(f"{E}country"), issuer.find(f"{E}title").get(XML_LANG))
        for issuer in root.iter(f"{E}issuer")
    }
    assert issuers == {name: (country, lang) for name, country, lang, _ in FOREIGN}


def test_credits_are_kept_exactly_as_delivered(db: Engine, settings: Settings) -> None:
    provider = create_organisation(db, name="Nordvik", kind="university", codes={"fs": "9101"})
    learner = f"<identifier type='nationalIdentifier'>{new_nin()}</identifier>"
    document = doc(learner=learner, los=course("INF1000", credits="9.2857"))
    report = run_import(db, io.BytesIO(document), sector="higher", provider_orgnr=provider, settings=settings)
    assert (report.accepted, report.rejected) == (1, 0), report.errors
    with db.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT a.credits, s.credits FROM achievement a JOIN learning_specification s ON s.id = a.specification_id"
            )
        ).one()
    assert tuple(stored) == (Decimal("9.2857"), Decimal("9.2857"))
    (person,) = person_ids(db)
    root = etree.fromstring(export(db, person))
    assert [c.findtext(f"{E}value") for c in root.iter(f"{E}credit")] == ["9.2857"]
