"""The register's own grade scales described in words, as ELMO ``gradingScheme`` elements carry them."""

from __future__ import annotations

# Descriptions of the register's own grade scales, written as ELMO gradingScheme elements.
SCALE_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "a-f": {
        "en": "ECTS letter grades: A (excellent), B (very good), C (good), D (satisfactory) and E (sufficient)"
        " are passes; F is a fail.",
        "nb": "Bokstavkarakterer: A (fremragende), B (meget god), C (god), D (nokså god) og E (tilstrekkelig)"
        " er bestått; F er ikke bestått.",
    },
    "pass-fail": {"en": "Pass/fail.", "nb": "Bestått/ikke bestått."},
    # The foreign scales (register.grading), in words the importer recognises them by again.
    "ects-a-fx": {"en": "ECTS grading scale: A, B, C, D and E are passes; FX and F are fails."},
    "dk-7": {
        "en": "Danish 7-point scale (7-trinsskala): 12, 10, 7, 4 and 02 are passes; 00 and -3 are fails."
    },
    "se-u-g-vg": {"en": "Swedish scale U/G/VG: VG (väl godkänd) and G (godkänd) are passes; U is a fail."},
    "fi-0-5": {"en": "Finnish scale 0-5: 5 is the highest, 1 the lowest pass and 0 a fail."},
    "fi-pass-fail": {"en": "Finnish pass/fail: hyväksytty (godkänd) is a pass; hylätty (underkänd) a fail."},
    "de-1-5": {"en": "German scale 1,0-5,0: 1,0 is the highest, 4,0 the lowest pass and 5,0 a fail."},
    "pl-2-5": {"en": "Polish scale 2-5: 5 is the highest, 3 the lowest pass and 2 a fail."},
    "nl-1-10": {"en": "Dutch scale 1-10: 10 is the highest; 5.5 and above are passes."},
    "no-1-6": {
        "en": "Norwegian school grades 1-6: 6 is the highest, 2 the lowest pass and 1 a fail;"
        " IV means no basis for assessment.",
        "nb": "Karakterskala 1-6: 6 er beste karakter, 2 laveste bestått og 1 ikke bestått;"
        " IV er ikke vurderingsgrunnlag.",
    },
    "conduct": {
        "en": "Conduct and order (orden og atferd): G (good), NG (fairly good), LG (poor).",
        "nb": "Orden og atferd: G (god), NG (nokså god), LG (lite god).",
    },
    "trade": {
        "en": "Trade and journeyman's certificates: passed with distinction (bestått meget godt), passed"
        " (bestått), not passed (ikke bestått).",
        "nb": "Fag- og svennebrev: bestått meget godt, bestått, ikke bestått.",
    },
}
