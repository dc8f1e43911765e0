"""A statistics answer as JSON-stat 2.0 and as CSV, the conventions of SSB's PxWeb and of DBH.

REST (``GET /v1/stats/achievements?format=…`` or ``Accept``) and GraphQL (``statsTable``) render the
same ``StatsResult`` through these functions, so the figures are those of the JSON answer, cell for
cell. The formats:

- ``json-stat``: one dataset whose dimensions are the grouped ones plus ``measure`` (role ``metric``:
  persons, achievements and credits per scheme — credits are never added across schemes); ``year`` has
  role ``time``, ``county`` role ``geo``. A suppressed cell's figures are ``null`` with status
  ``SUPPRESSED`` (":", SSB's symbol for "not shown for confidentiality"); a shown cell's figures carry
  status ``PERTURBED`` ("~": within the noise of the cell-key method); ``status`` is an object by
  value index. A combination no one has is
  ``0`` with no status (an empty cell is not a small count: the JSON answer omits it likewise).
  ``note`` states the disclosure rule; ``extension`` holds the threshold, the filters and what the
  status symbols mean. A cube of more than ``DENSE_LIMIT`` values is written sparse (``value`` as
  an object by index; a missing index is a combination no one has).
- ``csv-nb`` / ``csv-en``: one row per cell, a code and a label column per grouped dimension, the
  measures, and the status symbol. Norwegian: ``;`` between fields, decimal comma, headers and labels
  in bokmål, a UTF-8 byte order mark (so a Norwegian Excel reads æ, ø and å); English: ``,``, decimal
  point, headers and labels in English, no mark. Suppressed figures are empty fields. A code or label
  starting like a spreadsheet formula (= + - @) gets a leading ``'`` (CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal
from typing import Any

from register.stats.labels import DIMENSION_LABELS, MEASURES, category_id, category_label
from register.stats.views import StatsCellView, StatsResult

FORMATS = ("json", "json-stat", "csv-nb", "csv-en")
SUPPRESSED = ":"
PERTURBED = "~"
STATUS_MEANING = {
    SUPPRESSED: "suppressed: fewer persons than the threshold, or hidden with such a cell (figures null)",
    PERTURBED: "perturbed by the cell-key method (see note)",
}
#: the largest cube written densely; larger ones are written sparse (about 10 MB of JSON at most)
DENSE_LIMIT = 1_000_000
ROLES = {"year": "time", "county": "geo"}
#: CSV headers per variant: the dimension's code column, and its label column
_CSV_HEADERS = {
    "nb": {
        "sector": "sektor",
        "year": "år",
        "provider": "tilbyder",
        "level": "nivå",
        "field": "fagfelt",
        "nus": "nus",
        "grade": "karakter",
        "gender": "kjønn",
        "age_group": "aldersgruppe",
        "county": "fylke",
        "persons": "personer",
        "achievements": "resultater",
        "credits_ects": "studiepoeng",
        "credits_fagskolepoeng": "fagskolepoeng",
        "credits_hours": "timer",
        "status": "status",
        "label": "navn",
    },
    "en": {name: name for name in [*DIMENSION_LABELS, *MEASURES, "status", "label"]},
}


def figures(cell: StatsCellView) -> dict[str, int | Decimal | None]:
    """The cell's measures by name (``MEASURES``); None where suppressed, 0 for a scheme it lacks."""
    if cell.suppressed:
        return dict.fromkeys(MEASURES)
    credits = cell.credits or {}
    return {
        "persons": cell.persons,
        "achievements": cell.achievements,
        **{
            m: credits.get(m.removeprefix("credits_"), Decimal(0))
            for m in MEASURES
            if m.startswith("credits_")
        },
    }


def status(cell: StatsCellView) -> str | None:
    return SUPPRESSED if cell.suppressed else PERTURBED if cell.perturbed else None


def _number(value: int | Decimal | None) -> int | float | None:
    if value is None or isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


