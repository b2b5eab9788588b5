"""``opvangmatch monitoring import`` and ``opvangmatch evaluate pilot|portfolio``."""

from __future__ import annotations

import json
import os
import pwd
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli.context import Context
from geo.errors import DataError, InputError

Format = Annotated[str, typer.Option("--format", help="text, json, csv or html")]
AsOf = Annotated[str | None, typer.Option(help="evaluate as of this date, YYYY-MM-DD (default today)")]
Out = Annotated[Path | None, typer.Option(help="write to this file instead of the terminal")]
Chart = Annotated[Path | None, typer.Option(help="also write the trade-offs chart to this .svg file")]
FORMATS = ("text", "json", "csv", "html")


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of must be a date YYYY-MM-DD, got {text!r}") from None


def add_commands(app: typer.Typer, ctx: Context) -> None:
    """Add the ``monitoring`` and ``evaluate`` command groups to ``app``."""
    engine, say = ctx.engine, ctx.say
    monitoring = typer.Typer(help="Pilot monitoring records (per pilot and period, with source and author).")
    app.add_typer(monitoring, name="monitoring", no_args_is_help=True)
    evaluate_app = typer.Typer(help="Evaluate pilots: support, integration, return and costs, side by side.")
    app.add_typer(evaluate_app, name="evaluate", no_args_is_help=True)

    @monitoring.command("import")
    def import_cmd(
        path: Annotated[Path, typer.Argument(help="CSV: proposal_id,period,indicator,breakdown,partner,value,source")],
        entered_by: Annotated[str | None, typer.Option(help="who enters the records (default: the login name)")] = None,
    ) -> None:
        """Import monitoring records from CSV: checked whole first, written all or nothing, idempotent."""
        from geo.monitoring.records import Actor, import_csv

        if not path.is_file():
            raise DataError(path, "no such file")
        who = Actor(key=(entered_by or ctx.settings.login or pwd.getpwuid(os.getuid()).pw_name)[:50])
        with engine().begin() as conn:
            counts = import_csv(conn, who, path.read_bytes(), str(path))
        say(
            f"{path}: {counts['rows']} rows, {counts['written']} values written or changed, "
            f"{counts['unchanged']} already so"
        )

    def _run(proposal_id: int | None, fmt: str, as_of: str | None, out: Path | None, chart: Path | None) -> None:
        from geo.monitoring.evaluate import evaluate
        from geo.monitoring.indicators import CostReference
        from geo.monitoring.records import Actor
        from geo.monitoring.report import as_json, chart_svg, html_report, text_report, to_csv

        if fmt not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        with engine().connect() as conn:
            result = evaluate(
                conn,
                Actor(),
                as_of=_as_of(as_of),
                reference=CostReference.from_settings(ctx.settings),
                proposal_id=proposal_id,
            )
        shown = result.summary if proposal_id is None else result.summary[result.summary.id == proposal_id]
        for row in shown.itertuples():
            if row.warning:
                say(f"warning: pilot #{row.id}: {row.warning}")
        if fmt == "text":
            text = "\n".join(text_report(result, proposal_id)) + "\n"
        elif fmt == "json":
            text = json.dumps(as_json(result, proposal_id), indent=1, ensure_ascii=False) + "\n"
        elif fmt == "csv":
            text = to_csv(result, proposal_id)
        else:
            text = html_report(result, proposal_id)
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            say(f"wrote {out}")
        else:
            typer.echo(text, nl=False)
        if chart:
            if chart.suffix.lower() != ".svg":
                raise InputError(f"--chart must name an .svg file, got {chart}")
            chart.parent.mkdir(parents=True, exist_ok=True)
            chart.write_text(chart_svg(result, highlight=proposal_id), encoding="utf-8")
            say(f"wrote {chart}")

    @evaluate_app.command("pilot")
    def pilot_cmd(
        proposal_id: Annotated[int, typer.Argument(help="the pilot's proposal id")],
        fmt: Format = "text",
        as_of: AsOf = None,
        out: Out = None,
        chart: Chart = None,
    ) -> None:
        """One pilot per period and over its run, against the portfolio median and the cost reference."""
        _run(proposal_id, fmt, as_of, out, chart)

    @evaluate_app.command("portfolio")
    def portfolio_cmd(fmt: Format = "text", as_of: AsOf = None, out: Out = None, chart: Chart = None) -> None:
        """Every pilot: status, months left, completeness, the four dimensions with lights; trade-offs."""
        _run(None, fmt, as_of, out, chart)
