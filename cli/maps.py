"""``opvangmatch map overview|region|proposal``: write a self-contained HTML map."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cli.context import Context, Period
from geo.errors import InputError

Tiles = Annotated[
    str, typer.Option(help="background shown first: osm, brt (PDOK BRT-Achtergrondkaart), luchtfoto (PDOK) or none")
]
Lang = Annotated[str, typer.Option(help="labels: nl (Dutch) or en (English)")]
Out = Annotated[Path, typer.Option(help="HTML file to write")]


def _write(out: Path, html_text: str, say: Callable[[str], None]) -> None:
    if out.suffix.lower() not in {".html", ".htm"}:
        raise InputError(f"--out must name an .html file, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    say(f"wrote {out} ({len(html_text.encode('utf-8')) / 1e6:.2f} MB)")


def add_commands(app: typer.Typer, ctx: Context) -> None:
    """Add the ``map`` command group to ``app``."""
    maps = typer.Typer(help="Interactive maps (HTML, Leaflet shipped inside: opens offline but for tiles).")
    app.add_typer(maps, name="map", no_args_is_help=True)

    @maps.command("overview")
    def overview_cmd(
        out: Out = Path("out/overview.html"),
        color: Annotated[str, typer.Option(help="gap_per_1000 or share_realised")] = "gap_per_1000",
        tiles: Tiles = "osm",
        lang: Lang = "nl",
        period: Period = None,
    ) -> None:
        """The Netherlands by province and municipality, coloured by the placement task; wijken as a layer."""
        from geo.maps import overview_map
        from geo.monitoring.indicators import CostReference

        html_text = overview_map(
            ctx.engine(),
            colour=color,
            tiles=tiles,
            lang=lang,
            period=period or ctx.settings.task_period,
            cost_reference=CostReference.from_settings(ctx.settings),
        )
        _write(out, html_text, ctx.say)

    @maps.command("region")
    def region_cmd(
        province: Annotated[str, typer.Option(help="province code, e.g. PV25")],
        municipality: Annotated[
            list[str] | None,
            typer.Option(
                help="municipality code, e.g. GM0221; repeat it or give a comma list for several "
                "(GM0505,GM0590,GM0642); none: the whole province"
            ),
        ] = None,
        profile: Annotated[str, typer.Option(help="scoring profile (families, single_adults, amv, ...)")] = "default",
        out: Out = Path("out/region.html"),
        tiles: Tiles = "osm",
        lang: Lang = "nl",
    ) -> None:
        """Boundaries, wijken/buurten, reception, services per category and candidates coloured by score."""
        from geo.maps import region_map
        from geo.monitoring.indicators import CostReference

        html_text = region_map(
            ctx.engine(),
            province,
            municipality=municipality,
            profile=profile,
            tiles=tiles,
            lang=lang,
            period=ctx.settings.task_period,
            cost_reference=CostReference.from_settings(ctx.settings),
        )
        _write(out, html_text, ctx.say)

    @maps.command("proposal")
    def proposal_cmd(
        proposal_id: Annotated[int, typer.Argument(help="proposal id")],
        out: Out = Path("out/proposal.html"),
        tiles: Tiles = "osm",
        lang: Lang = "nl",
    ) -> None:
        """One proposal: score, nearest service per category, 500 m / 1 km circles, its buurt and wijk."""
        from geo.maps import proposal_map

        _write(
            out,
            proposal_map(ctx.engine(), proposal_id, tiles=tiles, lang=lang, period=ctx.settings.task_period),
            ctx.say,
        )
