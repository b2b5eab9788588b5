"""The analyst notebooks: committed without outputs, and each runs top to bottom against the demo database."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from geo.settings import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
EXPECTED = ["01_candidates", "02_weight_sensitivity", "03_task_gaps", "04_pilot_portfolio", "05_pilot_evaluation"]
BUDGET_SECONDS = 150  # five notebooks (05 added about 18 s here)


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_five_notebooks_are_there():
    assert [p.stem for p in _notebooks()] == EXPECTED


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run '.venv/bin/nbstripout notebooks/*.ipynb'"
    first, last = nb.cells[0], nb.cells[-2]
    assert first.cell_type == "markdown" and "**Question.**" in first.source
    assert last.cell_type == "markdown" and "What we found on the shipped data" in last.source
    assert "display(Markdown(" in nb.cells[-1].source, "the findings are computed in the last cell"


def _point_at(settings, monkeypatch) -> None:
    """Environment of the kernel: the demo test database, the Agg backend."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if settings.database_url:
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.setenv("OPVANGMATCH_PGDATA", str(settings.pgdata))
        monkeypatch.setenv("OPVANGMATCH_PGPORT", str(settings.pg_port))
        monkeypatch.setenv("OPVANGMATCH_DATABASE", settings.database)


def _findings(nb) -> str:
    outputs = nb.cells[-1].outputs
    return "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)


@pytest.mark.notebooks
def test_every_notebook_runs_against_the_demo_database(demo_settings, monkeypatch, unchanged):
    _point_at(demo_settings, monkeypatch)
    seconds = {}
    for path in _notebooks():
        nb = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        # any cell error raises CellExecutionError, naming the notebook's cell and the traceback
        NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        ).execute()
        seconds[path.stem] = time.perf_counter() - started
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        found = _findings(nb)
        assert found.count("\n- ") >= 3, f"{path.name}: the findings cell printed no findings"
        assert "demo data loaded now: False" in nb.cells[1].outputs[0]["text"], "the kernel used another database"
    print("notebook seconds:", {k: round(v, 1) for k, v in seconds.items()}, "total", round(sum(seconds.values()), 1))
    assert sum(seconds.values()) < BUDGET_SECONDS, f"notebooks took {seconds}"
