"""The evidence itself: a signed ELMO of the person's results of the evidence type's sectors.

The ELMO is the export's (register.exports.elmo: the read model every output uses) limited to the
sectors of the evidence type and to passed results, signed as ``register export elmo --sign`` signs
(``sign_elmo``: enveloped XML-DSig, RSA-SHA256) with the register's one ELMO signing identity
(register.exports.signing: the configured pair; in development the register's own). Production
refuses to answer without a configured pair rather than send unsigned evidence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import Connection

from register.exports.elmo import export_person_elmo, sign_elmo
from register.exports.signing import required_identity
from register.namespaces import ELMO_NS
from register.oots.catalogue import EvidenceType
from register.oots.request import secure_parser
from register.queries import Selection
from register.settings import Settings


@dataclass(frozen=True, slots=True)
class Evidence:
    document: bytes  # the signed ELMO, UTF-8 XML
    achievement_ids: list[str]  # what it holds, for the audit row


def build_evidence(
    conn: Connection,
    person_id: uuid.UUID,
    evidence_type: EvidenceType,
    settings: Settings,
    *,
    national_id: bool,
) -> Evidence:
    """The signed ELMO; NotFound (``elmo.nothing_to_export``) when the person has no such results.

    ``national_id``: whether the learner's Norwegian national id stays in the document. Only when the
    request named the person by it (an eIDAS identifier carrying it): a requester that found the
    person by names and birth date learns no identifier it did not have.
    """
    # Unsigned first: the national id may come out before the document is signed, with the same key
    # every ELMO of the register is signed with (register.exports.signing: configured, or the
    # development key; a production register without one answers 503).
    selection = Selection(sectors=tuple(s.value for s in evidence_type.sectors), passed_only=True)
    export = export_person_elmo(conn, person_id, selection)
    identity = required_identity(settings)
    root = etree.fromstring(export.document, secure_parser())
    if not national_id:
        for identifier in root.iterfind(
            f"{{{ELMO_NS}}}learner/{{{ELMO_NS}}}identifier[@type='nationalIdentifier']"
        ):
            identifier.getparent().remove(identifier)  # type: ignore[union-attr]
    signed = sign_elmo(root, identity)
    return Evidence(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"), export.achievement_ids)
