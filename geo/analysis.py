"""Helpers for the analyst notebooks: open the database, re-grade measured candidates, sensitivity sweeps.

The notebooks in ``notebooks/`` use these instead of copying SQL or scoring logic into cells. Re-grading follows
the scoring engine's own split: :func:`geo.score.measure.measure` once (the expensive part), then
:func:`geo.score.grade.grade` once per profile variant, so a sweep of a hundred profiles takes seconds.

Examples
--------
>>> engine = open_database(Settings.from_env())  # doctest: +SKIP
>>> measured = measure_candidates(engine, profile_for_group("families"), municipality="GM0221")  # doctest: +SKIP
>>> sweep = one_at_a_time(measured)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from sqlalchemy.engine import Engine

from geo.domain import COMPONENTS
from geo.errors import InputError
from geo.score.data import ScoringData
from geo.score.grade import grade, rank
from geo.score.measure import Measures
from geo.score.profile import Profile
from geo.score.runs import CandidateScores, score_candidates
from geo.settings import Settings

FACTORS = (0.5, 0.75, 1.25, 1.5)
"""Default one-at-a-time scale factors (the base, 1.0, is the reference)."""


def open_database(settings: Settings) -> tuple[Engine, bool]:
    """The engine of the settings' database (started if managed, migrated); loads the shipped demo data from
    ``settings.data_dir`` when no municipality is loaded yet. Returns ``(engine, loaded_now)``."""
    from geo.db import prepare_database
    from geo.db.status import row_counts
    from geo.io.demo import load_demo

    engine = prepare_database(settings)
    if not any(table == "municipality" and rows > 0 for table, _source, rows in row_counts(engine)):
        load_demo(engine, settings.data_dir)
        return engine, True
    return engine, False


def portfolio_candidates(results: dict[str, CandidateScores]) -> pd.DataFrame:
    """Scored candidates (one :class:`CandidateScores` per target group) in the form of
    :func:`geo.score.runs.stored_candidates`, without storing a run: eligible buildings only, one row per building
    and target group, ``candidate_id = <building id>:<group>``."""
    frames = []
    for group, result in results.items():
        f = result.frame
        keep = ~f.excluded.to_numpy(bool) & f.municipality_code.notna().to_numpy() & f.province_code.notna().to_numpy()
        f = f[keep]
        frames.append(
            pd.DataFrame(
                {
                    "candidate_id": f.id.astype(str) + ":" + result.profile.target_group,
                    "building_id": f.id.astype(str),
                    "municipality_code": f.municipality_code,
                    "province_code": f.province_code,
                    "target_group": result.profile.target_group,
                    "profile": result.profile.name,
                    "capacity": f.capacity.astype(np.int64),
                    "score": f.total.astype(float),
                    "gap_closed": f.closes_places.fillna(0.0).astype(float),
                }
            )
        )
        if result.profile.target_group != group:
            raise InputError(f"results key {group!r} holds a profile for {result.profile.target_group!r}")
    if not frames:
        raise InputError("no scored candidates given")
    return pd.concat(frames, ignore_index=True).sort_values(["profile", "building_id"]).reset_index(drop=True)


@dataclass
class MeasuredCandidates:
    """The eligible candidates of one scope, measured once, ready to be graded with profile variants.

    ``base`` is the scored frame of the base profile (eligible rows only, ranked); variants may change weights
    and distance thresholds but not the capacity rules, which decide eligibility.
    """

    base: pd.DataFrame
    measures: Measures
    data: ScoringData
    profile: Profile

    def __len__(self) -> int:
        return len(self.base)


def measure_candidates(
    engine: Engine,
    profile: Profile,
    data: ScoringData | None = None,
    *,
    municipality: str | None = None,
    province: str | None = None,
) -> MeasuredCandidates:
    """Score the scope once with ``profile`` and keep the measures of its eligible (not excluded) candidates."""
    scores = score_candidates(engine, profile, data, municipality=municipality, province=province, store=False)
    keep = ~scores.frame.excluded.to_numpy(bool)
    if not keep.any():
        raise InputError("no eligible candidates in this scope: every building is excluded")
    base = scores.frame[keep].reset_index(drop=True)
    return MeasuredCandidates(base, scores.graded.measures.subset(keep), scores.data, profile)


def regrade(measured: MeasuredCandidates, profile: Profile) -> pd.DataFrame:
    """Grade the measured candidates with ``profile``: ``id``, components, ``total`` and ``rank`` (1 = best)."""
    base = measured.profile
    for rule in ("min_places", "max_places", "m2_per_place"):
        if getattr(profile, rule) != getattr(base, rule):
            raise InputError(f"profile variant changes capacity.{rule}; re-grading keeps the base capacity rules")
    frame = measured.base
    graded = grade(
        measured.data, measured.measures, frame.capacity.to_numpy(), profile, floor_area=frame.floor_area.to_numpy()
    )
    out = graded.frame[["proportional_fit", "proximity", "task_contribution", "total"]].copy()
    out.insert(0, "id", frame.id.to_numpy())
    out["rank"] = rank(graded.frame, frame.id)
    return out


def agreement(base: pd.DataFrame, other: pd.DataFrame, top: int = 10) -> dict:
    """How far ``other`` keeps the ranking of ``base`` (both from :func:`regrade`, same ids in the same order):
    Kendall's tau-b of the totals and how many of the base top ``top`` stay in the top ``top``."""
    if not base.id.equals(other.id):
        raise InputError("the two rankings are not of the same candidates in the same order")
    tau = kendalltau(base.total.to_numpy(), other.total.to_numpy()).statistic
    top_base = set(base.id[base["rank"] <= top])
    top_other = set(other.id[other["rank"] <= top])
    return {"tau": float(tau), "top_kept": len(top_base & top_other), "top_changed": top_base != top_other}


