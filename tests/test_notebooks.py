"""The analyst notebooks: committed without outputs, one parameter cell each, and each runs top to bottom against the
demo database, draws every figure as a PNG under the tests' Agg backend (or, for the package's own trade-offs chart,
as SVG), exports its figures and tables, and prints findings that match what the package computes."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from geo.settings import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
EXPECTED = ["01_candidates", "02_weight_sensitivity", "03_task_gaps", "04_pilot_portfolio", "05_pilot_evaluation"]
PARAMETERS = {
    "01_candidates": {"MUNICIPALITY", "PROFILE", "PERIOD", "TOP_K"},
    "02_weight_sensitivity": {"MUNICIPALITY", "PROFILE", "PERIOD", "SEED", "DRAWS", "TOP_K"},
    "03_task_gaps": {"PERIOD", "MUNICIPALITY", "TOP_K"},
    "04_pilot_portfolio": {
        "PROFILE",
        "SECOND_PROFILE",
        "K",
        "MAX_PER_PROVINCE_A",
        "MAX_PER_PROVINCE_B",
        "PERIOD",
        "MUNICIPALITY",
    },
    "05_pilot_evaluation": {"AS_OF", "SEED"},
}
FIGURE = re.compile(r"plt\.subplots\(|\.plot\(|plt\.figure\(")
SVG_FIGURE = re.compile(r"display\(SVG\(")  # a chart the package draws as SVG (geo.monitoring.report.chart_svg)


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _parameter_cell(nb) -> int:
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    return tagged[0]


def parameters(nb) -> dict:
    """The values of a notebook's parameter cell."""
    values: dict = {}
    exec(nb.cells[_parameter_cell(nb)].source, {}, values)  # our own committed notebook
    return values


