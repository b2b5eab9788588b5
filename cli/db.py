"""``opvangmatch db up|down|url|status``, ``opvangmatch load`` and ``opvangmatch unload``: the database and its data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.context import Context


def add_commands(app: typer.Typer, ctx: Context) -> None:
    """Add the ``db`` group and the ``load`` / ``unload`` commands to ``app``."""
    db_app = typer.Typer(help="The database: managed local PostGIS or DATABASE_URL.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    def shown_url() -> str:
        from sqlalchemy.engine import make_url

        from geo.db import database_url

        return make_url(database_url(ctx.settings)).render_as_string(hide_password=True)

    @db_app.command("up")
    def db_up() -> None:
        """Start the database (managed mode: create the local cluster once), create PostGIS, migrate."""
        from geo.db.managed import Cluster

        if ctx.settings.managed:
            for line in Cluster(ctx.settings).up():
                ctx.say(line)
        ctx.engine()
        ctx.say("database ready: " + shown_url())

    @db_app.command("down")
    def db_down() -> None:
        """Stop the managed cluster (nothing to do with DATABASE_URL)."""
        from geo.db.managed import Cluster

        if not ctx.settings.managed:
            ctx.say("DATABASE_URL is set: the external server is not ours to stop")
            return
        ctx.say("stopped" if Cluster(ctx.settings).down() else "not running")

    @db_app.command("url")
    def db_url() -> None:
        """Print the SQLAlchemy URL of the database."""
        from geo.db import database_url

        typer.echo(database_url(ctx.settings))

    @db_app.command("status")
    def db_status() -> None:
        """Row counts per table and source."""
        from geo.db.status import data_vintage, row_counts, service_counts

        eng = ctx.engine()
        rows = row_counts(eng)
        if not rows:
            typer.echo("the database is empty; run 'opvangmatch load demo'")
            return
        width = max(len(s) for _, s, _ in rows)
        for table, source, n in rows:
            typer.echo(f"{table:<22} {source:<{width}} {n:>9,}")
        typer.echo("services per category: " + ", ".join(f"{k} {v:,}" for k, v in service_counts(eng).items()))
        typer.echo(f"data vintage: {data_vintage(eng)['id']}")

    @app.command("load")
    def load_cmd(
        kind: Annotated[str, typer.Argument(help="source kind (see --help) or 'demo' for all shipped data")],
        paths: Annotated[list[Path] | None, typer.Argument(help="file(s) to load")] = None,
        source: Annotated[str | None, typer.Option(help="name of the source whose rows this load replaces")] = None,
        year: Annotated[
            int | None, typer.Option(help="reference year of the data (default: from the file name)")
        ] = None,
        crs: Annotated[str | None, typer.Option(help="CRS to assume for a file without one, e.g. EPSG:28992")] = None,
        where: Annotated[str | None, typer.Option(help="OGR SQL filter on the features")] = None,
        layer: Annotated[str | None, typer.Option(help="layer to read (GeoPackage)")] = None,
        category: Annotated[str | None, typer.Option(help="service category for points / GTFS stops")] = None,
        name_field: Annotated[str | None, typer.Option(help="field holding the name (points)")] = None,
        id_field: Annotated[str | None, typer.Option(help="field holding the id (points)")] = None,
        period: Annotated[
            str | None, typer.Option(help="task period for task figures (default: the task period setting)")
        ] = None,
        coverage: Annotated[
            str | None,
            typer.Option(
                help="service and monument layers: what the layer covers, complete|partial|none[:AREA,...] with AREA "
                "NL, PVxx or GMxxxx (default partial:NL: distances are upper bounds, monument status unknown)"
            ),
        ] = None,
        skip_outside: Annotated[
            bool | None,
            typer.Option(
                "--skip-outside", help="drop points outside the Netherlands (geocoding errors) instead of stopping"
            ),
        ] = None,
    ) -> None:
        """Load data. KIND is one of: provinces, municipalities, districts, neighbourhoods,
        municipality-provinces, proximity, buildings, residences, heights (3D BAG), monuments (RCE), schools,
        gtfs-stops, chb-stations, points, reception, task, reported, network; or 'demo'."""
        from geo.io import load
        from geo.io.demo import load_demo

        eng = ctx.engine()
        if kind == "demo":
            from geo.maps.overview import prepare_overview_areas

            load_demo(eng, ctx.settings.data_dir, progress=ctx.say)
            ctx.say("preparing the overview map's boundaries (cleaned once, kept in the database)")
            prepare_overview_areas(eng)
            db_status()
            return
        if not paths:
            raise typer.BadParameter("give the file(s) to load", param_hint="PATHS")
        if source and len(paths) > 1:
            raise typer.BadParameter("--source names one source; load one file at a time with it")
        for path in paths:
            report = load(
                eng,
                kind,
                path,
                source=source,
                progress=ctx.say,
                year=year,
                crs=crs,
                where=where,
                layer=layer,
                category=category,
                name_field=name_field,
                id_field=id_field,
                period=period or (ctx.settings.task_period if kind == "task" else None),
                coverage=coverage,
                skip_outside=skip_outside,
            )
            typer.echo(str(report))

    @app.command("unload")
    def unload_cmd(source: Annotated[str, typer.Argument(help="source name as shown by 'db status'")]) -> None:
        """Remove every row a source loaded."""
        from geo.io import unload

        typer.echo(f"removed {unload(ctx.engine(), source):,} rows of {source}")
