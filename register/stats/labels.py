"""What the statistics' dimensions, codes and measures are called, in bokmål and English.

One look-up per dimension, each from the module that defines the fact: sectors from
``register.sectors``, levels and grade scales from ``register.grading``, fields, NUS, counties, gender
and age groups from ``register.classifications``, organisations from the database. The outputs
(``register.stats.outputs``) and the metadata (``register.stats.metadata``) both read it.
"""

from __future__ import annotations

from typing import Any

from register.classifications import AGE_GROUP_LABELS, COUNTIES, GENDERS, ISCEDF, Label, nus_label
from register.grading import GRADE_SCHEME_LABELS, NKR_LABELS, SCALES, GradeScheme
from register.sectors import Sector
from register.stats.views import ProviderRef

#: the id of "not recorded" (a null key) in the outputs: JSON-stat category ids are strings
NOT_RECORDED = "_"
NOT_RECORDED_LABEL = Label("ikke oppgitt", "not recorded")

DIMENSION_LABELS: dict[str, Label] = {
    "sector": Label("sektor", "sector"),
    "year": Label("år", "year"),
    "provider": Label("tilbyder", "provider"),
    "level": Label("nivå (NKR/EQF)", "level (NKR/EQF)"),
    "field": Label("fagfelt (ISCED-F)", "field (ISCED-F)"),
    "nus": Label("utdanningsgruppe (NUS)", "education group (NUS)"),
    "grade": Label("karakter", "grade"),
    "gender": Label("kjønn", "gender"),
    "age_group": Label("alder ved fullføring", "age at completion"),
    "county": Label("fylke (tilbyderens)", "county (of the provider)"),
}

#: the figures of a cell, in the order the outputs give them
MEASURES: dict[str, Label] = {
    "persons": Label("personer", "persons"),
    "achievements": Label("resultater", "achievements"),
    "credits_ects": Label("studiepoeng (ECTS)", "credits (ECTS)"),
    "credits_fagskolepoeng": Label("fagskolepoeng", "fagskolepoeng"),
    "credits_hours": Label("timer", "hours"),
}


def category_id(dimension: str, value: Any) -> str:
    """The code of a cell's key value, as the outputs write it."""
    if value is None:
        return NOT_RECORDED
    if isinstance(value, ProviderRef):
        return value.orgnr or value.name
    if dimension == "grade":
        return f"{value[0]}:{value[1]}"
    return str(value)


def category_label(dimension: str, value: Any) -> Label:
    """The label of a cell's key value (the code itself where no label is known)."""
    if value is None:
        return NOT_RECORDED_LABEL
    if isinstance(value, ProviderRef):
        return Label(value.name, value.name_en or value.name)
    found = code_label(dimension, category_id(dimension, value))
    return found if found is not None else Label(str(value), str(value))


def code_label(dimension: str, code: str) -> Label | None:
    """The label of a code of one of the closed code lists (sector, level, field, …), or None."""
    if dimension == "sector":
        try:
            sector = Sector(code)
        except ValueError:
            return None
        return Label(sector.label, sector.label_en)
    if dimension == "level":
        if code.startswith("EQF "):
            n = code.removeprefix("EQF ")
            return Label(f"EQF-nivå {n}", f"EQF level {n}")
        if code in NKR_LABELS:
            return Label(*NKR_LABELS[code])
        return None
    if dimension == "field":
        return ISCEDF.get(code)
    if dimension == "nus":
        return nus_label(code)
    if dimension == "grade":
        return grade_label(*code.split(":", 1)) if ":" in code else None
    if dimension == "gender":
        return GENDERS.get(code)
    if dimension == "age_group":
        return AGE_GROUP_LABELS.get(code)
    if dimension == "county":
        return COUNTIES.get(code)
    return None


def grade_label(scheme: str, value: str) -> Label:
    """``A (fremragende), bokstavkarakterer A–F``: the value, its meaning, and the scale."""
    try:
        known = GradeScheme(scheme)
    except ValueError:
        return Label(f"{value} ({scheme})", f"{value} ({scheme})")
    nb_scale, en_scale = GRADE_SCHEME_LABELS[known]
    grade = SCALES.get(known, {}).get(value.casefold())
    if grade is None:
        return Label(f"{value}, {nb_scale}", f"{value}, {en_scale}")
    nb, en = grade.label("nb"), grade.label("en")
    return Label(
        f"{value} ({nb}), {nb_scale}" if nb != value else f"{value}, {nb_scale}",
        f"{value} ({en}), {en_scale}" if en != value else f"{value}, {en_scale}",
    )