def test_the_five_notebooks_are_there():
    assert [p.stem for p in _notebooks()] == EXPECTED


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs_and_one_parameter_cell(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run '.venv/bin/nbstripout notebooks/*.ipynb'"
    first, last = nb.cells[0], nb.cells[-2]
    assert first.cell_type == "markdown" and "**Question.**" in first.source
    assert last.cell_type == "markdown" and "What we found on the shipped data" in last.source
    assert "display(Markdown(" in nb.cells[-1].source, "the findings are computed in the last cell"
    assert "Limits of this data" in nb.cells[-1].source, "the findings list the limits of the data"
    # one parameter cell, the first code cell, holding every parameter; no other cell assigns one or repeats a value
    index = _parameter_cell(nb)
    assert index == 1
    values = parameters(nb)
    assert set(values) == PARAMETERS[path.stem]
    for i, cell in enumerate(nb.cells):
        if i == index:
            continue
        for name, value in values.items():
            assert not re.search(rf"^\s*{name}\s*=", cell.source, re.M), f"{path.name} cell {i} sets {name}"
            if isinstance(value, str) and re.fullmatch(r"GM\d{4}", value):
                assert value not in cell.source, f"{path.name} cell {i} writes {value} instead of using {name}"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and FIGURE.search(cell.source):
            assert "show_figure(" in cell.source, f"{path.name} cell {i} draws a figure without exporting it"


def _point_at(settings, monkeypatch, out: Path) -> None:
    """Environment of the kernel: the demo test database, the Agg backend, exports into ``out``."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPVANGMATCH_OUT", str(out))
    if settings.database_url:
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.setenv("OPVANGMATCH_PGDATA", str(settings.pgdata))
        monkeypatch.setenv("OPVANGMATCH_PGPORT", str(settings.pg_port))
        monkeypatch.setenv("OPVANGMATCH_DATABASE", settings.database)


def _execute(path: Path, extra: str = ""):
    """Run a notebook (with ``extra`` appended to its parameter cell); returns the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    if extra:
        cell = nb.cells[_parameter_cell(nb)]
        cell.source += "\n" + extra
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def _findings(nb) -> str:
    outputs = nb.cells[-1].outputs
    return "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)


def _images(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def executed(demo_settings, tmp_path_factory):
    """Every notebook executed once against the demo database, with the seconds it took and its export folder."""
    out = tmp_path_factory.mktemp("notebook_exports")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _point_at(demo_settings, monkeypatch, out)
        runs = {}
        for path in _notebooks():
            started = time.perf_counter()
            # any cell error raises CellExecutionError, naming the notebook's cell and the traceback
            nb = _execute(path)
            runs[path.stem] = (nb, time.perf_counter() - started)
    print("notebook seconds:", {k: round(s, 1) for k, (_nb, s) in runs.items()})
    return runs, out


@pytest.mark.notebooks
def test_every_notebook_runs_draws_its_figures_and_exports(executed, unchanged):
    runs, out = executed
    for stem, (nb, _seconds) in runs.items():
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{stem}: {errors[0]['ename']}: {errors[0]['evalue']}"
        found = _findings(nb)
        assert found.count("\n- ") >= 5, f"{stem}: the findings cell printed no findings"
        assert "**Limits of this data**" in found and "age of each layer" in found
        setup = next(c for c in nb.cells if c.cell_type == "code" and "open_database(" in c.source)
        assert "demo data loaded now: False" in setup.outputs[0]["text"], "the kernel used another database"
        figure_cells = [c for c in nb.cells if c.cell_type == "code" and FIGURE.search(c.source)]
        svg_cells = [c for c in nb.cells if c.cell_type == "code" and SVG_FIGURE.search(c.source)]
        assert figure_cells or svg_cells, f"{stem}: no figure at all"
        for cell in svg_cells:
            svgs = [o["data"]["image/svg+xml"] for o in cell.outputs if "image/svg+xml" in o.get("data", {})]
            assert svgs and all("<svg" in s and "</svg>" in s for s in svgs), f"{stem}: an SVG cell drew no chart"
        for cell in figure_cells:
            assert _images(cell) >= 1, (
                f"{stem}: a figure cell drew no image under the Agg backend:\n{cell.source[:200]}"
            )
            for name in re.findall(r"exported: (\S+\.png)", "".join(o.get("text", "") for o in cell.outputs)):
                assert Path(name).parent == out and Path(name).stat().st_size > 10_000
    exported = {p.suffix for p in out.iterdir()}
    assert exported == {".png", ".csv"}
    assert len(list(out.glob("*.png"))) >= 10


@pytest.mark.notebooks
def test_findings_match_the_package(executed, demo_engine, demo_settings):
    """Each findings cell states what the package computes for the notebook's own parameters."""
    from geo.analysis import (
        compare_rankings,
        criteria_influence,
        data_limits,
        measure_candidates,
        one_at_a_time,
        profile_comparison,
        random_weights,
        rank_stability,
        regrade,
        sensitivity_summary,
    )
    from geo.monitoring.evaluate import evaluate
    from geo.monitoring.indicators import CostReference
    from geo.monitoring.records import Actor
    from geo.score import TARGET_GROUPS, ScoringData, profile_for_group, score_candidates
    from geo.task import placement_tasks

    runs, _out = executed

    nb = runs["01_candidates"][0]
    p = parameters(nb)
    data = ScoringData.load(demo_engine, period=p["PERIOD"])
    results = {
        g: score_candidates(demo_engine, profile_for_group(g), data, municipality=p["MUNICIPALITY"])
        for g in TARGET_GROUPS
    }
    comparison = profile_comparison(results)
    best = comparison["best_on_shared"]
    found = _findings(nb)
    assert (
        f"On the **{len(comparison['shared']):,}** buildings all four profiles accept, **{best.index[0]}** scores "
        f"best most often (**{best.iloc[0]:,}** buildings" in found
    )
    for line in data_limits(data, results[p["PROFILE"]].frame, results[p["PROFILE"]].profile):
        assert line in found

    nb = runs["02_weight_sensitivity"][0]
    p = parameters(nb)
    profile = profile_for_group(p["PROFILE"])
    measured = measure_candidates(demo_engine, profile, data, municipality=p["MUNICIPALITY"])
    found = _findings(nb)
    influence = criteria_influence(measured.base, profile)
    without = influence.index[influence.without_influence].tolist()
    assert without and "Criteria without influence on the order" in found
    for name in without:
        assert f"**{name}** ({influence.verdict[name]})" in found
    for name in influence.index[~influence.without_influence]:
        assert f"**{name}**" not in found.split("Criteria without influence")[1].split("\n")[0]
    stability = rank_stability(measured, draws=p["DRAWS"], seed=p["SEED"], top=p["TOP_K"])
    steady = stability[stability.in_top_share >= 0.9]
    assert f"Joint draws: **{len(steady)}** building(s) stay in the top {p['TOP_K']}" in found
    assert f"{len(stability):,} buildings reach the top {p['TOP_K']} at least once" in found
    # score model v1 against v2: the same sweeps on both models, computed here from the package
    measured_v1 = measure_candidates(demo_engine, profile, data, municipality=p["MUNICIPALITY"], model="v1")
    between = compare_rankings(regrade(measured_v1, measured_v1.profile), regrade(measured, profile), top=50)
    summary = {
        model: sensitivity_summary(
            one_at_a_time(m, top=p["TOP_K"]), random_weights(m, draws=p["DRAWS"], seed=p["SEED"], top=p["TOP_K"])
        )
        for model, m in (("v1", measured_v1), ("v2", measured))
    }
    tau, kept = "mean tau (random weights)", "mean of the top list kept (random weights)"
    assert (
        f"v1's ranking keeps mean tau **{summary['v1'][tau]:.3f}** and on average **{summary['v1'][kept]:.2f}** "
        f"of its top {p['TOP_K']}; v2's keeps **{summary['v2'][tau]:.3f}** and **{summary['v2'][kept]:.2f}**"
    ) in found
    assert summary["v1"][tau] > summary["v2"][tau]  # v2's ranking moves more with the weights (README)
    assert f"tau **{between['tau']:.2f}** over {between['common']:,} candidates, {between['top_kept']} of v1's" in found

    nb = runs["03_task_gaps"][0]
    p = parameters(nb)
    tasks = placement_tasks(demo_engine, p["PERIOD"])
    found = _findings(nb)
    national = next(r for r in tasks.attrs["reconciliation"] if r["region_code"] == "NL")
    assert national["coverage_note"] in found
    assert "lower bound" not in found.replace("**not** a lower bound", "")
    assert f"**{int(tasks[tasks.level == 'province'].realised.sum()):,}**" in found

    nb = runs["04_pilot_portfolio"][0]
    found = _findings(nb)
    assert national["coverage_note"] in found
    assert found.count("**Limits of this data**") == 1

    nb = runs["05_pilot_evaluation"][0]
    p = parameters(nb)
    reference = CostReference.from_settings(demo_settings)
    with demo_engine.connect() as conn:
        who, as_of = Actor(role="admin", key="tests"), date.fromisoformat(p["AS_OF"])
        real = evaluate(conn, who, as_of=as_of, reference=reference)
        stored = conn.execute(sa.text("SELECT count(*) FROM monitoring_value")).scalar_one()
    found = _findings(nb)
    assert f"the database holds **{len(real.summary)}** pilot(s) and **{stored}** monitoring value(s)" in found
    assert f"against the reference EUR {reference.eur_per_place_year:,.0f} ({reference.year} prices" in found
    for note in real.notes[:3]:  # the cost reference, missing never zero, indicative lights
        assert note in found.split("**Limits of this data**")[1]


@pytest.mark.notebooks
def test_a_municipality_without_buildings_gets_a_clear_message(demo_settings, monkeypatch, tmp_path, unchanged):
    """Dordrecht (GM0505) has no BAG panden in the demo: notebook 01 stops with the reason (it used to end in an
    IndexError), notebook 04 says so and still builds its scenarios."""
    _point_at(demo_settings, monkeypatch, tmp_path)
    with pytest.raises(CellExecutionError) as caught:
        _execute(NOTEBOOKS / "01_candidates.ipynb", 'MUNICIPALITY = "GM0505"')
    message = str(caught.value)
    assert "EmptyScopeError: Dordrecht (GM0505) has no buildings loaded" in message
    assert "IndexError" not in message
    nb = _execute(NOTEBOOKS / "04_pilot_portfolio.ipynb", 'MUNICIPALITY = "GM0505"')
    shown = "".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells for o in c.get("outputs", []))
    assert "**No scored buildings:** Dordrecht (GM0505) has no buildings loaded" in shown
    assert "Dordrecht has no scored buildings, so no portfolio of real buildings" in _findings(nb)
