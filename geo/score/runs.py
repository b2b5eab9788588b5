"""Scoring runs over candidate buildings: score, rank, store (COPY), read back."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.db.copy import array_literal, copy_frame
from geo.domain import LEVELS
from geo.score.candidates import IN_USE, capacity_flags, estimate_capacity, read_candidates
from geo.score.data import ScoringData
from geo.score.grade import Graded, grade, rank
from geo.score.measure import RADII
from geo.score.monuments import monument_flags
from geo.score.network import measure_with_network
from geo.score.profile import Profile


@dataclass
class CandidateScores:
    """A scored set of candidates: ``frame`` has one row per candidate, ranked."""

    frame: pd.DataFrame
    graded: Graded
    data: ScoringData
    profile: Profile
    scope: dict
    run_id: int | None = None
    seconds: float = 0.0


def score_candidates(
    engine: Engine,
    profile: Profile,
    data: ScoringData | None = None,
    *,
    municipality: str | None = None,
    province: str | None = None,
    store: bool = False,
) -> CandidateScores:
    """Score every candidate building in the scope with ``profile``; optionally store the run."""
    started = time.perf_counter()
    data = data or ScoringData.load(engine)
    candidates = estimate_capacity(read_candidates(engine, municipality=municipality, province=province), profile)
    xy = candidates[["x", "y"]].to_numpy(dtype=float)
    measures = measure_with_network(data, xy, list(profile.categories), profile.network_categories)
    flags = {
        "not_in_use": ~candidates["status"].isin(IN_USE).to_numpy(),
        **capacity_flags(candidates, profile),
        **monument_flags(engine, candidates["id"]),
    }
    # The capacity comes from the floor area: no m2-per-place rule here (it could never fire); the building's use,
    # floor-area band and BAG statuses are read from ``building`` (see grade()).
    graded = grade(data, measures, candidates["capacity"].to_numpy(), profile, extra_flags=flags, building=candidates)
    frame = pd.concat([candidates.reset_index(drop=True), graded.frame.drop(columns=["capacity"])], axis=1)
    frame["rank"] = rank(graded.frame, candidates["id"], profile)
    scope = {"municipality": municipality, "province": province}
    result = CandidateScores(frame, graded, data, profile, scope)
    if store:
        result.run_id = store_run(engine, result)
    result.seconds = time.perf_counter() - started
    return result


def measure_names(profile: Profile) -> list[str]:
    """Names of the raw measures stored per candidate, in order (kept once per run in ``score_run``).

    Distances in metres (to the millimetre) and, for network categories, their kind; counts within
    500 m / 1 km, the id of the nearest service (a row of ``service``), CBS estimates, area codes with
    population, existing places and share, and gaps; scores per category and level follow from these and
    the run's profile version.
    """
    names = ["capacity_estimate", "floor_area", "closes_places", "municipality_gap", "province_gap"]
    names += [
        "storeys_used",
        "units",
        "accepted_use_share",
        "use_state",
        "size_fit",
        "task_reference",
        "measured_share",
        "estimated_share",
        "availability_signal",
        "band",
    ]
    for level in LEVELS:
        names += [f"{level}_{part}" for part in ("code", "population", "existing", "share")]
    for category in profile.categories:
        names += [f"{category}_{part}" for part in ("distance", "estimate", "nearest_id", *(f"n{r}" for r in RADII))]
        if category in profile.network_categories:  # "network" or "straight" (geo.score.network)
            names.append(f"{category}_kind")
    return names


def _measures_json(frame: pd.DataFrame, names: list[str]) -> list[str]:
    """Each candidate's raw measures as one JSON array, in the order of ``names`` (vectorised).

    Distances are kept to the millimetre; infinity and NaN become null."""
    if not len(frame):
        return []

    def clean(name: str) -> np.ndarray | pd.Series:
        column = frame[name]
        if column.dtype.kind != "f":
            return column
        column = column.to_numpy()
        if name.endswith(("_distance", "_estimate")):
            column = np.round(column, 3)
        return np.where(np.isinf(column), np.nan, column)

    values = pd.DataFrame({name: clean(name) for name in names})
    text = values.to_json(orient="values", double_precision=10, force_ascii=False)
    return ["[" + row + "]" for row in text[2:-2].split("],[")]


def store_run(engine: Engine, result: CandidateScores) -> int:
    """Write the run and one row per candidate in one transaction (COPY); returns the run id."""
    frame, profile = result.frame, result.profile
    from geo.models import ScoreRun

    names = measure_names(profile)
    measures = _measures_json(frame, names)
    with engine.begin() as conn:
        run_id = conn.execute(
            sa.insert(ScoreRun)
            .values(
                profile=profile.name,
                profile_version=profile.version,
                target_group=profile.target_group,
                data_vintage=result.data.vintage["id"],
                scope=result.scope,
                measure_names=names,
                candidates=len(frame),
            )
            .returning(ScoreRun.id)
        ).scalar_one()
        rows = pd.DataFrame(
            {
                "run_id": run_id,
                "candidate_id": frame["id"],
                "municipality_code": frame["municipality_code"],
                "province_code": frame["province_code"],
                "capacity": frame["capacity"].astype(int),
                "capacity_method": frame["capacity_method"],
                "proportional_fit": frame["proportional_fit"],
                "proximity": frame["proximity"],
                "task_contribution": frame["task_contribution"],
                "total": frame["total"],
                "rank": frame["rank"].astype(int),
                "excluded": frame["excluded"],
                "flags": [array_literal(f) for f in frame["flags"]],
                "measures": measures,
            }
        )
        copy_frame(conn, "candidate_score", rows)
    return run_id


def read_run(engine: Engine, run_id: int) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            sa.text("SELECT * FROM candidate_score WHERE run_id = :r ORDER BY candidate_id"), conn, params={"r": run_id}
        )


def best_target_group(results: dict[str, CandidateScores]) -> pd.DataFrame:
    """For each candidate, the target group whose profile scores it highest, and by how much.

    Excluded results do not count; a candidate excluded for every group gets no best group.
    """
    frames = []
    for group, result in results.items():
        f = result.frame[["id", "total", "excluded"]].copy()
        f["group"] = group
        frames.append(f)
    long = pd.concat(frames, ignore_index=True)
    long = long[~long["excluded"]].sort_values(["id", "total", "group"], ascending=[True, False, True])
    best = long.groupby("id", sort=True).head(1).set_index("id")
    second = long.groupby("id", sort=True).nth(1).set_index("id")
    out = pd.DataFrame({"best_group": best["group"], "best_total": best["total"]})
    out["runner_up"] = second["group"].reindex(out.index)
    out["margin"] = out["best_total"] - second["total"].reindex(out.index)
    return out.reset_index()


def stored_candidates(engine: Engine) -> pd.DataFrame:
    """Eligible candidates of the latest stored run of every target-group profile, for the pilot portfolio.

    One row per building and target group: ``candidate_id`` is ``<building id>:<group>``. Columns:
    ``candidate_id, building_id, municipality_code, province_code, target_group, profile, capacity, score,
    gap_closed, run_id`` (empty when no run is stored; run ``opvangmatch score --profile all``).
    """
    query = sa.text("""
        WITH latest AS (SELECT DISTINCT ON (profile) id, profile, target_group,
                               array_position(measure_names, 'closes_places') - 1 AS closes_at
                        FROM score_run ORDER BY profile, id DESC)
        SELECT c.candidate_id || ':' || l.target_group AS candidate_id, c.candidate_id AS building_id,
               c.municipality_code, c.province_code, l.target_group, l.profile, c.capacity,
               c.total AS score, coalesce((c.measures->>l.closes_at)::float, 0) AS gap_closed, l.id AS run_id
        FROM latest l JOIN candidate_score c ON c.run_id = l.id
        WHERE NOT c.excluded AND c.municipality_code IS NOT NULL AND c.province_code IS NOT NULL
        ORDER BY l.profile, c.candidate_id""")
    with engine.connect() as conn:
        return pd.read_sql(query, conn)
