"""The public raw sources fsgeo builds studies from: what they are, where they come from, their licences.

:data:`CATALOG` describes each source (id, title, licence, the files it gives in the raw folder and the URLs they are
fetched from); :func:`download` fetches them into a raw folder (``fsgeo sources download --to DIR``), cached and
resumable, and records what it fetched (URL, date, size, SHA-256) in ``DIR/sources.json``. A raw folder made by hand
(such as ``../shared/data/raw``) works the same: the build reads the same file names.

Pinned versions: the GitHub archives are fetched at the commit the reference raw copy came from, when its
``SOURCES.md`` records one (Travel Mapping ``HighwayData`` at ``3d7993c9cb60``, 2026-08-22), so that every user
builds from the same data; ``latest=True`` (``fsgeo sources download --latest``) takes the default branch instead.
france-geojson has no recorded commit (its data, IGN ADMIN EXPRESS 2018, no longer changes): it is fetched from its
default branch either way. The ref fetched is recorded per file in ``sources.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Source", "CATALOG", "source_entries", "download", "fetch", "github_archive_url"]


def github_archive_url(repo: str, ref: str, branch: bool = False) -> str:
    """The ``.tar.gz`` archive of GitHub repository ``repo`` ("owner/name") at ``ref``: a commit sha (the files of
    that commit, whatever was pushed since), or with ``branch=True`` a branch name (its latest commit)."""
    if not repo or repo.count("/") != 1 or not ref:
        raise ValueError(f"a GitHub archive needs 'owner/name' and a ref, got {repo!r} and {ref!r}")
    return f"https://codeload.github.com/{repo}/tar.gz/" + (f"refs/heads/{ref}" if branch else ref)


@dataclass(frozen=True)
class Source:
    """One public source: ``files`` maps each file of the raw folder to the URL it is fetched from (None: derived
    from another file by :func:`download`). A source fetched as a GitHub archive has its ``repo`` ("owner/name"),
    the commit ``ref`` it is pinned to (None: not recorded, the ``branch`` is fetched) and its archive is the first
    of :meth:`files_for`."""

    id: str
    title: str
    licence: str
    url: str
    date: str | None
    file: str
    files: dict = field(default_factory=dict)
    repo: str | None = None
    ref: str | None = None
    branch: str = "master"

    def fetched_ref(self, latest: bool = False) -> str | None:
        """The ref of the archive fetched: the pinned commit, or the branch with ``latest`` (or when none is
        pinned); None for a source that is no GitHub archive."""
        if self.repo is None:
            return None
        return self.branch if latest or self.ref is None else self.ref

    def archive(self, latest: bool = False) -> str | None:
        """Path of the downloaded archive in the raw folder (``travelmapping/HighwayData-3d7993c9cb60.tar.gz``)."""
        if self.repo is None:
            return None
        return f"{self.id}/{self.repo.split('/')[1]}-{self.fetched_ref(latest)}.tar.gz"

    def files_for(self, latest: bool = False) -> dict:
        """The files of the raw folder and their URLs (None: derived), the archive first, at the pinned commit
        (``latest``: the default branch)."""
        if self.repo is None:
            return dict(self.files)
        ref = self.fetched_ref(latest)
        url = github_archive_url(self.repo, ref, branch=latest or self.ref is None)
        return {self.archive(latest): url, **self.files}

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
    # SOURCES.md records no commit for france-geojson: its default branch (the 2018 data, unchanged since)
    Source("france-geojson", "IGN ADMIN EXPRESS 2018, france-geojson (Grégoire David)", "Licence Ouverte",
           "https://github.com/gregoiredavid/france-geojson", "2018", "france-geojson/departements",
           {"france-geojson/departements": None, "france-geojson/departements.geojson": None},
           repo="gregoiredavid/france-geojson"),
    # the commit the reference raw copy came from (SOURCES.md: HighwayData at commit 3d7993c9cb60, 2026-08-22)
    Source("travelmapping", "Travel Mapping project (© OpenStreetMap contributors)",
           "facts placed on OpenStreetMap; credit Travel Mapping project and © OpenStreetMap contributors",
           "https://github.com/TravelMapping/HighwayData", "2026-08-22", "travelmapping/highwaydata-fra.tar.gz",
           {"travelmapping/highwaydata-fra.tar.gz": None}, repo="TravelMapping/HighwayData", ref="3d7993c9cb60"),
)}


def source_entries(ids) -> list[dict]:
    """Manifest entries of the sources ``ids``, in that order."""
    return [CATALOG[i].entry() for i in ids]


MANIFEST = "sources.json"
_CHUNK = 1 << 16


def _sha256(path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, target, log=print, timeout: float = 60.0) -> dict:
    """Download ``url`` to ``target``, resuming a previous partial download (``target.partial``) with an HTTP
    ``Range`` request; the partial file is renamed over ``target`` only when complete. ``file://`` URLs are copied.
    Returns ``{"url", "size", "sha256"}``."""
    import shutil
    import urllib.request
    from pathlib import Path

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "fsgeo-sources"})
    if have and not url.startswith("file:"):
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        status = getattr(resp, "status", None)
        if have and status == 206:
            mode = "ab"
            log(f"sources: {target.name}: resuming after {have:,} bytes")
        else:
            mode = "wb"  # no partial file, or the server ignored the Range: start again
        with open(partial, mode) as f:
            shutil.copyfileobj(resp, f, _CHUNK)
    partial.replace(target)
    return {"url": url, "size": target.stat().st_size, "sha256": _sha256(target)}


def download(to, log=print, only=None, mirror: str | None = None, today: str | None = None,
             latest: bool = False) -> dict:
    """Fetch the raw sources into the folder ``to`` (the layout ``python -m fsgeo.build_data --raw`` reads).

    Each downloaded file is recorded in ``to/sources.json`` with its URL, size, SHA-256 and the date fetched, and
    the sources' titles, licences and URLs; a file already there with the recorded checksum is skipped (cached), an
    interrupted download resumes (HTTP Range). Archives are then unpacked into the files the build reads: the npm
    tarball of ``@etalab/decoupage-administratif`` into ``etalab/``, france-geojson into ``france-geojson/``, and the
    French part of Travel Mapping's HighwayData into ``travelmapping/highwaydata-fra.tar.gz``.

    Parameters
    ----------
    to : path
        Raw sources folder (created).
    log : callable
        One line per file.
    only : iterable of str, optional
        Source ids of :data:`CATALOG` to fetch (default: all).
    mirror : str, optional
        Base URL replacing each file's own: ``<mirror>/<file path>`` (a local copy, a proxy, tests).
    today : str, optional
        Date recorded as fetched (default: today, ISO).
    latest : bool
        Fetch the GitHub archives from their default branch instead of the commit they are pinned to (see the
        module notes); each file records the ``ref`` fetched.

    Returns
    -------
    dict
        The contents of ``sources.json``.
    """
    import datetime as dt
    import json
    from pathlib import Path

    from fsgeo.atomic import write_text

    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    manifest_path = to / MANIFEST
    record = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    record.setdefault("files", {})
    today = today or dt.date.today().isoformat()
    ids = list(only) if only else list(CATALOG)
    unknown = [i for i in ids if i not in CATALOG]
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}: expected {', '.join(CATALOG)}")
    for sid in ids:
        source = CATALOG[sid]
        ref = source.fetched_ref(latest)
        for rel, url in source.files_for(latest).items():
            if url is None:
                continue
            if mirror:
                url = mirror.rstrip("/") + "/" + rel
            target = to / rel
            known = record["files"].get(rel)
            if known and target.is_file() and known.get("sha256") == _sha256(target):
                log(f"sources: {rel}: already complete (sha256 {known['sha256'][:12]}), skipped")
                continue
            log(f"sources: {rel} <- {url}")
            got = fetch(url, target, log)
            got["fetched"] = today
            got["source"] = sid
            if ref is not None:
                got["ref"] = ref
            record["files"][rel] = got
            write_text(manifest_path, json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        _unpack(source, to, log, latest)
    record["sources"] = [CATALOG[i].entry() | {"fetched": min((f["fetched"] for f in record["files"].values()
                                                              if f.get("source") == i), default=None)}
                         | ({"ref": CATALOG[i].fetched_ref(latest)} if CATALOG[i].repo else {})
                         for i in CATALOG if any(f.get("source") == i for f in record["files"].values())]
    write_text(manifest_path, json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return record


def _unpack(source: Source, to, log, latest: bool = False) -> None:
    """Turn a source's downloaded archive into the files the build reads (no-op for plain files)."""
    import io
    import tarfile

    from fsgeo.atomic import atomic_path, write_bytes

    if source.id == "etalab":
        with tarfile.open(to / "etalab" / "decoupage-administratif-6.0.0.tgz", "r:gz") as tar:
            for member in tar:
                name = member.name.split("/", 1)[-1]
                if name in ("data/communes.json", "data/departements.json", "LICENSE") and member.isfile():
                    write_bytes(to / "etalab" / Path(name).name, tar.extractfile(member).read())
        log("sources: etalab: communes.json, departements.json, LICENSE unpacked")
    elif source.id == "france-geojson":
        with tarfile.open(to / source.archive(latest), "r:gz") as tar:
            n = 0
            for member in tar:
                name = member.name.split("/", 1)[-1]
                if member.isfile() and (name == "departements.geojson" or name.startswith("departements/")
                                        or name == "README.md"):
                    target = to / "france-geojson" / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    write_bytes(target, tar.extractfile(member).read())
                    n += 1
        log(f"sources: france-geojson: {n} files unpacked")
    elif source.id == "travelmapping":
        src = to / source.archive(latest)
        keep = 0
        with tarfile.open(src, "r:gz") as tar, atomic_path(to / "travelmapping" / "highwaydata-fra.tar.gz") as tmp:
            with tarfile.open(tmp, "w:gz") as out:
                for member in tar:
                    name = member.name.split("/", 1)[-1]
                    wanted = (name in ("systems.csv", "README.md") or name.startswith("hwy_data/_systems/")
                              or name.startswith("hwy_data/FRA"))
                    if member.isfile() and wanted:
                        data = tar.extractfile(member).read()
                        info = tarfile.TarInfo(name)
                        info.size, info.mtime = len(data), member.mtime
                        out.addfile(info, io.BytesIO(data))
                        keep += 1
        log(f"sources: travelmapping: highwaydata-fra.tar.gz written ({keep} files of France and the route lists)")