def json_stat(result: StatsResult, lang: str = "en") -> dict[str, Any]:
    """The answer as a JSON-stat 2.0 dataset (labels in ``lang``: ``nb`` or ``en``)."""
    dims = list(result.group_by)
    categories: dict[str, dict[str, str]] = {d: {} for d in dims}  # id → label, in the answer's order
    for cell in result.cells:
        for d in dims:
            categories[d].setdefault(category_id(d, cell.key[d]), category_label(d, cell.key[d]).get(lang))
    measures = list(MEASURES)
    size = [len(categories[d]) for d in dims] + [len(measures)]
    index = {d: {code: i for i, code in enumerate(categories[d])} for d in dims}
    total = math.prod(size)
    dense = total <= DENSE_LIMIT
    values: dict[int, int | float | None] = {}
    statuses: dict[int, str] = {}
    for cell in result.cells:
        offset = 0
        for d, n in zip(dims, size, strict=False):
            offset = offset * n + index[d][category_id(d, cell.key[d])]
        symbol = status(cell)
        for m, value in enumerate(figures(cell).values()):
            at = offset * len(measures) + m
            values[at] = _number(value)
            if symbol is not None:
                statuses[at] = symbol
    dimension: dict[str, Any] = {
        d: {
            "label": DIMENSION_LABELS[d].get(lang),
            "category": {"index": list(categories[d]), "label": categories[d]},
        }
        for d in dims
    }
    dimension["measure"] = {
        "label": "mål" if lang == "nb" else "measure",
        "category": {
            "index": measures,
            "label": {m: MEASURES[m].get(lang) for m in measures},
            "unit": {m: {"decimals": 0 if m in ("persons", "achievements") else 1} for m in measures},
        },
    }
    role: dict[str, list[str]] = {"metric": ["measure"]}
    for d in dims:
        if d in ROLES:
            role.setdefault(ROLES[d], []).append(d)
    title = ", ".join(DIMENSION_LABELS[d].get(lang) for d in dims) or ("i alt" if lang == "nb" else "total")
    return {
        "version": "2.0",
        "class": "dataset",
        "label": ("Resultater etter " if lang == "nb" else "Achievements by ") + title,
        "source": "Kompetanseregisteret",
        "id": [*dims, "measure"],
        "size": size,
        "role": role,
        "dimension": dimension,
        "value": [values.get(i, 0) for i in range(total)]
        if dense
        else {str(k): v for k, v in values.items()},
        # by index always: a status array must hold a string for every value (the validator holds to it)
        "status": {str(k): v for k, v in statuses.items()},
        "note": [result.rule],
        "extension": {
            "threshold": result.threshold,
            "filters": {k: list(v) if isinstance(v, tuple) else v for k, v in result.filters.items()},
            "status": STATUS_MEANING,
        },
    }


def json_stat_bytes(result: StatsResult, lang: str = "en") -> bytes:
    return json.dumps(json_stat(result, lang), ensure_ascii=False, separators=(",", ":")).encode()


#: what a spreadsheet reads as the start of a formula (OWASP's list: CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """A code or label as a CSV cell: one a spreadsheet would run as a formula gets a leading ``'``.

    Codes and labels come from deliveries and registrations (an organisation's name, a NUS code, a
    grade on an unknown scale), so ``=HYPERLINK(…)`` is possible; the figures are the register's own
    numbers, never negative, and are not touched.
    """
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def csv_text(result: StatsResult, variant: str) -> str:
    """The answer as CSV, ``variant`` ``nb`` (``;``, decimal comma, bokmål) or ``en``."""
    headers = _CSV_HEADERS[variant]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if variant == "nb" else ",", lineterminator="\r\n")
    columns = []
    for d in result.group_by:
        columns += [headers[d], f"{headers[d]}_{headers['label']}"]
    writer.writerow([*columns, *(headers[m] for m in MEASURES), headers["status"]])
    for cell in result.cells:
        row: list[str] = []
        for d in result.group_by:
            value = cell.key[d]
            code = "" if value is None else category_id(d, value)
            row += [_text_cell(code), _text_cell(category_label(d, value).get(variant))]
        for value in figures(cell).values():
            text = "" if value is None else str(_number(value))
            row.append(text.replace(".", ",") if variant == "nb" else text)
        row.append(status(cell) or "")
        writer.writerow(row)
    return ("\ufeff" if variant == "nb" else "") + out.getvalue()
