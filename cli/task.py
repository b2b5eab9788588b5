"""Commands ``opvangmatch task``, ``opvangmatch pilots`` and ``opvangmatch pilots-compare``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from cli.context import Context, Period
from geo.errors import InputError

FORMATS = ("table", "csv", "geojson")


def _tasks(engine, period: str, national_total: int | None, province: str | None) -> pd.DataFrame:
    from geo.task import placement_tasks

    tasks = placement_tasks(engine, period, national_total=national_total)
    if province is not None:
        code = province.upper()
        if code not in set(tasks.loc[tasks.level == "province", "region_code"]):
            raise InputError(f"unknown province {province!r}; use a code such as PV28")
        attrs = tasks.attrs
        tasks = tasks[tasks.province_code == code].reset_index(drop=True)
        tasks.attrs = attrs
    return tasks


def with_geometry(engine, tasks: pd.DataFrame):
    """The task rows with their province or municipality outline, in EPSG:4326."""
    import geopandas as gpd

    with engine.connect() as conn:
        shapes = gpd.read_postgis(
            "SELECT code AS region_code, geom FROM province UNION ALL SELECT code, geom FROM municipality",
            conn,
            geom_col="geom",
        )
    frame = tasks.merge(shapes, on="region_code", how="left")
    return gpd.GeoDataFrame(frame, geometry="geom", crs=shapes.crs).to_crs("EPSG:4326")


def task_command(
    engine,
    province: str | None,
    period: str,
    national_total: int | None,
    fmt: str,
    output: Path | None,
    say,
) -> None:
    from geo.task import task_summary

    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    tasks = _tasks(engine, period, national_total, province)
    for line in task_summary(tasks):
        say(line)
    if fmt == "geojson":
        text = with_geometry(engine, tasks).to_json(drop_id=True)
    elif fmt == "csv":
        text = tasks.to_csv(index=False)
    else:
        shown = tasks.drop(columns=["required_source", "coverage_note"]).copy()
        shown["required_basis"] = shown.required_basis.str[:4]
        shown["realised_coverage"] = shown.realised_coverage.map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
        shown = shown.rename(columns={"realised_coverage": "realised/reported"})
        text = shown.to_string(index=False) + "\n"
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        say(f"wrote {len(tasks)} rows to {output}")


def read_candidates(path: Path) -> pd.DataFrame:
    """Candidates from a CSV (or any file geopandas reads) with the columns the portfolio needs."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype={"candidate_id": str, "municipality_code": str, "province_code": str})
    import geopandas as gpd

    return pd.DataFrame(gpd.read_file(path).drop(columns="geometry", errors="ignore"))


def candidates_for(engine, path: Path | None, profile: str | None, period: str, say) -> pd.DataFrame:
    """Scored candidates from a file, else those of the latest stored score runs, else the provisional
    municipal candidates (labelled as such)."""
    from geo.score.runs import stored_candidates

    choice = str(path) if path is not None and str(path) in {"scored", "provisional"} else None
    stored = stored_candidates(engine) if path is None or choice == "scored" else None
    if choice == "scored" and stored.empty:
        raise InputError("no stored score runs: run 'opvangmatch score --profile all' first")
    if path is not None and choice is None:
        frame = read_candidates(path)
        say(f"candidates: {len(frame):,} from {path}")
    elif stored is not None and not stored.empty:
        frame = stored
        runs = ", ".join(f"{p} (run {r})" for p, r in stored.groupby("profile")["run_id"].first().items())
        say(f"candidates: {len(frame):,} scored buildings from the latest score runs: {runs}")
    else:
        from geo.pilots.provisional import LABEL, municipal_candidates

        frame = municipal_candidates(engine, period)
        say(f"{LABEL} ({len(frame):,}); pass --candidates FILE for scored candidates")
    if profile is not None:
        column = "profile" if "profile" in frame else "target_group"
        kept = frame[frame[column] == profile]
        if kept.empty:
            known = ", ".join(sorted(frame[column].astype(str).unique()))
            raise InputError(f"no candidates for profile {profile!r} (column {column}: {known})")
        frame = kept
    return frame


def constraints_from(k, max_per_province, min_capacity, max_total_capacity, target_groups):
    from geo.pilots.portfolio import Constraints

    groups = tuple(g.strip() for g in (target_groups or "").split(",") if g.strip())
    return Constraints(
        k=k,
        max_per_province=max_per_province,
        min_capacity=min_capacity,
        max_total_capacity=max_total_capacity,
        target_groups=groups,
    )


def province_gaps(engine, period: str) -> pd.Series:
    from geo.task import placement_tasks

    tasks = placement_tasks(engine, period)
    prov = tasks[tasks.level == "province"]
    return prov.set_index("region_code").gap


