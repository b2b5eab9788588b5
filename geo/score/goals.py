"""The figures issue 14 judges a ranking by (README "Score model v2"): measured on a scored frame, v1 or v2.

Examples
--------
>>> figures = ranking_goals(score_candidates(engine, load_profile("families"), municipality="GM0221"))  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def ranking_goals(result, *, top: int = 50, places: int = 60) -> dict:
    """Top-``top`` spread and distinct bands, the rank of the best candidate with >= ``places`` places, the share of
    eligible candidates per capacity method and the mean share of proximity weight resting on estimates.

    Bands: the run's ``band`` column where the model has one (v2), else distinct totals at two decimals (v1)."""
    frame, profile = result.frame, result.profile
    ranked = frame[frame["rank"] > 0].sort_values("rank")
    head = ranked.head(top)
    spread = float(head["total"].max() - head["total"].min()) if len(head) else float("nan")
    bands = int(head["band"].nunique()) if "band" in head else int(head["total"].round(2).nunique())
    big = ranked[ranked["capacity"] >= places]
    methods = ranked["capacity_method"].value_counts(normalize=True).sort_index()
    estimated = np.zeros(len(ranked))
    total = np.zeros(len(ranked))
    for category, rule in profile.categories.items():
        if rule.weight <= 0:
            continue
        distance = ranked[f"{category}_distance"].to_numpy(dtype=float)
        estimate = ranked[f"{category}_estimate"].to_numpy(dtype=float)
        available = np.isfinite(distance) | np.isfinite(estimate)
        total += np.where(available, rule.weight, 0.0)
        estimated += np.where(~np.isfinite(distance) & np.isfinite(estimate), rule.weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, estimated / np.where(total > 0, total, 1), np.nan)
    return {
        "candidates": len(frame),
        "eligible": len(ranked),
        "top": len(head),
        "top_spread": round(spread, 4),
        "top_distinct_bands": bands,
        "best_rank_with_places": int(big["rank"].iloc[0]) if len(big) else None,
        "places": places,
        "capacity_methods": {str(k): round(float(v), 4) for k, v in methods.items()},
        "estimate_weight_share": round(float(np.nanmean(share)), 4) if len(ranked) else None,
        # v2 weighs an estimate less (profile proximity.estimate_weight): the share of the weight actually used
        "estimate_weight_share_effective": round(float(np.nanmean(ranked["estimated_share"])), 4)
        if "estimated_share" in ranked and len(ranked)
        else (round(float(np.nanmean(share)), 4) if len(ranked) else None),
    }


def goals_table(figures: dict[str, dict]) -> pd.DataFrame:
    """Several :func:`ranking_goals` results side by side (e.g. ``{"v1": ..., "v2": ...}``)."""
    rows = {}
    for name, f in figures.items():
        rows[name] = {
            "eligible": f"{f['eligible']:,} of {f['candidates']:,}",
            f"top-{f['top']} spread": f"{f['top_spread']:.4f}",
            f"distinct bands in top {f['top']}": f["top_distinct_bands"],
            f"rank of best with >= {f['places']} places": f["best_rank_with_places"],
            "capacity methods": ", ".join(f"{k} {v:.0%}" for k, v in f["capacity_methods"].items()),
            "proximity weight on estimates (nominal / as weighed)": None
            if f["estimate_weight_share"] is None
            else f"{f['estimate_weight_share']:.0%} / {f['estimate_weight_share_effective']:.0%}",
        }
    return pd.DataFrame(rows)
