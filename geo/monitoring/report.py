"""The evaluation as text (CLI), CSV, JSON-ready dicts and HTML with the trade-offs chart (SVG).

Text from data (titles) is escaped for its context; the chart labels pilots by id and municipality code only.
"""

from __future__ import annotations

import html
import io
import math
from datetime import date

import numpy as np
import pandas as pd

from geo.monitoring.evaluate import HEADLINE, LIGHTS, PERIOD_COLUMNS, Evaluation, trade_offs
from geo.monitoring.indicators import EVALUATED

# Okabe-Ito colours (safe for the common colour-vision deficiencies), each with its own symbol too.
LIGHT_STYLE = {
    "green": ("#009E73", "\u2714", "good"),
    "amber": ("#E69F00", "!", "watch"),
    "red": ("#D55E00", "\u2716", "concern"),
    "missing": ("#BBBBBB", "?", "no data"),
}
MISSING = "missing"


def _clean(value):
    """JSON-safe: NaN becomes None (shown as missing), numpy scalars become Python numbers, dates ISO text."""
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def as_json(result: Evaluation, proposal_id: int | None = None) -> dict:
    """The evaluation as a JSON-ready dict (missing = null)."""
    summary = result.summary if proposal_id is None else result.summary[result.summary.id == proposal_id]
    out = {
        "as_of": result.as_of.isoformat(),
        "reference": {
            "eur_per_place_year": result.reference.eur_per_place_year,
            "year": result.reference.year,
            "source": result.reference.source,
        },
        "dimensions": {d: {"headline": HEADLINE[d], "light_on": LIGHTS[d][0]} for d in EVALUATED},
        "portfolio_median": {k: _clean(v) for k, v in result.median.items()},
        "pilots": records(summary),
        "trade_offs": records(trade_offs(result)),
        "notes": result.notes,
    }
    if proposal_id is not None:
        out["periods"] = records(result.periods[proposal_id][PERIOD_COLUMNS])
    return out


def _fmt(value, kind: str = "num") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if kind == "pct":
        return f"{100 * value:.0f}%"
    if kind == "eur":
        return f"EUR {value:,.0f}"
    if kind == "x":
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"
    return str(value)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (numbers are left alone)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def to_csv(result: Evaluation, proposal_id: int | None = None) -> str:
    """Per-period rows of one pilot, or the portfolio summary; missing values are empty cells (never 0). Text
    cells that a spreadsheet would take for a formula are prefixed with an apostrophe."""
    if proposal_id is not None:
        frame = result.periods[proposal_id][PERIOD_COLUMNS].copy()
        frame.insert(0, "proposal_id", proposal_id)
    else:
        frame = result.summary.copy()
        if "periods_missing" in frame:
            frame["periods_missing"] = frame.periods_missing.map(lambda v: " ".join(v))
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(_csv_text)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, na_rep="", lineterminator="\n")
    return buffer.getvalue()


