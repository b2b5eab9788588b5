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
        spread_per: Annotated[
            str | None, typer.Option(help="spread the printed shortlist: at most --spread-most per 'buurt' or 'wijk'")
        ] = None,
        spread_most: Annotated[int, typer.Option(help="with --spread-per: candidates per buurt or wijk")] = 1,
    ) -> None:
        """Score candidate buildings, store the run, print the best and why."""
        from geo.score import TARGET_GROUPS, ScoringData, best_target_group, load_profile, score_candidates

        if top < 0:
            raise InputError("--top must be zero or more")
        spread = (spread_per, spread_most) if spread_per is not None else None
        if spread is not None:  # check the options before any work
            from geo.score.ranking import SPREAD_LEVELS

            if spread_per not in SPREAD_LEVELS or spread_most < 1:
                raise InputError(
                    f"--spread-per must be one of {', '.join(SPREAD_LEVELS)} and --spread-most at least 1, "
                    f"got {spread_per!r} and {spread_most}"
                )
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
            _print_run(result, top, spread)
        if len(results) > 1:
            _print_best_groups(best_target_group(results), top)
        say(f"done in {time.perf_counter() - started:.2f} s (data vintage {data.vintage['id']})")


def _print_run(result, top: int, spread: tuple[str, int] | None = None) -> None:
    from geo.score.monuments import MONUMENT_UNKNOWN_HINT
    from geo.score.ranking import spread as spread_shortlist
    from geo.score.use import USE_UNKNOWN_HINT

    frame = result.frame
    profile = result.profile
    scope = result.scope.get("municipality") or result.scope.get("province") or "all candidates"
    ranked = frame[frame["rank"] > 0].sort_values("rank")
    typer.echo(
        f"\nprofile {profile.name} {profile.version} | scope {scope} | "
        f"{len(frame):,} candidates, {len(ranked):,} eligible, {int(frame['excluded'].sum()):,} excluded"
        + (f" | run {result.run_id}" if result.run_id else "")
    )
    states = frame["use_state"].value_counts()
    typer.echo(
        "use (BAG verblijfsobjecten): "
        + ", ".join(
            f"{state.replace('_', ' ')} {int(states.get(state, 0)):,}"
            for state in ("suitable", "unknown", "not_accepted")
        )
        + f" (accepted: {', '.join(profile.use.accepted)}; at least {profile.use.min_share:.0%} of floor area)"
    )
    if states.get("unknown", 0):
        typer.echo(USE_UNKNOWN_HINT + "; candidates of unknown use rank after every suitable one")
    methods = ranked["capacity_method"].value_counts(normalize=True)
    typer.echo("capacity from: " + ", ".join(f"{m} {share:.0%}" for m, share in methods.items()))
    if len(ranked):
        typer.echo(
            f"proximity weight on measurements: {ranked['measured_share'].mean():.0%} on average (estimates weigh "
            f"x{profile.estimate_weight:g}); score bands of {profile.ranking.band_width:g}, ordered inside by "
            + ", ".join(profile.ranking.secondary)
            + ", id"
        )
    flags = frame["flags"].explode().value_counts()
    if len(flags):
        typer.echo("flags: " + ", ".join(f"{k} {v:,}" for k, v in flags.items()))
    if flags.get("monument_status_unknown", 0):
        typer.echo(f"{flags['monument_status_unknown']:,} candidates: {MONUMENT_UNKNOWN_HINT}")
    shown = ranked
    if spread is not None:
        shown = spread_shortlist(frame, *spread)
        typer.echo(
            f"shortlist spread: at most {spread[1]} per {spread[0]}"
            + (
                f" ({shown.attrs['unspread']:,} without a {spread[0]} code kept as they are)"
                if shown.attrs["unspread"]
                else ""
            )
        )
    typer.echo(
        f"{'rank':>4} {'band':>4}  {'candidate':<16} {'places':>6} {'total':>6} {'fit':>5} {'prox':>5} {'task':>5} "
        f"{'size':>5} {'meas':>5}  use  method  flags (clipped, assumed, estimated)"
    )
    for row in shown.head(top).itertuples():
        capped = f" (of {row.capacity_estimate:,} estimated)" if row.capacity_estimate > row.capacity else ""
        typer.echo(
            f"{row.rank:>4} {row.band:>4}  {row.id:<16} {row.capacity:>6} {row.total:>6.3f} "
            f"{row.proportional_fit:>5.2f} {row.proximity:>5.2f} {row.task_contribution:>5.2f} {row.size_fit:>5.2f} "
            f"{row.measured_share:>5.0%}  "
            f"{row.use_state}  {row.capacity_method}{capped}  " + ",".join(row.flags)
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