def pilots_command(engine, candidates: Path | None, profile: str | None, period: str, constraints, fmt: str, say):
    from geo.pilots.portfolio import choose_portfolio

    frame = candidates_for(engine, candidates, profile, period, say)
    portfolio = choose_portfolio(frame, constraints, gaps=province_gaps(engine, period))
    if fmt == "csv":
        sys.stdout.write(portfolio.chosen.to_csv(index=False))
        for line in portfolio.lines()[len(portfolio.chosen) + 1 :]:
            say(line)
    else:
        typer.echo("\n".join(portfolio.lines()))


SCENARIO_KEYS = {"profile", "k", "max-per-province", "min-capacity", "max-total-capacity", "target-groups"}


def parse_scenario(text: str) -> dict:
    """``'profile=families,k=10,max-per-province=2,target-groups=families;amv'`` -> a dict of options."""
    out: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in SCENARIO_KEYS:
            raise InputError(f"scenario {text!r}: {part!r} is not one of {', '.join(sorted(SCENARIO_KEYS))}=VALUE")
        if key in {"k", "max-per-province", "min-capacity", "max-total-capacity"}:
            if not value.strip().isdigit():
                raise InputError(f"scenario {text!r}: {key} must be a whole number, got {value!r}")
            out[key] = int(value)
        else:
            out[key] = value.strip()
    return out


def compare_command(engine, a: str, b: str, candidates: Path | None, period: str, say) -> None:
    from geo.pilots.portfolio import compare_portfolios

    portfolios = []
    gaps = province_gaps(engine, period)
    for text in (a, b):
        spec = parse_scenario(text)
        constraints = constraints_from(
            spec.get("k", 10),
            spec.get("max-per-province"),
            spec.get("min-capacity"),
            spec.get("max-total-capacity"),
            spec.get("target-groups", "").replace(";", ","),
        )
        from geo.pilots.portfolio import choose_portfolio

        frame = candidates_for(engine, candidates, spec.get("profile"), period, say)
        portfolios.append(choose_portfolio(frame, constraints, gaps=gaps, explain=False))
    typer.echo("\n".join(compare_portfolios(*portfolios).lines(a, b)))


def add_commands(app: typer.Typer, ctx: Context) -> None:
    """Add ``task``, ``pilots`` and ``pilots-compare`` to ``app``."""

    @app.command("task")
    def task(
        province: Annotated[
            str | None, typer.Option(help="only this province and its municipalities, e.g. PV28")
        ] = None,
        period: Period = None,
        national_total: Annotated[
            int | None, typer.Option(help="national number of places (default: the published figure of the period)")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv or geojson (EPSG:4326)")] = "table",
        output: Annotated[Path | None, typer.Option(help="write to this file instead of standard output")] = None,
    ) -> None:
        """The placement task per province and municipality: required, realised, pipeline, gap, and sources."""
        task_command(ctx.engine(), province, period or ctx.settings.task_period, national_total, fmt, output, ctx.say)

    @app.command("pilots")
    def pilots(
        k: Annotated[int, typer.Option(help="at most this many locations")] = 10,
        profile: Annotated[str | None, typer.Option(help="only candidates of this profile / target group")] = None,
        max_per_province: Annotated[int | None, typer.Option(help="at most this many per province")] = None,
        min_capacity: Annotated[int | None, typer.Option(help="places per location at least")] = None,
        max_total_capacity: Annotated[int | None, typer.Option(help="places in total at most")] = None,
        target_groups: Annotated[
            str | None, typer.Option(help="comma-separated groups to cover where candidates allow")
        ] = None,
        candidates: Annotated[
            Path | None,
            typer.Option(
                help="CSV of scored candidates, 'scored' (latest score runs) or 'provisional' (municipal "
                "candidates); default: scored when runs are stored, else provisional"
            ),
        ] = None,
        period: Period = None,
        fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
    ) -> None:
        """Choose the pilot portfolio: up to k locations of highest total score under the constraints."""
        constraints = constraints_from(k, max_per_province, min_capacity, max_total_capacity, target_groups)
        pilots_command(ctx.engine(), candidates, profile, period or ctx.settings.task_period, constraints, fmt, ctx.say)

    @app.command("pilots-compare")
    def pilots_compare(
        a: Annotated[str, typer.Argument(help="scenario A, e.g. 'profile=families,k=10,max-per-province=2'")],
        b: Annotated[str, typer.Argument(help="scenario B, e.g. 'profile=single_adults,k=10'")],
        candidates: Annotated[
            Path | None, typer.Option(help="CSV of scored candidates, 'scored' or 'provisional'")
        ] = None,
        period: Period = None,
    ) -> None:
        """Two portfolios side by side: the locations that differ, places and gap closed per province.

        A scenario is KEY=VALUE pairs separated by commas: profile, k, max-per-province, min-capacity,
        max-total-capacity, target-groups (separated by ';')."""
        compare_command(ctx.engine(), a, b, candidates, period or ctx.settings.task_period, ctx.say)