def text_report(result: Evaluation, proposal_id: int | None = None) -> list[str]:
    """The evaluation as lines for the terminal."""
    lines = [f"pilot evaluation as of {result.as_of} ({len(result.summary)} pilot(s) in the portfolio)"]
    rows = result.summary if proposal_id is None else result.summary[result.summary.id == proposal_id]
    for r in rows.itertuples():
        left = (
            f"{r.months_left:.1f} months left" if r.months_left is not None and r.months_left == r.months_left else "-"
        )
        lines.append(
            f"\n#{r.id} {r.municipality_code} {r.target_group} | {r.status} | {r.start_date} to {r.end_date}"
            f"{' (extended)' if r.extended else ''} | {left} | completeness {_fmt(r.completeness, 'pct')}"
            f" | periods {r.periods_recorded} recorded, missing: {' '.join(r.periods_missing) or 'none'}"
        )
        if r.warning:
            lines.append(f"  WARNING: {r.warning}")
        lines.append(f"  evaluations on record: {r.evaluations or 'none'}")
        for dim, kind in (
            ("costs", "eur"),
            ("support", "num"),
            ("integration", "pct"),
            ("return", "pct"),
        ):
            column = HEADLINE[dim]
            median = result.median.get(column)
            trend = getattr(r, f"{dim}_trend") or "no trend (fewer than 2 periods)"
            light = getattr(r, f"{dim}_light")
            lines.append(
                f"  {dim:<12} {column:<26} {_fmt(getattr(r, column), kind):>12}  median {_fmt(median, kind):>12}"
                f"  {trend:<10} light {light} ({LIGHT_STYLE[light][2]})"
            )
        lines.append(
            f"  cost vs reference {_fmt(r.cost_vs_reference, 'x')} | occupancy {_fmt(r.occupancy_rate, 'pct')}"
            f" | survey support {_fmt(r.survey_support)} | standards met {_fmt(r.standards_met_share, 'pct')}"
        )
    if proposal_id is not None:
        table = result.periods[proposal_id]
        lines.append("\n  period    residents  costs/place/yr  signals/10  courses  departures (unknown)  standards")
        for p in table.itertuples():
            lines.append(
                f"  {p.period:<9} {_fmt(p.residents):>9}  {_fmt(p.cost_per_place_year, 'eur'):>14}  "
                f"{_fmt(p.signals_per_10_residents):>10}  {_fmt(p.course_share, 'pct'):>7}  "
                f"{_fmt(p.departures):>10} ({_fmt(p.departures_unknown)})  "
                f"{_fmt(p.standards_met)}/{_fmt(p.standards_checked)}"
            )
    trade = trade_offs(result)
    lines.append(
        "\ntrade-offs (cheapest first): id, cost/place/yr, vs reference, course share, signals/10, unknown outflow"
    )
    for r in trade.itertuples():
        lines.append(
            f"  #{r.id:<5} {_fmt(r.cost_per_place_year, 'eur'):>12} {_fmt(r.cost_vs_reference, 'x'):>8} "
            f"{_fmt(r.course_share, 'pct'):>8} {_fmt(r.signals_per_10_residents):>8} "
            f"{_fmt(r.unknown_departure_share, 'pct'):>8}"
        )
    lines += [f"note: {n}" for n in result.notes]
    return lines


def chart_svg(result: Evaluation, highlight: int | None = None) -> str:
    """The trade-offs chart: cost per occupied place per year against the course share, with the cost reference.

    Pilots missing either figure are not plotted and are named below the chart as missing.
    """
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.6))
    ax = fig.subplots()
    summary = result.summary
    ref = result.reference.eur_per_place_year
    ax.axvline(ref, color="#555555", linestyle="--", linewidth=1)
    ax.text(
        ref,
        0.98,
        f" regular place EUR {ref:,.0f} ({result.reference.year})",
        fontsize=8,
        rotation=90,
        ha="left",
        va="top",
        transform=ax.get_xaxis_transform(),
    )
    plotted = summary.dropna(subset=["cost_per_place_year", "course_share"]) if len(summary) else summary
    not_plotted = [] if summary.empty else sorted(set(summary.id) - set(plotted.id))
    for r in plotted.itertuples():
        colour = LIGHT_STYLE[r.costs_light][0]
        big = highlight is not None and r.id == highlight
        ax.scatter(
            r.cost_per_place_year,
            100 * r.course_share,
            s=140 if big else 70,
            color=colour,
            edgecolor="black",
            linewidth=1.6 if big else 0.6,
            zorder=3,
        )
        ax.annotate(
            f"#{r.id} {r.municipality_code}",
            (r.cost_per_place_year, 100 * r.course_share),
            textcoords="offset points",
            xytext=(6, 5),
            fontsize=8,
        )
    median = result.median.get("course_share")
    if median is not None:
        ax.axhline(100 * median, color="#999999", linestyle=":", linewidth=1)
        ax.text(0.01, 100 * median, "portfolio median", fontsize=7, va="bottom", transform=ax.get_yaxis_transform())
    ax.set_xlabel("cost per occupied place per year (EUR)")
    ax.set_ylabel("residents in language / civic-integration courses (%)")
    ax.set_title(f"Pilots: costs against integration (as of {result.as_of})", fontsize=10)
    ax.set_ylim(0, 105)
    xs = [ref, *plotted.cost_per_place_year] if len(plotted) else [ref]
    ax.set_xlim(0, max(xs) * 1.25)
    ax.grid(True, alpha=0.3)
    footer = "not plotted (a figure is missing): " + (", ".join(f"#{i}" for i in not_plotted) or "none")
    fig.text(0.01, 0.01, footer, fontsize=7)
    fig.subplots_adjust(bottom=0.17)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "opvangmatch"}):  # text as <text>, escaped
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _light_cell(name: str) -> str:
    colour, symbol, meaning = LIGHT_STYLE[name]
    return (
        f'<td class="light" style="background:{colour}" title="{meaning}">'
        f'<span aria-hidden="true">{symbol}</span> {meaning}</td>'
    )


