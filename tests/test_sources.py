"""fsgeo sources download: fetched from a local HTTP server (no internet), cached, resumable, unpacked, recorded."""

import hashlib
import http.server
import io
import json
import tarfile
import threading
from pathlib import Path

import pytest

from fsgeo import sources


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture()
def mirror(tmp_path):
    """A local HTTP server serving a small mirror of the four sources, honouring Range requests; counts requests."""
    root = tmp_path / "mirror"
    files = {
        "anct/liste-fs-20240801.csv": "id_fs;lib_fs\n1;France services de test\n".encode() * 200,
        "etalab/decoupage-administratif-6.0.0.tgz": _tgz({
            "package/data/communes.json": b'[{"code": "70001"}]', "package/data/departements.json": b"[]",
            "package/LICENSE": b"MIT", "package/index.js": b"//"}),
        "france-geojson/france-geojson-master.tar.gz": _tgz({
            "france-geojson-master/departements.geojson": b"{}",
            "france-geojson-master/departements/70-haute-saone/communes-70-haute-saone.geojson": b"{}",
            "france-geojson-master/regions.geojson": b"{}"}),
        # the archive of the pinned commit (GitHub names its folder after the full sha)
        "travelmapping/HighwayData-3d7993c9cb60.tar.gz": _tgz({
            "HighwayData-3d7993c9cb60ffff/systems.csv": b"System;CountryCode\n",
            "HighwayData-3d7993c9cb60ffff/hwy_data/_systems/fraa.csv": b"system\n",
            "HighwayData-3d7993c9cb60ffff/hwy_data/FRA-BFC/fraa/fra.a036.wpt": b"A x?lat=1&lon=2\n",
            "HighwayData-3d7993c9cb60ffff/hwy_data/DEU-BW/deua/deu.a005.wpt": b"B x?lat=1&lon=2\n"}),
        # and of the default branch (--latest), with one more route
        "travelmapping/HighwayData-master.tar.gz": _tgz({
            "HighwayData-master/systems.csv": b"System;CountryCode\n",
            "HighwayData-master/hwy_data/_systems/fraa.csv": b"system\n",
            "HighwayData-master/hwy_data/FRA-BFC/fraa/fra.a036.wpt": b"A x?lat=1&lon=2\n",
            "HighwayData-master/hwy_data/FRA-BFC/fraa/fra.a039.wpt": b"C x?lat=1&lon=2\n"}),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

        def do_GET(self):
            requests.append((self.path, self.headers.get("Range")))
            path = root / self.path.lstrip("/")
            data = path.read_bytes()
            rng = self.headers.get("Range")
            if rng:
                start = int(rng.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                data = data[start:]
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files, requests
    server.shutdown()


def test_download_unpacks_records_and_caches(tmp_path, mirror):
    url, files, requests = mirror
    to = tmp_path / "raw"
    lines = []
    record = sources.download(to, lines.append, mirror=url, today="2026-11-29")
    # the files the build reads
    assert json.loads((to / "etalab" / "communes.json").read_text()) == [{"code": "70001"}]
    assert (to / "etalab" / "LICENSE").read_text() == "MIT"
    assert (to / "france-geojson" / "departements" / "70-haute-saone" / "communes-70-haute-saone.geojson").is_file()
    assert not (to / "france-geojson" / "regions.geojson").exists()
    with tarfile.open(to / "travelmapping" / "highwaydata-fra.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["hwy_data/FRA-BFC/fraa/fra.a036.wpt", "hwy_data/_systems/fraa.csv",
                                          "systems.csv"]
    # the pinned commit's archive, recorded with its ref
    assert record["files"]["travelmapping/HighwayData-3d7993c9cb60.tar.gz"]["ref"] == "3d7993c9cb60"
    assert record["files"]["france-geojson/france-geojson-master.tar.gz"]["ref"] == "master"
    assert "travelmapping/HighwayData-master.tar.gz" not in record["files"]
    assert {s["id"]: s.get("ref") for s in record["sources"]} == {
        "anct": None, "etalab": None, "france-geojson": "master", "travelmapping": "3d7993c9cb60"}
    # recorded: URL, size, checksum, date, licence
    rec = record["files"]["anct/liste-fs-20240801.csv"]
    data = files["anct/liste-fs-20240801.csv"]
    assert rec["url"] == f"{url}/anct/liste-fs-20240801.csv" and rec["size"] == len(data)
    assert rec["sha256"] == hashlib.sha256(data).hexdigest() and rec["fetched"] == "2026-11-29"
    assert json.loads((to / "sources.json").read_text()) == record
    assert {s["id"] for s in record["sources"]} == {"anct", "etalab", "france-geojson", "travelmapping"}
    assert all(s["licence"] for s in record["sources"])
    # a second run downloads nothing
    n = len(requests)
    sources.download(to, lines.append, mirror=url)
    assert len(requests) == n
    assert sum("already complete" in line for line in lines) == 4
    # a changed file (checksum differs) is fetched again
    (to / "anct" / "liste-fs-20240801.csv").write_text("tampered")
    sources.download(to, lines.append, only=["anct"], mirror=url)
    assert (to / "anct" / "liste-fs-20240801.csv").read_bytes() == data


def test_interrupted_download_resumes_with_range(tmp_path, mirror):
    url, files, requests = mirror
    rel = "anct/liste-fs-20240801.csv"
    data = files[rel]
    target = tmp_path / "raw" / rel
    target.parent.mkdir(parents=True)
    target.with_name(target.name + ".partial").write_bytes(data[:1000])  # what an interrupted run left
    lines = []
    got = sources.fetch(f"{url}/{rel}", target, lines.append)
    assert target.read_bytes() == data and got["sha256"] == hashlib.sha256(data).hexdigest()
    assert requests[-1] == (f"/{rel}", "bytes=1000-") and "resuming after 1,000 bytes" in lines[0]
    assert not target.with_name(target.name + ".partial").exists()


def test_file_mirror_and_unknown_source(tmp_path, mirror):
    _, files, _ = mirror
    root = tmp_path / "mirror"
    record = sources.download(tmp_path / "raw", lambda s: None, only=["anct"], mirror=root.as_uri())
    assert list(record["files"]) == ["anct/liste-fs-20240801.csv"]
    with pytest.raises(ValueError, match="unknown source"):
        sources.download(tmp_path / "raw", lambda s: None, only=["nope"])


def test_archive_urls_are_pinned_to_the_recorded_commit():
    """The URLs a user fetches (not fetched here: no internet): HighwayData at the commit SOURCES.md records,
    france-geojson (no commit recorded) and --latest at the default branch."""
    tm, fg = sources.CATALOG["travelmapping"], sources.CATALOG["france-geojson"]
    assert tm.files_for() == {
        "travelmapping/HighwayData-3d7993c9cb60.tar.gz":
            "https://codeload.github.com/TravelMapping/HighwayData/tar.gz/3d7993c9cb60",
        "travelmapping/highwaydata-fra.tar.gz": None}
    assert tm.files_for(latest=True) == {
        "travelmapping/HighwayData-master.tar.gz":
            "https://codeload.github.com/TravelMapping/HighwayData/tar.gz/refs/heads/master",
        "travelmapping/highwaydata-fra.tar.gz": None}
    assert list(fg.files_for().items())[0] == (
        "france-geojson/france-geojson-master.tar.gz",
        "https://codeload.github.com/gregoiredavid/france-geojson/tar.gz/refs/heads/master")
    assert fg.files_for() == fg.files_for(latest=True)
    raw_notes = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw" / "SOURCES.md"
    if raw_notes.is_file():  # the pinned commit is the one the reference copy records
        assert f"`TravelMapping/HighwayData` at commit {tm.ref}" in raw_notes.read_text(encoding="utf-8")
    assert sources.github_archive_url("a/b", "0123abc") == "https://codeload.github.com/a/b/tar.gz/0123abc"
    with pytest.raises(ValueError, match="owner/name"):
        sources.github_archive_url("nobody", "abc")
    # plain files keep their own URL
    assert sources.CATALOG["anct"].files_for() == sources.CATALOG["anct"].files


def test_latest_fetches_the_default_branch(tmp_path, mirror):
    url, files, requests = mirror
    to = tmp_path / "raw"
    record = sources.download(to, lambda s: None, only=["travelmapping"], mirror=url, latest=True)
    assert list(record["files"]) == ["travelmapping/HighwayData-master.tar.gz"]
    assert record["files"]["travelmapping/HighwayData-master.tar.gz"]["ref"] == "master"
    assert record["sources"][0]["ref"] == "master"
    with tarfile.open(to / "travelmapping" / "highwaydata-fra.tar.gz") as tar:
        assert "hwy_data/FRA-BFC/fraa/fra.a039.wpt" in tar.getnames()
    # back to the pinned commit: its own archive, unpacked over the latest one
    sources.download(to, lambda s: None, only=["travelmapping"], mirror=url)
    with tarfile.open(to / "travelmapping" / "highwaydata-fra.tar.gz") as tar:
        assert "hwy_data/FRA-BFC/fraa/fra.a039.wpt" not in tar.getnames()
