"""The public raw sources fsgeo builds studies from: what they are, where they come from, their licences.

:data:`CATALOG` describes each source (id, title, licence, the files it gives in the raw folder and the URLs they are
fetched from); :func:`download` fetches them into a raw folder (``fsgeo sources download --to DIR``), cached and
resumable, and records what it fetched (URL, date, size, SHA-256) in ``DIR/sources.json``. A raw folder made by hand
(such as ``../shared/data/raw``) works the same: the build reads the same file names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Source", "CATALOG", "source_entries"]


@dataclass(frozen=True)
class Source:
    """One public source: ``files`` maps each file of the raw folder to the URL it is fetched from (None: derived
    from another file by :func:`download`)."""

    id: str
    title: str
    licence: str
    url: str
    date: str | None
    file: str
    files: dict = field(default_factory=dict)

    def entry(self) -> dict:
        """The source's entry in a study manifest (``study.json`` ``sources``)."""
        return {"id": self.id, "title": self.title, "licence": self.licence, "url": self.url, "date": self.date,
                "file": self.file}


#: France services list, the commune list (COG, populations), commune polygons, Travel Mapping routes
CATALOG: dict[str, Source] = {s.id: s for s in (
    Source("anct", "ANCT et Banque des Territoires, Liste des structures France services",
           "Licence Ouverte / Etalab 2.0", "https://github.com/anct-carto/france_services", "2024-08-01",
           "anct/liste-fs-20240801.csv",
           {"anct/liste-fs-20240801.csv":
            "https://raw.githubusercontent.com/anct-carto/france_services/main/data/liste-fs-20240801.csv"}),
    Source("etalab", "INSEE COG et populations légales, @etalab/decoupage-administratif 6.0.0",
           "Licence Ouverte / Etalab 2.0", "https://www.npmjs.com/package/@etalab/decoupage-administratif", None,
           "etalab/communes.json",
           {"etalab/decoupage-administratif-6.0.0.tgz":
            "https://registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz",
            "etalab/communes.json": None, "etalab/departements.json": None, "etalab/LICENSE": None}),
    Source("france-geojson", "IGN ADMIN EXPRESS 2018, france-geojson (Grégoire David)", "Licence Ouverte",
           "https://github.com/gregoiredavid/france-geojson", "2018", "france-geojson/departements",
           {"france-geojson/france-geojson-master.tar.gz":
            "https://codeload.github.com/gregoiredavid/france-geojson/tar.gz/refs/heads/master",
            "france-geojson/departements": None, "france-geojson/departements.geojson": None}),
    Source("travelmapping", "Travel Mapping project (© OpenStreetMap contributors)",
           "facts placed on OpenStreetMap; credit Travel Mapping project and © OpenStreetMap contributors",
           "https://github.com/TravelMapping/HighwayData", "2026-08-22", "travelmapping/highwaydata-fra.tar.gz",
           {"travelmapping/HighwayData-master.tar.gz":
            "https://codeload.github.com/TravelMapping/HighwayData/tar.gz/refs/heads/master",
            "travelmapping/highwaydata-fra.tar.gz": None}),
)}


def source_entries(ids) -> list[dict]:
    """Manifest entries of the sources ``ids``, in that order."""
    return [CATALOG[i].entry() for i in ids]
