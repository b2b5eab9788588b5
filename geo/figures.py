"""Figures and tables for a report: written to ``out/`` (PNG, CSV) and shown inline under any matplotlib backend.

Notebooks call :func:`show_figure` instead of relying on the inline backend, so an executed notebook holds its
figures as ``image/png`` outputs even under ``MPLBACKEND=Agg`` (as in the tests), and every figure is also a file a
council report can use. Palettes are colour-blind safe: Okabe-Ito for categories, ``cividis``/``viridis`` for
sequential values, ``PuOr`` for diverging values with :func:`centred_norm` putting 0 in the middle.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.settings import Settings

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
"""Okabe & Ito's colour-blind-safe qualitative palette."""
DIVERGING = "PuOr_r"
SEQUENTIAL = "viridis"


def out_dir(directory: str | Path | None = None) -> Path:
    """Where exports go: ``directory``, else the settings' ``out_dir`` (``$OPVANGMATCH_OUT``, else ``out/`` in the
    project); created."""
    path = Path(directory) if directory else Settings.from_env().out_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file_name(name: str, suffix: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    if not stem:
        raise InputError(f"export name {name!r} has no usable characters")
    return stem + suffix


def show_figure(fig, name: str, directory: str | Path | None = None, *, dpi: int = 110) -> Path:
    """Save ``fig`` as ``<out>/<name>.png``, show it as a PNG image, close it; returns the path.

    A figure without a title (figure or every plotted axes) is refused: a report figure says what it shows."""
    import matplotlib.pyplot as plt

    titled = bool(fig._suptitle and fig._suptitle.get_text()) or all(
        ax.get_title() for ax in fig.axes if ax.has_data() and ax.get_label() != "<colorbar>"
    )
    if not titled:
        plt.close(fig)
        raise InputError(f"figure {name!r} has no title")
    path = out_dir(directory) / _file_name(name, ".png")
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    try:
        from IPython.display import Image, display
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks only
        return path
    display(Image(data=path.read_bytes(), format="png"))
    return path


def export_table(frame: pd.DataFrame, name: str, directory: str | Path | None = None, **to_csv) -> Path:
    """Write ``frame`` to ``<out>/<name>.csv`` (UTF-8, no index unless asked); returns the path."""
    path = out_dir(directory) / _file_name(name, ".csv")
    frame.to_csv(path, index=to_csv.pop("index", False), **to_csv)
    return path


def centred_norm(values, quantile: float = 0.98):
    """A diverging norm with 0 in the middle and limits at the ``quantile`` of the absolute values (outliers shown
    at the ends of the scale, so one extreme does not paint everything else one colour)."""
    from matplotlib.colors import TwoSlopeNorm

    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    limit = float(np.quantile(np.abs(finite), quantile)) if len(finite) else 1.0
    limit = limit if limit > 0 else 1.0
    return TwoSlopeNorm(vmin=-limit, vcenter=0.0, vmax=limit)
