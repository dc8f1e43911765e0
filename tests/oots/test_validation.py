"""The validator against the real messages: the same verdicts the shared format folder recorded with
SaxonC-HE and the ISO skeleton, which an independent compilation of the same rules must reproduce."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from register.oots.validation import SHIPPED, compile_schematron, validator
from tests.conftest import FORMATS_DIR

MESSAGES = FORMATS_DIR / "oots" / "messages"
TDD = MESSAGES / "edm-1.0-tdd-2022q4" / "secondary-education"
FR = MESSAGES / "edm-2.0-oots-france"
# The 2022-Q4 asserts whose text says "MAY be present": they fire when an optional slot is absent.
INFORMATIONAL = {
    "R-EDM-REQ-S008",
    'The rim:Slot name="AuthorizedRepresentative" MAY be present in the Query.',
}


@pytest.mark.parametrize(
    ("path", "failed"),
    [
        (TDD / "oots_request1_preview.xml", INFORMATIONAL),
        (TDD / "oots_request2_after_preview.xml", INFORMATIONAL - {"R-EDM-REQ-S008"}),
        (TDD / "oots_exception_preview.xml", set()),
        (TDD / "oots_response.xml", set()),
        (FR / "erreur.xml", set()),
        (FR / "erreurRequeteInvalide.xml", set()),
        (FR / "erreurCapaciteNonSupportee.xml", set()),
        (FR / "erreurExpiration.xml", set()),
        # 2.0 shapes the 2022-Q4 rules do not know: urn:uuid: request ids, the nested ExtrinsicObject.
        (FR / "reponse.xml", {"R-EDM-RESP-S004", "R-EDM-RESP-S015", "R-EDM-RESP-S033"}),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_real_messages_validate_as_recorded(path: Path, failed: set[str]) -> None:
    report = validator().validate(path.read_bytes())
    assert report.schema_valid, report.schema_errors
    assert report.failed_ids() == failed


def test_a_hand_written_minimal_error_fails_the_rules_it_breaks() -> None:
    report = validator().validate((FR / "erreurAutorisationRequise.payload.xml").read_bytes())
    assert report.schema_valid
    assert {"R-EDM-ERR-S09", "R-EDM-ERR-S10", "R-EDM-ERR-S11"} <= report.failed_ids()


def test_the_2_0_request_uses_elements_the_2022_profile_lacks() -> None:
    report = validator().validate((FR / "requete.xml").read_bytes())
    assert any("Description" in e for e in report.schema_errors)
    assert any("Language" in e for e in report.schema_errors)


def test_the_validator_is_pluggable_with_an_operators_folder(tmp_path: Path) -> None:
    """A folder laid out like the shipped one replaces it; here its response rules are one rule of our own."""
    import shutil

    folder = tmp_path / "edm-2.0.1"
    shutil.copytree(SHIPPED / "xsd", folder / "xsd")
    shutil.copy(SHIPPED / "catalog.xml", folder / "catalog.xml")
    (folder / "sch" / "response").mkdir(parents=True)
    (folder / "sch" / "response" / "rule.sch").write_text(
        '<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">'
        '<sch:ns uri="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0" prefix="query"/>'
        '<sch:pattern><sch:rule context="query:QueryResponse">'
        '<sch:assert test="starts-with(@requestId, \'urn:uuid:\')" id="OWN-1">2.0 ids</sch:assert>'
        "</sch:rule></sch:pattern></sch:schema>"
    )
    own = validator(folder)
    assert own.validate((FR / "reponse.xml").read_bytes()).failed_ids() == set()
    assert own.validate((TDD / "oots_response.xml").read_bytes()).failed_ids() == {"OWN-1"}


def test_first_matching_rule_wins_within_a_pattern() -> None:
    """ISO Schematron: a node is checked by the first rule of a pattern whose context fits, only."""
    schema = etree.fromstring(
        '<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron"><sch:pattern>'
        '<sch:rule context="b"><sch:assert test="false()" id="first"/></sch:rule>'
        '<sch:rule context="*"><sch:assert test="false()" id="second"/></sch:rule>'
        "</sch:pattern></sch:schema>"
    )
    from saxonche import PySaxonProcessor

    saxon = PySaxonProcessor(license=False)
    executable = saxon.new_xslt30_processor().compile_stylesheet(stylesheet_text=compile_schematron(schema))
    svrl = executable.transform_to_string(xdm_node=saxon.parse_xml(xml_text="<a><b/></a>"))
    ids = [e.get("id") for e in etree.fromstring(svrl.encode()).iter("{*}failed-assert")]
    assert ids == ["second", "first"]  # a fails the catch-all only; b fails its own rule only


def test_includes_are_refused_rather_than_ignored() -> None:
    schema = etree.fromstring(
        '<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron"><sch:include href="x.sch"/></sch:schema>'
    )
    with pytest.raises(ValueError, match="include"):
        compile_schematron(schema)
