"""One location's score as a readable, reproducible explanation (a plain dict, JSON-ready)."""

from __future__ import annotations

import math

import numpy as np

from geo.domain import LEVELS
from geo.network.rules import SNAP_FLAG_M, SNAP_MAX_M
from geo.score.data import ScoringData
from geo.score.grade import POINT_NOTE, Graded
from geo.score.measure import RADII
from geo.score.use import USE_UNKNOWN_HINT

DISTANCE_NOTE = "distances are straight lines in EPSG:28992 metres (not network distances)"
NETWORK_NOTE = (
    "distances of kind 'network' are walking distances along the OSM street network (each point's straight "
    "distance to the network included, snap_m); kind 'straight' are straight lines in EPSG:28992 metres"
)


def _num(value, digits: int = 4):
    if value is None:
        return None
    if isinstance(value, np.integer):
        return int(value)
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else round(value, digits)


def explain(graded: Graded, i: int, data: ScoringData) -> dict:
    """Location ``i`` of ``graded`` as a plain, JSON-ready dict: every component with the raw measures behind it
    (per level the area, population, existing places, share and allowed share; per category the nearest service
    with name and distance or the CBS estimate used; the gap the capacity closes), the total, the flags, the
    profile version and the data vintage. The same dict serves the CLI, the API, the maps and the notebooks."""
    row = graded.row(i)
    profile = graded.profile
    f = data.reference_share
    levels = {}
    for level in LEVELS:
        rule = profile.levels[level]
        layer = data.areas[level]
        code = row[f"{level}_code"]
        code = code if isinstance(code, str) else None  # pandas may hold a missing code as NaN
        name = None
        if code is not None and len(layer.codes):
            name = layer.names[int(np.searchsorted(layer.codes, code))]
        levels[level] = {
            "code": code,
            "name": name,
            "population": _num(row[f"{level}_population"], 0),
            "existing_places": _num(row[f"{level}_existing"], 0),
            "share": _num(row[f"{level}_share"], 6),
            "good_share": _num(rule.good * f, 6),
            "too_much_share": _num(rule.too_much * f, 6),
            "fit": _num(row[f"{level}_fit"]),
        }
    proximity = {}
    for category, rule in profile.categories.items():
        distance, estimate = row[f"{category}_distance"], row[f"{category}_estimate"]
        status = "measured" if np.isfinite(distance) else ("estimated" if np.isfinite(estimate) else "missing")
        if status == "measured" and row[f"{category}_bound"]:
            status = "upper_bound"
        proximity[category] = {
            "status": status,
            "nearest": row[f"{category}_nearest"] if status in ("measured", "upper_bound") else None,
            "nearest_id": int(row[f"{category}_nearest_id"]) if status in ("measured", "upper_bound") else None,
            "distance_m": _num(distance, 1),
            "estimate_m": _num(estimate, 0),
            **{f"within_{r}m": int(row[f"{category}_n{r}"]) for r in RADII},
            "good_m": rule.good,
            "too_far_m": rule.too_far,
            "weight": rule.weight,
            "score": _num(row[f"{category}_score"]),
        }
        proximity[category].update(_kind(row, category, rule, status))
        if status == "estimated":
            proximity[category]["estimate_source"] = (
                f"CBS mean road distance for {row['municipality_code']} (nabijheid), used because the loaded layer "
                "is not declared complete here and its nearest point (an upper bound) is not nearer"
            )
        elif status == "upper_bound":
            proximity[category]["bound_note"] = (
                "the layer is not declared complete here: the true nearest may be nearer than this point, so the "
                "distance is an upper bound and the score a lower bound"
            )
    weights = profile.weights
    use_state = row.get("use_state", "unknown")
    use = {
        "state": use_state,
        "accepted_share": _num(row.get("accepted_use_share")),
        "accepted_uses": list(profile.use.accepted),
        "min_share": profile.use.min_share,
    }
    if use_state == "unknown":
        use["note"] = USE_UNKNOWN_HINT
    return {
        "total": _num(row["total"]),
        "excluded": bool(row["excluded"]),
        "flags": list(row["flags"]),
        "capacity": int(row["capacity"]),
        "components": {name: {"value": _num(row[name]), "weight": weights[name]} for name in weights},
        "proportional_fit": {
            "levels": levels,
            "reference_share": _num(f, 6),
            "reference": data.reference_note,
            "decided_by": _deciding_level(levels),
        },
        "proximity": proximity,
        "proximity_weight": {
            "measured_share": _num(row.get("measured_share")),
            "upper_bound_share": _num(row.get("upper_bound_share")),
            "estimated_share": _num(row.get("estimated_share")),
            "estimate_weight": profile.estimate_weight,
            "rule": "a CBS estimate counts with its category weight times estimate_weight; the shares are of the "
            "weight so used (measured includes upper bounds, which are distances to loaded points)",
        },
        "size": {
            "size_fit": _num(row.get("size_fit")),
            "preferred_places": [profile.size.low, profile.size.high],
            "small_scale_places": [profile.min_places, profile.max_places],
        },
        "use": use,
        "band": {
            "band": int(row["band"]) if row.get("band") is not None else None,
            "band_width": profile.ranking.band_width,
            "secondary": list(profile.ranking.secondary),
        },
        "availability_signal": bool(row.get("availability_signal", False)),
        "task": {
            "municipality": row["municipality_code"],
            "province": row["province_code"],
            "municipality_required": _num(row["municipality_required"], 0),
            "municipality_basis": row["municipality_task_basis"],
            "municipality_gap": _num(row["municipality_gap"], 0),
            "province_required": _num(row["province_required"], 0),
            "province_gap": _num(row["province_gap"], 0),
            "closes_places": _num(row["closes_places"], 0),
            "credit_relative_to_places": _num(row.get("task_reference"), 0),
        },
        "profile": {"name": profile.name, "version": profile.version, "target_group": profile.target_group},
        "data_vintage": data.vintage["id"],
        "network": {
            "snap_m": _num(row.get("network_snap_m", np.nan), 1),
            "outside": "outside_network" in row["flags"] if profile.network_categories else None,
            "flag_snap_above_m": SNAP_FLAG_M,
            "straight_line_beyond_m": SNAP_MAX_M,
        },
        "notes": [NETWORK_NOTE if profile.network_categories else DISTANCE_NOTE],
    }


