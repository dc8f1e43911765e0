"""The dashboard's words, in bokmål and English; the page's language is ``?lang=`` or the browser's."""

from __future__ import annotations

from typing import Literal

Lang = Literal["nb", "en"]
LANGS: tuple[Lang, ...] = ("nb", "en")

TEXT: dict[Lang, dict[str, str]] = {
    "nb": {
        "title": "Statistikk for analytikere",
        "intro": (
            "Resultater i Kompetanseregisteret, samlet: aldri en enkeltperson. Alle tall er tilført støy "
            "(cellenøkkelmetoden) og celler med færre enn {threshold} personer er skjult."
        ),
        "login_title": "Logg inn",
        "login_intro": (
            "Sidene viser statistikk for dem som har tilgangen kompetanse:stats. Lim inn et tilgangstoken "
            "(et Maskinporten-token for din virksomhet med scope kompetanse:stats)."
        ),
        "token_label": "Tilgangstoken",
        "token_submit": "Logg inn med token",
        "dev_title": "Utviklingsmodus",
        "dev_intro": (
            "Registeret kjører i utviklingsmodus. Du kan logge inn som en demo-analytiker med et "
            "utviklingstoken som bare dette registeret godtar."
        ),
        "dev_submit": "Logg inn som demo-analytiker",
        "logout": "Logg ut",
        "signed_in_as": "Innlogget for organisasjon {orgnr}",
        "error_token": "Tokenet ble ikke godtatt: {reason}",
        "error_scope": "Tokenet gir ikke tilgangen kompetanse:stats, som disse sidene krever.",
        "error_expired": "Økten er utløpt. Logg inn igjen.",
        "error_origin": "Skjemaet kom fra en annen side og ble avvist.",
        "error_api": "Statistikken kunne ikke hentes ({status}): {detail}",
        "filters": "Utvalg",
        "measure": "Tell",
        "measure_achievements": "resultater",
        "measure_persons": "personer",
        "sector": "Sektor",
        "field": "Fagfelt",
        "level": "Nivå",
        "all": "alle",
        "since": "Fra år",
        "year": "År (karakterfordeling)",
        "show": "Vis",
        "chart_sector": "Resultater over år etter sektor",
        "chart_field": "Resultater over år etter fagfelt (ISCED-F)",
        "chart_level": "Resultater over år etter nivå (NKR/EQF)",
        "chart_grade": "Karakterfordeling",
        "scale": "Karakterskala {scheme}",
        "table": "Tabell",
        "downloads": "Last ned tabellen",
        "legend": "Tegnforklaring",
        "legend_suppressed": "Skjult: færre enn {threshold} personer (skravert, aldri null)",
        "legend_perturbed": "Tall med støy: streken viser ±{noise} rundt verdien",
        "legend_heat": "Mørkere er flere",
        "symbol_suppressed": ":",
        "symbol_suppressed_long": "skjult",
        "symbol_absent": "–",
        "symbol_absent_long": "ingen resultater",
        "symbol_perturbed": "≈",
        "table_note": "≈ tall med støy (±{noise}); : skjult (færre enn {threshold} personer); – ingen.",
        "desc_series": "{label}: {summary}.",
        "desc_suppressed": "{n} skjulte celler",
        "desc_range": "fra {first} i {x0} til {last} i {x1}",
        "desc_bars": "{label}: {value}",
        "no_data": "Ingen resultater i dette utvalget.",
        "unknown": "ukjent",
        "year_col": "År",
        "grade_col": "Karakter",
        "language": "English",
        "rule": "Regelen for vern av personopplysninger",
        "primary": "Grunnopplæring",
        "vocational": "Fagskole",
        "higher": "Universitet og høgskole",
        "micro": "Mikrokompetanse",
    },
    "en": {
        "title": "Statistics for analysts",
        "intro": (
            "Results held by the Norwegian register of competence evidence, in aggregate: never a person. "
            "Every figure carries noise (the cell-key method) and cells with fewer than {threshold} persons "
            "are suppressed."
        ),
        "login_title": "Sign in",
        "login_intro": (
            "These pages show statistics to holders of the kompetanse:stats scope. Paste an access token "
            "(a Maskinporten token of your organisation with the scope kompetanse:stats)."
        ),
        "token_label": "Access token",
        "token_submit": "Sign in with the token",
        "dev_title": "Development mode",
        "dev_intro": (
            "The register runs in development mode. You can sign in as a demo analyst with a development "
            "token that only this register accepts."
        ),
        "dev_submit": "Sign in as a demo analyst",
        "logout": "Sign out",
        "signed_in_as": "Signed in for organisation {orgnr}",
        "error_token": "The token was not accepted: {reason}",
        "error_scope": "The token does not carry the scope kompetanse:stats, which these pages need.",
        "error_expired": "The session has expired. Sign in again.",
        "error_origin": "The form came from another site and was refused.",
        "error_api": "The statistics could not be fetched ({status}): {detail}",
        "filters": "Selection",
        "measure": "Count",
        "measure_achievements": "results",
        "measure_persons": "persons",
        "sector": "Sector",
        "field": "Field",
        "level": "Level",
        "all": "all",
        "since": "From year",
        "year": "Year (grade distribution)",
        "show": "Show",
        "chart_sector": "Results over the years by sector",
        "chart_field": "Results over the years by field (ISCED-F)",
        "chart_level": "Results over the years by level (NKR/EQF)",
        "chart_grade": "Grade distribution",
        "scale": "Grade scale {scheme}",
        "table": "Table",
        "downloads": "Download the table",
        "legend": "Legend",
        "legend_suppressed": "Suppressed: fewer than {threshold} persons (hatched, never zero)",
        "legend_perturbed": "Figure with noise: the whisker spans ±{noise} around it",
        "legend_heat": "Darker is more",
        "symbol_suppressed": ":",
        "symbol_suppressed_long": "suppressed",
        "symbol_absent": "–",
        "symbol_absent_long": "no results",
        "symbol_perturbed": "≈",
        "table_note": "≈ figure with noise (±{noise}); : suppressed (fewer than {threshold} persons); – none.",
        "desc_series": "{label}: {summary}.",
        "desc_suppressed": "{n} suppressed cells",
        "desc_range": "from {first} in {x0} to {last} in {x1}",
        "desc_bars": "{label}: {value}",
        "no_data": "No results in this selection.",
        "unknown": "unknown",
        "year_col": "Year",
        "grade_col": "Grade",
        "language": "Norsk",
        "rule": "The disclosure rule",
        "primary": "Primary and secondary",
        "vocational": "Higher vocational",
        "higher": "Higher education",
        "micro": "Micro-credentials",
    },
}


def language(query: str | None, accept_language: str | None) -> Lang:
    """``?lang=`` when it names one of ours, else English if the browser prefers it to Norwegian."""
    if query in LANGS:
        return query
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith(("nb", "no", "nn")):
            return "nb"
        if tag.startswith("en"):
            return "en"
    return "nb"