def _weighted_categories(profile: Profile) -> list[str]:
    return [name for name, rule in profile.categories.items() if rule.weight > 0]


def _category(profile: Profile, name: str, *, weight=None, good=None, too_far=None) -> dict:
    rule = profile.categories[name]
    return {
        name: {
            "weight": rule.weight if weight is None else weight,
            "good": rule.good if good is None else good,
            "too_far": rule.too_far if too_far is None else too_far,
        }
    }


def variants(profile: Profile, factors=FACTORS) -> list[tuple[str, str, float, Profile]]:
    """One-at-a-time variants: ``(parameter, kind, factor, profile)`` with one component weight, one category
    weight or one category's distance thresholds (``good`` and ``too_far`` together) scaled by a factor."""
    out = []
    for factor in factors:
        for component in COMPONENTS:
            weights = dict(profile.weights)
            weights[component] *= factor
            if sum(weights.values()) > 0:
                out.append((component, "component weight", factor, profile.changed(weights=weights)))
        for name in _weighted_categories(profile):
            rule = profile.categories[name]
            out.append(
                (
                    name,
                    "category weight",
                    factor,
                    profile.changed(categories=_category(profile, name, weight=rule.weight * factor)),
                )
            )
            out.append(
                (
                    name,
                    "distance thresholds",
                    factor,
                    profile.changed(
                        categories=_category(profile, name, good=rule.good * factor, too_far=rule.too_far * factor)
                    ),
                )
            )
    return out


def one_at_a_time(measured: MeasuredCandidates, factors=FACTORS, top: int = 10) -> pd.DataFrame:
    """Re-grade with every one-at-a-time variant; one row per variant with tau and the top-``top`` overlap."""
    base = regrade(measured, measured.profile)
    rows = []
    for parameter, kind, factor, variant in variants(measured.profile, factors):
        rows.append(
            {"parameter": parameter, "kind": kind, "factor": factor, **agreement(base, regrade(measured, variant), top)}
        )
    return pd.DataFrame(rows)


def random_weights(measured: MeasuredCandidates, draws: int = 100, seed: int = 0, top: int = 10) -> pd.DataFrame:
    """Re-grade with ``draws`` random weightings (fixed ``seed``): component weights from a flat Dirichlet, and
    the weights of the weighted service categories from a flat Dirichlet scaled to their base sum.

    One row per draw: the drawn weights (``w_<component>``, ``w_<category>``), ``tau``, ``top_kept``,
    ``top_changed`` and the id ranked first.
    """
    if draws < 1:
        raise InputError(f"draws must be at least 1, got {draws}")
    profile = measured.profile
    rng = np.random.default_rng(seed)
    names = _weighted_categories(profile)
    category_sum = sum(profile.categories[n].weight for n in names)
    base = regrade(measured, profile)
    rows = []
    for _ in range(draws):
        comp = rng.dirichlet(np.ones(len(COMPONENTS)))
        cats = rng.dirichlet(np.ones(len(names))) * category_sum
        weights = dict(zip(COMPONENTS, comp.tolist(), strict=True))
        categories = {}
        for name, w in zip(names, cats.tolist(), strict=True):
            categories.update(_category(profile, name, weight=w))
        other = regrade(measured, profile.changed(weights=weights, categories=categories))
        first = other.id[other["rank"] == 1]
        rows.append(
            {
                **{f"w_{c}": w for c, w in weights.items()},
                **{f"w_{n}": w for n, w in zip(names, cats.tolist(), strict=True)},
                **agreement(base, other, top),
                "first": first.iloc[0] if len(first) else None,
            }
        )
    return pd.DataFrame(rows)