def _kind(row: dict, category: str, rule, status: str) -> dict:
    """Which kind of distance was measured for ``category``, and why a network category fell back."""
    kind = row.get(f"{category}_kind", "straight")
    measured = status in ("measured", "upper_bound")
    out = {"distance_kind": kind if measured else None, "profile_distance": rule.distance}
    if kind == "network":
        out["service_snap_m"] = _num(row[f"{category}_service_snap_m"], 1)
    elif rule.distance == "network" and measured:
        if "network_snap_m" not in row or not np.isfinite(row["network_snap_m"]):
            out["kind_reason"] = "the location lies outside the loaded walking network (or none is loaded)"
        else:
            out["kind_reason"] = (
                "no service of this category is reachable along the network, or one off the network is nearer "
                "by straight line"
            )
    return out


def _deciding_level(levels: dict) -> str | None:
    fits = {level: v["fit"] for level, v in levels.items() if v["fit"] is not None}
    return min(fits, key=lambda level: (fits[level], LEVELS.index(level))) if fits else None


def _walked(item: dict) -> str:
    return " walking" if item.get("distance_kind") == "network" else " straight line"


def summary_lines(explanation: dict) -> list[str]:
    """Short human lines, e.g. for a map popup: 'GP 640 m', 'buurt share 1.8 % of 2.5 % allowed'."""
    lines = [f"score {explanation['total']:.2f}" + (" (excluded)" if explanation["excluded"] else "")]
    for level, v in explanation["proportional_fit"]["levels"].items():
        if v["share"] is not None:
            lines.append(f"{level} share {v['share']:.2%} of {v['good_share']:.2%} allowed")
    for category, v in explanation["proximity"].items():
        if v["weight"] and v["status"] == "measured":
            lines.append(f"{category} {v['distance_m']:,.0f} m{_walked(v)}")
        elif v["weight"] and v["status"] == "upper_bound":
            lines.append(f"{category} <= {v['distance_m']:,.0f} m{_walked(v)} (upper bound)")
        elif v["weight"] and v["status"] == "estimated":
            lines.append(f"{category} ~{v['estimate_m']:,.0f} m (CBS estimate)")
    weight = explanation.get("proximity_weight", {})
    if weight.get("measured_share") is not None:
        lines.append(f"proximity weight on measurements {weight['measured_share']:.0%}")
    use = explanation.get("use", {})
    if use.get("state") == "unknown":
        lines.append("use unknown (BAG verblijfsobjecten not loaded)")
    elif use.get("state"):
        lines.append(f"use {use['state']} ({(use.get('accepted_share') or 0):.0%} of floor area accepted)")
    band = explanation.get("band", {})
    if band.get("band"):
        lines.append(f"band {band['band']} (width {band['band_width']})")
    task = explanation["task"]
    if task["closes_places"] is not None:
        lines.append(f"closes {task['closes_places']:.0f} of {max(task['municipality_gap'] or 0, 0):,.0f} places gap")
    return lines


__all__ = ["POINT_NOTE", "explain", "summary_lines"]
