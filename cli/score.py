"""``opvangmatch score``: score every candidate in a scope for a profile (or every target group)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from cli.context import Context
from geo.errors import InputError


def add_commands(app: typer.Typer, ctx: Context) -> None:
    """Add ``score`` to ``app``."""

    @app.command("score")
    def score_cmd(
        profile: Annotated[
            str,
            typer.Option(
                help="profile name (families, single_adults, amv, permit_holders, "
                "default) or a .toml path; 'all' = every target group"
            ),
        ] = "default",
        municipality: Annotated[str | None, typer.Option(help="scope: a municipality code, e.g. GM0221")] = None,
        province: Annotated[str | None, typer.Option(help="scope: a province code, e.g. PV25")] = None,
        top: Annotated[int, typer.Option(help="how many of the best candidates to print")] = 10,
        store: Annotated[bool, typer.Option(help="store the run in the database")] = True,
    ) -> None:
        """Score candidate buildings, store the run, print the best and why."""
        from geo.score import TARGET_GROUPS, ScoringData, best_target_group, load_profile, score_candidates

        if top < 0:
            raise InputError("--top must be zero or more")
        names = list(TARGET_GROUPS) if profile == "all" else [profile]
        profiles = [load_profile(name) for name in names]  # validate every profile before any work
        eng = ctx.engine()
        say = ctx.say
        started = time.perf_counter()
        say("reading scoring data ...")
        data = ScoringData.load(eng, period=ctx.settings.task_period)
        results = {}
        for prof in profiles:
            say(f"scoring with profile {prof.name} ({prof.version}) ...")
            result = score_candidates(eng, prof, data, municipality=municipality, province=province, store=store)
            results[prof.name] = result
            _print_run(result, top)
        if len(results) > 1:
            _print_best_groups(best_target_group(results), top)
        say(f"done in {time.perf_counter() - started:.2f} s (data vintage {data.vintage['id']})")


def _print_run(result, top: int) -> None:
    frame = result.frame
    scope = result.scope.get("municipality") or result.scope.get("province") or "all candidates"
    ranked = frame[frame["rank"] > 0].sort_values("rank")
    typer.echo(
        f"\nprofile {result.profile.name} {result.profile.version} | scope {scope} | "
        f"{len(frame):,} candidates, {len(ranked):,} eligible, {int(frame['excluded'].sum()):,} excluded"
        + (f" | run {result.run_id}" if result.run_id else "")
    )
    flags = frame["flags"].explode().value_counts()
    if len(flags):
        typer.echo("flags: " + ", ".join(f"{k} {v:,}" for k, v in flags.items()))
    typer.echo(
        f"{'rank':>4}  {'candidate':<16} {'places':>6} {'total':>6} {'fit':>5} {'prox':>5} {'task':>5}  "
        "method  flags (clipped, assumed, estimated)"
    )
    for row in ranked.head(top).itertuples():
        capped = f" (of {row.capacity_estimate:,} estimated)" if row.capacity_estimate > row.capacity else ""
        typer.echo(
            f"{row.rank:>4}  {row.id:<16} {row.capacity:>6} {row.total:>6.3f} {row.proportional_fit:>5.2f} "
            f"{row.proximity:>5.2f} {row.task_contribution:>5.2f}  {row.capacity_method}{capped}  "
            + ",".join(row.flags)
        )
    typer.echo("buildings are measured from a representative point inside the footprint; " + _kinds_line(frame))


def _kinds_line(frame) -> str:
    """How many candidates got each distance kind per network category (the rest are straight lines)."""
    columns = sorted(c for c in frame.columns if c.endswith("_kind"))
    if not columns:
        return "distances are straight lines in RD metres"
    parts = []
    for column in columns:
        walked = int((frame[column] == "network").sum())
        parts.append(f"{column[: -len('_kind')]} {walked:,}/{len(frame):,}")
    return "distances walked along the network (candidates per category): " + ", ".join(parts) + "; others straight"


def _print_best_groups(best, top: int) -> None:
    typer.echo("\nwhich target group fits where (best profile per eligible candidate):")
    for group, n in best["best_group"].value_counts().sort_index().items():
        typer.echo(f"  {group:<15} {n:>6,} candidates")
    clear = best.dropna(subset=["margin"]).sort_values(["margin", "id"], ascending=[False, True]).head(top)
    for row in clear.itertuples():
        typer.echo(f"  {row.id}: {row.best_group} {row.best_total:.3f} (+{row.margin:.3f} over {row.runner_up})")
