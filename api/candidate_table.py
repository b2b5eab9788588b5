"""Scored candidate buildings as pre-serialised GeoJSON features, filtered and paged in memory.

Scoring every candidate once per profile (and data snapshot) and serialising each feature once makes
``GET /candidates?limit=500`` a matter of numpy masks and a string join.
"""

from __future__ import annotations

import math

import numpy as np
import orjson
import pandas as pd

from api.geometry import feature_collection
from geo.domain import LEVELS, rd_to_wgs84
from geo.errors import NotFoundError
from geo.score import POINT_NOTE, explain, summary_lines


def _clean(value, digits: int = 4):
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else round(value, digits)
    return value


class CandidateTable:
    """One profile's scored candidates: arrays to filter on and one JSON feature per candidate."""

    def __init__(self, scores, generation: int):
        frame: pd.DataFrame = scores.frame
        # The engine's ranking (score bands, then the profile's secondary criteria, then id); excluded ones last.
        rank = frame["rank"].to_numpy()
        rank_key = np.where(rank > 0, rank, np.iinfo(np.int64).max)
        order = np.lexsort((frame["id"].to_numpy(dtype=str), -frame["total"].to_numpy(), rank_key))
        frame = frame.iloc[order].reset_index(drop=True)
        self.scores = scores
        self.generation = generation
        self.profile = scores.profile
        self.frame = frame
        self.position = {cid: i for i, cid in enumerate(scores.frame["id"])}  # row in scores.graded
        self.ids = frame["id"].to_numpy(dtype=object)
        self.lon, self.lat = rd_to_wgs84().transform(frame["x"].to_numpy(), frame["y"].to_numpy())
        self.municipality = frame["municipality_code"].to_numpy(dtype=object)
        self.province = frame["province_code"].to_numpy(dtype=object)
        self.total = frame["total"].to_numpy(dtype=float)
        self.area_codes = {level: frame[f"{level}_code"].to_numpy(dtype=object) for level in ("buurt", "wijk")}
        self.use_unknown = (frame["use_state"] == "unknown").to_numpy()
        self.monument_unknown = np.array(["monument_status_unknown" in f for f in frame["flags"]], dtype=bool)
        # orjson writes NaN as null (a missing name in a pandas string column is NaN, not None).
        self.features = [orjson.dumps(f, option=orjson.OPT_SERIALIZE_NUMPY) for f in self._features()]

    def _features(self):
        profile = self.profile
        vintage = self.scores.data.vintage["id"]
        categories = list(profile.categories)
        for i, row in enumerate(self.frame.to_dict("records")):
            properties = {
                "id": row["id"],
                "rank": int(row["rank"]),
                "total": _clean(row["total"]),
                "excluded": bool(row["excluded"]),
                "flags": list(row["flags"]),
                "capacity": int(row["capacity"]),
                "capacity_method": row["capacity_method"],
                "capacity_estimate": int(row["capacity_estimate"]),
                "floor_area_m2": _clean(row["floor_area"], 1),
                "status": row["status"],
                "band": int(row["band"]),
                "use": {
                    "state": row["use_state"],
                    "mix": row["use_mix"] if isinstance(row["use_mix"], str) else None,
                    "accepted_share": _clean(row["accepted_use_share"]),
                    "units": int(row["units"]),
                    "usable_floor_area_m2": _clean(row["usable_floor_area"], 1),
                },
                "availability_signal": bool(row["availability_signal"]),
                "proximity_weight": {
                    "measured_share": _clean(row["measured_share"]),
                    "upper_bound_share": _clean(row["upper_bound_share"]),
                    "estimated_share": _clean(row["estimated_share"]),
                },
                "municipality_code": row["municipality_code"],
                "province_code": row["province_code"],
                "components": {
                    name: {"value": _clean(row[name]), "weight": weight} for name, weight in profile.weights.items()
                },
                "shares": {
                    level: {
                        "code": row[f"{level}_code"],
                        "share": _clean(row[f"{level}_share"], 6),
                        "fit": _clean(row[f"{level}_fit"]),
                    }
                    for level in LEVELS
                },
                "proximity": {
                    c: {
                        "distance_m": _clean(row[f"{c}_distance"], 1),
                        "upper_bound": bool(row[f"{c}_bound"]),
                        "estimate_m": _clean(row[f"{c}_estimate"], 0),
                        "nearest": row[f"{c}_nearest"],
                        "score": _clean(row[f"{c}_score"]),
                        "distance_kind": _kind(row, c),
                    }
                    for c in categories
                },
                "task": {
                    "municipality_gap": _clean(row["municipality_gap"], 0),
                    "closes_places": _clean(row["closes_places"], 0),
                    "credit_relative_to_places": _clean(row["task_reference"], 0),
                },
                "profile": {"name": profile.name, "version": profile.version, "target_group": profile.target_group},
                "data_vintage": vintage,
            }
            yield {
                "type": "Feature",
                "id": row["id"],
                "geometry": {"type": "Point", "coordinates": [round(self.lon[i], 7), round(self.lat[i], 7)]},
                "properties": properties,
            }

    def select(
        self,
        *,
        municipality: str | None = None,
        province: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        min_score: float | None = None,
        spread_per: str | None = None,
        spread_most: int = 1,
    ) -> np.ndarray:
        """Row numbers (best first) matching every given filter; with ``spread_per`` (``buurt`` or ``wijk``) at most
        ``spread_most`` eligible candidates per area (candidates without that area's code are kept)."""
        mask = np.ones(len(self.ids), dtype=bool)
        if municipality:
            mask &= self.municipality == municipality
        if province:
            mask &= self.province == province
        if bbox:
            x0, y0, x1, y1 = bbox
            mask &= (self.lon >= x0) & (self.lon <= x1) & (self.lat >= y0) & (self.lat <= y1)
        if min_score is not None:
            mask &= self.total >= min_score
        rows = np.flatnonzero(mask)
        if spread_per is not None:
            codes = pd.Series(self.area_codes[spread_per][rows])
            key = codes.where(codes.notna(), pd.Series(self.ids[rows]))
            rows = rows[(key.groupby(key, sort=False).cumcount() < spread_most).to_numpy()]
        return rows

    def collection(self, rows: np.ndarray, offset: int, limit: int, extra: dict) -> bytes:
        """A FeatureCollection of ``rows[offset:offset+limit]`` as JSON (UTF-8), with ``extra`` members."""
        page = rows[offset : offset + limit]
        return feature_collection([self.features[i] for i in page], **extra)

    def row_of(self, candidate_id: str) -> int:
        where = np.flatnonzero(self.ids == candidate_id)
        if not len(where):
            raise NotFoundError(f"candidate {candidate_id} is not a scored candidate building")
        return int(where[0])

    def explanation(self, candidate_id: str) -> dict:
        """The full explanation of one candidate (the same as ``POST /score`` gives), with summary lines."""
        if candidate_id not in self.position:
            raise NotFoundError(f"candidate {candidate_id} is not a scored candidate building")
        i = self.position[candidate_id]
        result = explain(self.scores.graded, i, self.scores.data)
        result["notes"].append(POINT_NOTE)
        result["summary"] = summary_lines(result)
        return result


def _kind(row: dict, category: str) -> str | None:
    """How a candidate's distance to ``category`` was measured: "network" or "straight" (None: not measured)."""
    distance = row[f"{category}_distance"]
    if distance is None or distance != distance:  # None or NaN
        return None
    return row.get(f"{category}_kind", "straight")
