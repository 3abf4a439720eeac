"""``fsgeo sources download``: fetch the public raw sources a study is built from (needs the internet)."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sources",
        help="download the public raw sources (ANCT list, COG, commune polygons, Travel Mapping)",
        description="Fetch the public raw sources fsgeo builds studies from, with their URLs, dates and licences "
                    "recorded in DIR/sources.json; cached (complete files are skipped) and resumable. Then: "
                    "fsgeo build --departement NN --raw DIR --out STUDY.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    d = sub.add_parser("download", help="download (or complete) the raw sources into a folder")
    d.add_argument("--to", type=Path, default=Path("raw"), metavar="DIR", help="raw sources folder (default: raw)")
    d.add_argument("--only", help="comma list of source ids: anct, etalab, france-geojson, travelmapping")
    d.add_argument("--mirror", metavar="URL", help="fetch every file from <URL>/<file path> instead")
    d.add_argument("--latest", action="store_true",
                   help="fetch the GitHub archives (Travel Mapping) from their default branch instead of the commit "
                        "fsgeo's reference data came from (recorded in sources.json either way)")
    d.set_defaults(func=run)


def run(args) -> int:
    from fsgeo.sources import download

    record = download(args.to, print, only=args.only.split(",") if args.only else None, mirror=args.mirror,
                      latest=args.latest)
    print(f"{len(record['files'])} files recorded in {Path(args.to) / 'sources.json'}")
    return 0
