"""Provisional pilot candidates built from loaded data, for the portfolio until scored candidates are passed in.

**Provisional, not the scoring engine.** One candidate per municipality and target group, scored by a simple,
stated function of real data:

* proximity (half the score): per category that matters to the group, the municipality's percentile among all
  municipalities in CBS *nabijheid* (mean road distance of residents to the nearest facility; closer = higher),
  averaged over the categories;
* task contribution (the other half): ``gap_closed / capacity``, with the municipality's gap from
  :func:`geo.task.placement_tasks`.

Capacity is the municipality's gap clipped to the COA small-scale band (:data:`MIN_PLACES` - :data:`MAX_PLACES`,
see DESIGN.md section 1). ``gap_closed = min(capacity, max(gap, 0))``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo.domain import DEFAULT_TASK_PERIOD
from geo.errors import NotFoundError
from geo.task import placement_tasks

MIN_PLACES = 50
"""COA property criteria prefer at least 50 places (coa.nl/nl/vastgoed)."""
MAX_PLACES = 150
"""COA calls up to about 150 places small-scale (coa.nl, 'toekomst voor kleinschalige opvang')."""

GROUP_CATEGORIES: dict[str, tuple[str, ...]] = {
    "families": ("primary_school", "childcare", "gp", "supermarket", "pharmacy"),
    "single_adults": ("train_station", "supermarket", "gp", "library"),
    "amv": ("primary_school", "gp", "library", "train_station"),
    "permit_holders": ("supermarket", "gp", "pharmacy", "library", "train_station"),
}
"""CBS nabijheid categories per target group (the categories CBS publishes per municipality)."""

LABEL = "provisional candidates: one per municipality and target group, scored from CBS nabijheid 2022 and the gap"


def municipal_candidates(
    engine, period: str = DEFAULT_TASK_PERIOD, *, groups: tuple[str, ...] | None = None, province: str | None = None
) -> pd.DataFrame:
    """Candidates with the columns :func:`geo.pilots.portfolio.choose_portfolio` needs, and ``proximity``, ``gap``."""
    groups = tuple(groups or GROUP_CATEGORIES)
    tasks = placement_tasks(engine, period)
    mun = tasks[tasks.level == "municipality"].set_index("region_code")
    with engine.connect() as conn:
        prox = pd.read_sql(
            sa.text("SELECT area_code, category, distance_km FROM area_proximity WHERE level = 'municipality'"), conn
        )
    if prox.empty:
        raise NotFoundError("no CBS nabijheid figures per municipality loaded (table area_proximity)")
    wide = prox.pivot_table(index="area_code", columns="category", values="distance_km", aggfunc="first")
    closeness = 1.0 - wide.rank(pct=True, method="average")  # 0 = farthest of all, close to 1 = nearest
    frames = []
    for group in groups:
        categories = [c for c in GROUP_CATEGORIES[group] if c in closeness]
        proximity = closeness[categories].mean(axis=1, skipna=True).reindex(mun.index)
        gap = mun.gap.to_numpy()
        capacity = np.clip(gap, MIN_PLACES, MAX_PLACES).astype(np.int64)
        closed = np.minimum(capacity, np.maximum(gap, 0))
        frames.append(
            pd.DataFrame(
                {
                    "candidate_id": [f"{code}:{group}" for code in mun.index],
                    "municipality_code": mun.index,
                    "province_code": mun.province_code.to_numpy(),
                    "name": mun.name.to_numpy(),
                    "target_group": group,
                    "capacity": capacity,
                    "proximity": proximity.to_numpy(),
                    "gap": gap,
                    "gap_closed": closed,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out[out.proximity.notna()]
    if province is not None:
        out = out[out.province_code == province]
    out["score"] = (0.5 * out.proximity + 0.5 * out.gap_closed / out.capacity).round(6)
    return out.sort_values("candidate_id").reset_index(drop=True)
