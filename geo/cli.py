"""The ``opvangmatch`` command line. Settings are read once here and passed on."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from geo.errors import OpvangmatchError
from geo.settings import Settings

app = typer.Typer(
    help="opvangmatch: location matching for small-scale asylum reception.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: managed local PostGIS or DATABASE_URL.", no_args_is_help=True)
app.add_typer(db_app, name="db")


class _State:
    settings: Settings | None = None


state = _State()


def settings() -> Settings:
    if state.settings is None:
        state.settings = Settings.from_env()
    return state.settings


def say(message: str) -> None:
    typer.echo(message, err=True)


def engine():
    from geo.db import prepare_database

    return prepare_database(settings())


@db_app.command("up")
def db_up() -> None:
    """Start the database (managed mode: create the local cluster once), create PostGIS, migrate."""
    from geo.db.managed import Cluster

    s = settings()
    if s.managed:
        for line in Cluster(s).up():
            say(line)
    engine()
    say("database ready: " + _shown_url())


@db_app.command("down")
def db_down() -> None:
    """Stop the managed cluster (nothing to do with DATABASE_URL)."""
    from geo.db.managed import Cluster

    s = settings()
    if not s.managed:
        say("DATABASE_URL is set: the external server is not ours to stop")
        return
    say("stopped" if Cluster(s).down() else "not running")


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the database."""
    from geo.db import database_url

    typer.echo(database_url(settings()))


@db_app.command("status")
def db_status() -> None:
    """Row counts per table and source."""
    from geo.db.status import data_vintage, row_counts, service_counts

    eng = engine()
    rows = row_counts(eng)
    if not rows:
        typer.echo("the database is empty; run 'opvangmatch load demo'")
        return
    width = max(len(s) for _, s, _ in rows)
    for table, source, n in rows:
        typer.echo(f"{table:<22} {source:<{width}} {n:>9,}")
    typer.echo("services per category: " + ", ".join(f"{k} {v:,}" for k, v in service_counts(eng).items()))
    typer.echo(f"data vintage: {data_vintage(eng)['id']}")


def _shown_url() -> str:
    from sqlalchemy.engine import make_url

    from geo.db import database_url

    return make_url(database_url(settings())).render_as_string(hide_password=True)


@app.command("load")
def load_cmd(
    kind: Annotated[str, typer.Argument(help="source kind (see --help) or 'demo' for all shipped data")],
    paths: Annotated[list[Path] | None, typer.Argument(help="file(s) to load")] = None,
    source: Annotated[str | None, typer.Option(help="name of the source whose rows this load replaces")] = None,
    year: Annotated[int | None, typer.Option(help="reference year of the data (default: from the file name)")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS to assume for a file without one, e.g. EPSG:28992")] = None,
    where: Annotated[str | None, typer.Option(help="OGR SQL filter on the features")] = None,
    layer: Annotated[str | None, typer.Option(help="layer to read (GeoPackage)")] = None,
    category: Annotated[str | None, typer.Option(help="service category for points / GTFS stops")] = None,
    name_field: Annotated[str | None, typer.Option(help="field holding the name (points)")] = None,
    id_field: Annotated[str | None, typer.Option(help="field holding the id (points)")] = None,
    period: Annotated[str | None, typer.Option(help="task period for task figures, e.g. 2024")] = None,
    coverage: Annotated[
        str | None,
        typer.Option(
            help="service layers: what the layer covers, complete|partial|none[:AREA,...] with AREA NL, PVxx or "
            "GMxxxx (default partial:NL: distances are upper bounds)"
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
    municipality-provinces, proximity, buildings, residences, schools, gtfs-stops, chb-stations, points,
    reception, task, network; or 'demo'."""
    from geo.io import load
    from geo.io.demo import load_demo

    eng = engine()
    if kind == "demo":
        load_demo(eng, settings().data_dir, progress=say)
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
            progress=say,
            year=year,
            crs=crs,
            where=where,
            layer=layer,
            category=category,
            name_field=name_field,
            id_field=id_field,
            period=period,
            coverage=coverage,
            skip_outside=skip_outside,
        )
        typer.echo(str(report))


@app.command("unload")
def unload_cmd(source: Annotated[str, typer.Argument(help="source name as shown by 'db status'")]) -> None:
    """Remove every row a source loaded."""
    from geo.io import unload

    typer.echo(f"removed {unload(engine(), source):,} rows of {source}")


from geo.fetch.cli import register as _register_fetch  # noqa: E402  (opvangmatch fetch)

_register_fetch(app)

from geo.task_cli import register as _register_task  # noqa: E402  (opvangmatch task, pilots, pilots-compare)

_register_task(app, engine, say)

from geo.score.cli import register as _register_score  # noqa: E402  (opvangmatch score)

_register_score(app, engine, say)

# --- opvangmatch serve / apikey (the HTTP layer lives in api/, imported only when these commands run) ---------
apikey_app = typer.Typer(help="API keys of the scoring API (stored hashed; shown once).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the scoring API (FastAPI; OpenAPI docs at /docs)."""
    from api.cli import serve

    serve(settings(), host=host, port=port, workers=workers)


@apikey_app.command("create")
def apikey_create_cmd(
    role: Annotated[str, typer.Option(help="viewer, municipality, coa or admin")],
    municipality: Annotated[str | None, typer.Option(help="municipality code (role municipality), e.g. GM0505")] = None,
    label: Annotated[str | None, typer.Option(help="who or what the key is for")] = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from api.auth import create_key

    typer.echo(create_key(engine(), role, municipality, label))
    say(f"created a {role} key" + (f" for {municipality}" if municipality else "") + "; it is shown only this once")


@apikey_app.command("list")
def apikey_list_cmd() -> None:
    """The keys' prefixes, roles, municipalities and state (never the keys)."""
    from api.auth import list_keys

    for k in list_keys(engine()):
        state_text = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
        code = k["municipality_code"] or "-"
        typer.echo(f"{k['prefix']}...  {k['role']:<12} {code:<7} {state_text}  {k['label'] or ''}")


@apikey_app.command("revoke")
def apikey_revoke_cmd(
    prefix: Annotated[
        str, typer.Argument(help="the key, or its first 8-10 characters as 'apikey list' shows them (om_ optional)")
    ],
) -> None:
    """Revoke exactly one key (it stops working within the API's key cache time, 30 s). A prefix that matches no
    key or several is an error, and nothing is revoked."""
    from api.auth import revoke_key

    typer.echo(f"revoked key {revoke_key(engine(), prefix)}...")


from geo.maps.cli import register as _register_maps  # noqa: E402  (opvangmatch map overview|region|proposal)

_register_maps(app, engine, say)


def main() -> None:
    try:
        app()
    except OpvangmatchError as exc:
        typer.echo(f"opvangmatch: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("opvangmatch: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug or an unforeseen input: say what, keep the traceback for debugging
        if os.environ.get("OPVANGMATCH_DEBUG"):
            raise
        typer.echo(
            f"opvangmatch: unexpected error: {type(exc).__name__}: {exc} (set OPVANGMATCH_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
