"""``opvangmatch fetch SOURCE``: download open data for an area, cache it, load it like ``opvangmatch load``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli.context import Context
from geo.errors import InputError

SOURCES = {
    "bag": "BAG panden and verblijfsobjecten (PDOK OGC API Features)",
    "heights": "3D BAG building heights per pand (3D BAG API), for storeys from height",
    "cbs": "CBS wijken and buurten of --year (PDOK OGC API Features)",
    "boundaries": "all municipalities and provinces (PDOK bestuurlijke gebieden; no area needed)",
    "osm": "service points per category from OpenStreetMap (Overpass API); with --network the street network",
    "geocode": "place an address list (postcode + house number) with the PDOK Locatieserver",
}


def add_commands(app: typer.Typer, ctx: Context) -> None:
    """Add ``fetch`` to ``app``."""

    @app.command("fetch")
    def fetch_cmd(
        source: Annotated[str, typer.Argument(help="bag, heights, cbs, boundaries, osm or geocode")],
        file: Annotated[Path | None, typer.Argument(help="address list (geocode only)")] = None,
        municipality: Annotated[str | None, typer.Option(help="area: a loaded municipality, e.g. GM0505")] = None,
        province: Annotated[str | None, typer.Option(help="area: a loaded province, e.g. PV28")] = None,
        bbox: Annotated[str | None, typer.Option(help="area: minx,miny,maxx,maxy in RD metres (EPSG:28992)")] = None,
        year: Annotated[int | None, typer.Option(help="CBS year (cbs; default: two years ago)")] = None,
        file_option: Annotated[Path | None, typer.Option("--file", help="address list (geocode)")] = None,
        category: Annotated[str, typer.Option(help="service category of the geocoded points")] = "pharmacy",
        network: Annotated[
            bool, typer.Option("--network", help="osm: the walking network instead of services")
        ] = False,
        refresh: Annotated[bool, typer.Option("--refresh", help="ignore the cache and download again")] = False,
        cache_dir: Annotated[Path | None, typer.Option(help="cache folder (default .cache/fetch)")] = None,
    ) -> None:
        """Download open data for an area (or geocode a list), cache it on disk and load it atomically.

        SOURCE: bag, heights, cbs, boundaries, osm, geocode. The area is one of --municipality, --province (both must
        be loaded already) or --bbox; geocode takes the list as FILE or --file and an optional area.
        """
        from geo.fetch.area import resolve_area
        from geo.fetch.config import FetchConfig
        from geo.fetch.http import HttpClient
        from geo.fetch.store import load_downloads

        if source not in SOURCES:
            raise InputError(
                f"unknown source {source!r}; choose one of: " + "; ".join(f"{k} ({v})" for k, v in SOURCES.items())
            )
        config = FetchConfig.from_settings(ctx.settings, cache_dir=cache_dir)
        path = file or file_option
        if path is not None and source != "geocode":
            raise InputError(f"a FILE is only for 'fetch geocode', not for {source}")
        if network and source != "osm":
            raise InputError(f"--network is only for 'fetch osm', not for {source}")
        eng = ctx.engine()
        client = HttpClient(
            config.cache_dir,
            refresh=refresh,
            timeout=config.timeout,
            min_interval=config.min_interval,
            progress=ctx.say,
        )
        with client:
            if source == "boundaries":
                from geo.fetch.pdok import fetch_boundaries

                downloads = fetch_boundaries(client, config, progress=ctx.say)
            elif source == "geocode":
                from geo.fetch.geocode import fetch_geocode

                if path is None:
                    raise InputError("fetch geocode needs the address list: FILE or --file")
                area = (
                    resolve_area(eng, municipality=municipality, province=province, bbox=bbox)
                    if (municipality or province or bbox)
                    else None
                )
                downloads, report, counts = fetch_geocode(
                    client, config, path, category=category, area=area, progress=ctx.say
                )
                ctx.say(
                    "geocoding: "
                    + ", ".join(f"{n:,} {what}" for what, n in counts.items() if n)
                    + f"; unplaced listed in {report}"
                )
            else:
                area = resolve_area(eng, municipality=municipality, province=province, bbox=bbox)
                ctx.say(f"area {area.label}: RD bbox {', '.join(f'{v:.0f}' for v in area.bbox)}")
                if source == "bag":
                    from geo.fetch.pdok import fetch_bag

                    downloads = fetch_bag(client, config, area, progress=ctx.say)
                elif source == "heights":
                    from geo.fetch.threedbag import fetch_heights

                    downloads = fetch_heights(client, config, area, progress=ctx.say)
                elif source == "cbs":
                    from geo.fetch.pdok import fetch_cbs

                    downloads = fetch_cbs(client, config, area, year=year or date.today().year - 2, progress=ctx.say)
                elif network:
                    from geo.fetch.overpass import fetch_network

                    downloads = fetch_network(client, config, area, progress=ctx.say)
                else:
                    from geo.fetch.overpass import fetch_osm

                    downloads = fetch_osm(client, config, area, progress=ctx.say)
            ctx.say(
                f"{client.network_requests:,} network requests, "
                f"{client.cache_hits:,} answers from the cache ({config.cache_dir})"
            )
        for report in load_downloads(eng, downloads, progress=ctx.say):
            typer.echo(str(report))
