"""The explicit registry of importers, and the choice of one for a file."""

from __future__ import annotations

from importers import higher, micro, primary, vocational
from importers.base import Importer, UnusableInput
from register.sectors import Sector

# Every importer package, named here so that the registry is explicit (and the layer contract sees it).
# A package is not a sector: an importer names the sectors it serves (ELMO serves higher and vocational).
IMPORTER_PACKAGES = (primary, vocational, higher, micro)


def all_importers() -> list[Importer]:
    """Every importer of every importer package, each once."""
    found: dict[str, Importer] = {}
    for package in IMPORTER_PACKAGES:
        for importer in package.IMPORTERS:
            found.setdefault(importer.name, importer)
    return list(found.values())


def importers_for(sector: Sector) -> list[Importer]:
    return [imp for imp in all_importers() if sector in imp.sectors]


def choose(sector: Sector, head: bytes, filename: str | None, content_type: str | None) -> Importer:
    """The one importer that claims this file for this sector.

    No importer for the sector, none that recognises the file, or two that claim it: UnusableInput.
    """
    candidates = importers_for(sector)
    if not candidates:
        raise UnusableInput("sector.no_importer", f"no importer exists yet for sector {sector.value!r}")
    claiming = [imp for imp in candidates if imp.identify(head, filename, content_type)]
    if not claiming:
        known = ", ".join(sorted(imp.name for imp in candidates))
        raise UnusableInput(
            "format.unknown",
            f"the file is in no format the {sector.value} sector accepts (known formats: {known})",
        )
    if len(claiming) > 1:
        names = ", ".join(sorted(imp.name for imp in claiming))
        raise UnusableInput("format.ambiguous", f"more than one importer claims the file: {names}")
    return claiming[0]


def parse_sector(raw: str) -> Sector:
    try:
        return Sector(raw)
    except ValueError:
        known = ", ".join(s.value for s in Sector)
        raise UnusableInput("sector.unknown", f"unknown sector {raw!r} (known sectors: {known})") from None