def html_report(result: Evaluation, proposal_id: int | None = None) -> str:
    """A self-contained HTML page: the four dimensions, lights, trade-offs table and chart (no scripts)."""
    e = html.escape
    rows = result.summary if proposal_id is None else result.summary[result.summary.id == proposal_id]
    title = "Pilot portfolio evaluation" if proposal_id is None else f"Pilot #{proposal_id} evaluation"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;margin:16px;max-width:1100px}}"
        "table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px}"
        ".light{color:#000;font-weight:bold}.missing{color:#888;font-style:italic}.warn{background:#fff3cd;"
        "padding:6px;border:1px solid #E69F00}</style></head><body>",
        f"<h1>{e(title)}</h1><p>as of {result.as_of}</p>",
    ]
    for r in rows.itertuples():
        left = "-" if r.months_left is None or r.months_left != r.months_left else f"{r.months_left:.1f}"
        parts.append(
            f"<h2>#{r.id} {e(str(r.title))} ({e(r.municipality_code)}, {e(r.target_group)})</h2>"
            f"<p>status <b>{e(r.status)}</b>, {r.start_date} to {r.end_date}{' (extended)' if r.extended else ''}, "
            f"months left {left}, data completeness {e(_fmt(r.completeness, 'pct'))}, missing periods: "
            f"{e(' '.join(r.periods_missing) or 'none')}; evaluations on record: {e(r.evaluations or 'none')}</p>"
        )
        if r.warning:
            parts.append(f"<p class='warn'>{e(r.warning)}</p>")
        parts.append(
            "<table><tr><th>dimension</th><th>indicator</th><th>pilot</th><th>portfolio median</th>"
            "<th>trend</th><th>light</th></tr>"
        )
        for dim, kind in (("costs", "eur"), ("support", "num"), ("integration", "pct"), ("return", "pct")):
            column = HEADLINE[dim]
            value = _fmt(getattr(r, column), kind)
            cls = " class='missing'" if value == MISSING else ""
            parts.append(
                f"<tr><td>{dim}</td><td>{column}</td><td{cls}>{e(value)}</td>"
                f"<td>{e(_fmt(result.median.get(column), kind))}</td>"
                f"<td>{e(getattr(r, f'{dim}_trend') or 'no trend')}</td>{_light_cell(getattr(r, f'{dim}_light'))}</tr>"
            )
        parts.append("</table>")
    if proposal_id is not None:
        table = result.periods[proposal_id][PERIOD_COLUMNS]
        parts.append("<h3>Per period</h3><table><tr>" + "".join(f"<th>{e(c)}</th>" for c in table.columns) + "</tr>")
        for rec in records(table):
            parts.append(
                "<tr>"
                + "".join(
                    f"<td class='missing'>{MISSING}</td>" if v is None else f"<td>{e(_fmt(v))}</td>"
                    for v in rec.values()
                )
                + "</tr>"
            )
        parts.append("</table>")
    parts.append(
        "<h2>Trade-offs</h2><table><tr>" + "".join(f"<th>{e(c)}</th>" for c in trade_offs(result).columns) + "</tr>"
    )
    for rec in records(trade_offs(result)):
        cells = []
        for k, v in rec.items():
            if k.endswith("_light"):
                cells.append(_light_cell(v))
            elif v is None:
                cells.append(f"<td class='missing'>{MISSING}</td>")
            else:
                cells.append(f"<td>{e(_fmt(v))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    svg = chart_svg(result, highlight=proposal_id)
    parts.append(f"<div id='chart'>{svg[svg.index('<svg') :]}</div>")
    parts.append(
        "<h3>Legend</h3><p>"
        + " ".join(f"<span style='background:{c};padding:2px 6px'>{s} {m}</span>" for c, s, m in LIGHT_STYLE.values())
        + "</p>"
    )
    parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in result.notes) + "</ul></body></html>")
    return "".join(parts)
