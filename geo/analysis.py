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
    model: str = "v2"

    def __len__(self) -> int:
        return len(self.base)

    @property
    def components(self) -> tuple[str, ...]:
        """The components whose weights the model has (v1 had no size_fit)."""
        return V1_COMPONENTS if self.model == "v1" else COMPONENTS


def measure_candidates(
    engine: Engine,
    profile: Profile,
    data: ScoringData | None = None,
    *,
    municipality: str | None = None,
    province: str | None = None,
    model: str = "v2",
) -> MeasuredCandidates:
    """Score the scope once with ``profile`` and keep the measures of its eligible (not excluded) candidates.

    ``model="v1"`` measures and grades them as score model v1 did (:func:`v1_profile`, :func:`regrade`), to
    compare how the two models' rankings move."""
    if model not in ("v1", "v2"):
        raise InputError(f"model must be 'v1' or 'v2', got {model!r}")
    if model == "v1":
        profile = v1_profile(profile)
    scores = score_candidates(engine, profile, data, municipality=municipality, province=province, store=False)
    keep = ~scores.frame.excluded.to_numpy(bool)
    if not keep.any():
        raise InputError("no eligible candidates in this scope: every building is excluded")
    base = scores.frame[keep].reset_index(drop=True)
    return MeasuredCandidates(base, scores.graded.measures.subset(keep), scores.data, profile, model)


V1_COMPONENTS = ("proportional_fit", "proximity", "task_contribution")
V1_WEIGHTS = {
    "default": (0.35, 0.45, 0.20),
    "families": (0.35, 0.45, 0.20),
    "single_adults": (0.35, 0.45, 0.20),
    "amv": (0.40, 0.45, 0.15),
    "permit_holders": (0.30, 0.40, 0.30),
}
"""Score model v1's component weights per profile (``geo/profiles/*.toml`` at commit fcf0880, before issue 14)."""


def v1_profile(profile: Profile) -> Profile:
    """``profile`` with score model v1's rules, for comparing rankings (issue 14's "before"): v1's component weights
    (:data:`V1_WEIGHTS`; no size_fit), every distance a straight line, a CBS estimate weighing as a measurement,
    capacity capped at the small-scale maximum (not at the preferred size) and no floor-area band. Its use rules
    stay (with no verblijfsobjecten loaded nothing is excluded by use, as in v1). :func:`regrade` adds v1's task
    credit, min(C, gap) / C, and v1's order (total, then id; no bands)."""
    if profile.name not in V1_WEIGHTS:
        raise InputError(f"no score model v1 weights for profile {profile.name!r}; known: {', '.join(V1_WEIGHTS)}")
    straight = {
        name: {"weight": rule.weight, "good": rule.good, "too_far": rule.too_far, "distance": "straight"}
        for name, rule in profile.categories.items()
    }
    preferred = profile.as_dict()["capacity"]["preferred"]
    return profile.changed(
        weights={**dict(zip(V1_COMPONENTS, V1_WEIGHTS[profile.name], strict=True)), "size_fit": 0.0},
        proximity={"estimate_weight": 1.0},
        categories=straight,
        capacity={"preferred": {**preferred, "high": profile.max_places}},
        use={"floor_area": {"min": 0, "max": 1e12}},
    )


def regrade(measured: MeasuredCandidates, profile: Profile) -> pd.DataFrame:
    """Grade the measured candidates with ``profile``: ``id``, components, ``total`` and ``rank`` (1 = best)."""
    base = measured.profile
    for rule, name in (
        ("min_places", "capacity.min_places"),
        ("max_places", "capacity.max_places"),
        ("m2_per_place", "capacity.m2_per_place"),
        ("storey_height_m", "capacity.storey_height_m"),
        ("use", "the use section"),
    ):
        if getattr(profile, rule) != getattr(base, rule):
            raise InputError(f"profile variant changes {name}; re-grading keeps the base capacity and use rules")
    if profile.size.high != base.size.high:
        raise InputError("profile variant changes capacity.preferred.high, which caps a building's capacity")
    frame = measured.base
    graded = grade(
        measured.data,
        measured.measures,
        frame.capacity.to_numpy(),
        profile,
        floor_area=frame.floor_area.to_numpy(),
        building=frame,
    )
    out = graded.frame[[*COMPONENTS, "total", "band"]].copy()
    out.insert(0, "id", frame.id.to_numpy())
    if measured.model == "v1":
        return _as_v1(out, graded.frame, frame.capacity.to_numpy(dtype=float), profile)
    out["rank"] = rank(graded.frame, frame.id, profile)
    return out


def _as_v1(out: pd.DataFrame, graded: pd.DataFrame, capacity: np.ndarray, profile: Profile) -> pd.DataFrame:
    """Score model v1's task credit, min(C, gap) / C, its weighted total and its order (total, then id)."""
    closes = graded["closes_places"].to_numpy(dtype=float)
    usable = np.isfinite(closes) & (capacity > 0)
    out["task_contribution"] = np.where(usable, closes / np.where(capacity > 0, capacity, 1.0), 0.0)
    weights = {c: profile.weights[c] for c in V1_COMPONENTS}
    out["total"] = sum(w * out[c].to_numpy() for c, w in weights.items()) / sum(weights.values())
    out["band"] = 0
    order = np.lexsort((out["id"].to_numpy(), -out["total"].to_numpy()))
    ranks = np.empty(len(out), dtype=np.int64)
    ranks[order] = np.arange(1, len(out) + 1)
    out["rank"] = ranks
    return out


def sensitivity_summary(oat: pd.DataFrame, draws: pd.DataFrame) -> dict:
    """The figures of a model's weight sensitivity (README "How ranks move"): from :func:`one_at_a_time` the
    number of variants, mean and lowest tau, variants that change the top list and mean of the top list kept;
    from :func:`random_weights` the number of draws, mean tau and mean of the top list kept."""
    return {
        "one-at-a-time variants": len(oat),
        "mean tau (one at a time)": float(oat.tau.mean()),
        "lowest tau (one at a time)": float(oat.tau.min()),
        "variants changing the top list": int(oat.top_changed.sum()),
        "mean of the top list kept (one at a time)": float(oat.top_kept.mean()),
        "random weightings": len(draws),
        "mean tau (random weights)": float(draws.tau.mean()),
        "mean of the top list kept (random weights)": float(draws.top_kept.mean()),
    }


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
            if profile.weights[component] == 0:  # a component the model does not weigh (v1: size_fit)
                continue
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


def compare_rankings(before: pd.DataFrame, after: pd.DataFrame, top: int = 50) -> dict:
    """How two rankings of possibly different candidate sets differ (e.g. score model v1 and v2 on the same data):
    frames with ``id`` and ``rank`` (0 = excluded). Over the candidates eligible in both: Kendall's tau-b of the
    ranks, the median and 90th percentile of the absolute rank move; and how many of ``before``'s top ``top``
    stay in ``after``'s top ``top``.

    >>> a = pd.DataFrame({"id": list("abcd"), "rank": [1, 2, 3, 0]})
    >>> b = pd.DataFrame({"id": list("abcd"), "rank": [2, 1, 3, 4]})
    >>> compare_rankings(a, b, top=2)["top_kept"]
    2
    """
    a = before[before["rank"] > 0].set_index("id")["rank"]
    b = after[after["rank"] > 0].set_index("id")["rank"]
    common = a.index.intersection(b.index)
    if len(common) < 2:
        raise InputError("the two rankings share fewer than two eligible candidates")
    moves = (a[common] - b[common]).abs()
    return {
        "eligible_before": len(a),
        "eligible_after": len(b),
        "common": len(common),
        "tau": float(kendalltau(a[common].to_numpy(), b[common].to_numpy()).statistic),
        "median_move": float(moves.median()),
        "p90_move": float(moves.quantile(0.9)),
        "top": top,
        "top_kept": len(set(a[a <= top].index) & set(b[b <= top].index)),
    }


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
    components = measured.components
    for _ in range(draws):
        comp = rng.dirichlet(np.ones(len(components)))
        cats = rng.dirichlet(np.ones(len(names))) * category_sum
        weights = {c: 0.0 for c in COMPONENTS} | dict(zip(components, comp.tolist(), strict=True))
        categories = {}
        for name, w in zip(names, cats.tolist(), strict=True):
            categories.update(_category(profile, name, weight=w))
        other = regrade(measured, profile.changed(weights=weights, categories=categories))
        first = other.id[other["rank"] == 1]
        rows.append(
            {
                **{f"w_{c}": weights[c] for c in components},
                **{f"w_{n}": w for n, w in zip(names, cats.tolist(), strict=True)},
                **agreement(base, other, top),
                "first": first.iloc[0] if len(first) else None,
            }
        )
    return pd.DataFrame(rows)


# --- scope, data limits, comparisons on shared candidates, rank stability -------------------------------------------


class EmptyScopeError(InputError):
    """A notebook's scope has nothing to analyse; IPython shows only this message (no traceback)."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def scope_name(engine: Engine, municipality: str) -> str:
    """The name of a loaded municipality that holds buildings; :class:`EmptyScopeError` naming the cause otherwise."""
    import sqlalchemy as sa

    code = str(municipality).strip().upper()
    with engine.connect() as conn:
        name = conn.execute(sa.text("SELECT name FROM municipality WHERE code = :c"), {"c": code}).scalar()
        if name is None:
            raise EmptyScopeError(f"{municipality!r} is not a loaded municipality code (such as GM0221)")
        buildings = conn.execute(
            sa.text(
                "SELECT count(*) FROM building b JOIN municipality m ON ST_Intersects(b.point, m.geom) "
                "WHERE m.code = :c"
            ),
            {"c": code},
        ).scalar_one()
    if buildings == 0:
        raise EmptyScopeError(
            f"{name} ({code}) has no buildings loaded, so there is nothing to score; load its BAG panden first "
            f"('opvangmatch fetch bag' and 'opvangmatch load buildings'), or choose a municipality with buildings "
            "(the demo ships Doesburg, GM0221)"
        )
    return str(name)


def profile_comparison(results: dict[str, CandidateScores]) -> dict:
    """Compare target-group profiles fairly: on the buildings that every profile accepts.

    Returns ``eligible`` (per group), ``only`` (eligible under that group alone), ``shared`` (ids eligible under
    all), ``best_on_shared`` (buildings per best-scoring group among the shared ones) and ``best_all`` (the same
    over all eligible buildings, which favours the profile that accepts the most buildings)."""
    from geo.score.runs import best_target_group

    eligible = {g: set(r.frame.id[~r.frame.excluded.to_numpy(bool)]) for g, r in results.items()}
    shared = set.intersection(*eligible.values()) if eligible else set()
    only = {g: len(ids - set().union(*(eligible[h] for h in eligible if h != g))) for g, ids in eligible.items()}
    fits = best_target_group(results)
    on_shared = fits[fits.id.isin(shared)].best_group.value_counts()
    return {
        "eligible": {g: len(ids) for g, ids in eligible.items()},
        "only": only,
        "shared": shared,
        "best_on_shared": on_shared,
        "best_all": fits.best_group.value_counts(),
    }


def criteria_influence(frame: pd.DataFrame, profile: Profile, *, nearly_all: float = 0.95) -> pd.DataFrame:
    """Per weighted service category of ``profile``, over the eligible rows of a scored ``frame``: the share that
    is a CBS municipal estimate, the share holding the most common score, the distinct scores, and whether the
    criterion can reorder the buildings. ``without influence`` when no building has a value, or when at least
    ``nearly_all`` of them share one score (one constant, or one municipal estimate)."""
    rows = frame[~frame.excluded.to_numpy(bool)] if "excluded" in frame else frame
    out = []
    for name in _weighted_categories(profile):
        score = rows[f"{name}_score"]
        known = score.dropna()
        modal = known.value_counts().iloc[0] / len(rows) if len(known) else 0.0
        estimated = float(rows[f"{name}_estimate"].notna().mean()) if len(rows) else 0.0
        if known.empty:
            verdict = "no data"
        elif modal >= nearly_all:
            verdict = "one CBS estimate" if estimated >= nearly_all else "constant"
        else:
            verdict = "varies"
        out.append(
            {
                "criterion": name,
                "weight": profile.categories[name].weight,
                "cbs_estimate_share": estimated,
                "modal_share": float(modal),
                "distinct_scores": int(known.nunique()),
                "verdict": verdict,
                "without_influence": verdict != "varies",
            }
        )
    return pd.DataFrame(out).set_index("criterion")


def data_limits(data: ScoringData, frame: pd.DataFrame, profile: Profile, *, today=None) -> list[str]:
    """The limits of the data behind a scored ``frame`` (one profile, one scope), as sentences for a findings cell:
    buurt coverage, how capacity was estimated, which criteria are CBS estimates or constant, and the age of every
    loaded layer (years before ``today``; layers without a year are named as such)."""
    import datetime as dt

    year = (today or dt.date.today()).year
    rows = frame[~frame.excluded.to_numpy(bool)]
    n = len(rows)
    out = []
    buurt = rows.buurt_code.notna().mean() if n else 0.0
    mun_with_buurt = len({str(c)[2:6] for c in data.areas["buurt"].codes})
    out.append(
        f"buurt coverage: {buurt:.0%} of the {n:,} eligible buildings lie in a loaded buurt (buurten are loaded for "
        f"{mun_with_buurt} of {len(data.areas['municipality'].codes)} municipalities); elsewhere the proportional fit "
        "rests on wijk and municipality only"
    )
    methods = rows.capacity_method.value_counts(normalize=True)
    capped = int((rows.capacity_estimate > rows.capacity).sum()) if "capacity_estimate" in rows else 0
    out.append(
        "capacity methods: "
        + ", ".join(f"{m.replace('_', ' ')} {s:.0%}" for m, s in methods.items())
        + (f"; {capped:,} capped at the profile maximum of {profile.max_places}" if capped else "")
    )
    influence = criteria_influence(frame, profile)
    for verdict, phrase in (
        ("one CBS estimate", "that are one CBS municipal estimate (not measured) for at least 95% of the buildings"),
        ("constant", "with one constant score for at least 95% of the buildings"),
        ("no data", "without any data for these buildings"),
    ):
        names = influence.index[influence.verdict == verdict].tolist()
        if names:
            out.append(
                f"criteria {phrase}, so they cannot reorder them: "
                + ", ".join(f"{c} (weight {influence.weight[c]:g})" for c in names)
            )
    out.append(layer_ages(data.vintage, year))
    return out


def layer_ages(vintage: dict, year: int) -> str:
    """One sentence: every loaded layer (``vintage['datasets']``) with its year and age in ``year``."""
    ages = []
    for source, layer_year in sorted(vintage.get("datasets", {}).items()):
        ages.append(f"{source} {'year unknown' if layer_year is None else f'{layer_year} ({year - layer_year} y)'}")
    return "age of each layer (data year, years old): " + "; ".join(ages)


def threshold_variant(profile: Profile, factors: dict[str, float], weights: dict | None = None, cats=None) -> Profile:
    """``profile`` with each category's distance thresholds scaled by ``factors[name]`` and, optionally, new
    component weights and category weights ``cats`` ({name: weight})."""
    categories = {}
    for name in _weighted_categories(profile):
        rule = profile.categories[name]
        factor = factors.get(name, 1.0)
        categories.update(
            _category(
                profile,
                name,
                weight=(cats or {}).get(name),
                good=rule.good * factor,
                too_far=rule.too_far * factor,
            )
        )
    return profile.changed(weights=weights or dict(profile.weights), categories=categories)


def rank_stability(
    measured: MeasuredCandidates, draws: int = 100, seed: int = 0, top: int = 10, spread: float = 0.5
) -> pd.DataFrame:
    """How often each building stays in the top ``top`` when weights and distance thresholds are drawn together.

    Each draw: component weights from a flat Dirichlet, category weights from a flat Dirichlet scaled to their base
    sum, and each category's thresholds scaled by a factor drawn uniformly from ``[1 - spread, 1 + spread]``.
    One row per building that is in the base top ``top`` or reaches it in some draw: ``base_rank``,
    ``in_top_share`` (share of draws in the top), ``best_rank``, ``worst_rank`` and ``median_rank``."""
    if draws < 1:
        raise InputError(f"draws must be at least 1, got {draws}")
    if not 0 <= spread < 1:
        raise InputError(f"spread must be in [0, 1), got {spread}")
    profile = measured.profile
    rng = np.random.default_rng(seed)
    names = _weighted_categories(profile)
    category_sum = sum(profile.categories[n].weight for n in names)
    base = regrade(measured, profile)
    ranks = np.empty((draws, len(base)), dtype=np.int64)
    for i in range(draws):
        components = measured.components
        drawn = rng.dirichlet(np.ones(len(components))).tolist()
        weights = {c: 0.0 for c in COMPONENTS} | dict(zip(components, drawn, strict=True))
        cats = dict(zip(names, (rng.dirichlet(np.ones(len(names))) * category_sum).tolist(), strict=True))
        factors = dict(zip(names, rng.uniform(1 - spread, 1 + spread, len(names)).tolist(), strict=True))
        ranks[i] = regrade(measured, threshold_variant(profile, factors, weights, cats))["rank"].to_numpy()
    in_top = (ranks <= top).mean(axis=0)
    out = pd.DataFrame(
        {
            "id": base.id.to_numpy(),
            "base_rank": base["rank"].to_numpy(),
            "in_top_share": in_top,
            "best_rank": ranks.min(axis=0),
            "worst_rank": ranks.max(axis=0),
            "median_rank": np.median(ranks, axis=0),
        }
    )
    keep = (out.base_rank <= top) | (out.in_top_share > 0)
    out = out[keep].sort_values(["in_top_share", "base_rank"], ascending=[False, True]).reset_index(drop=True)
    out.attrs = {"draws": draws, "seed": seed, "top": top, "spread": spread, "candidates": len(base)}
    return out


def task_limits(engine: Engine, tasks: pd.DataFrame, *, today=None) -> list[str]:
    """The limits of the data behind a :func:`geo.task.placement_tasks` result, as sentences for a findings cell:
    how much of the published figures the reception rows cover, the rows not counted, which task figures are
    computed, and the age of every loaded layer."""
    import datetime as dt

    from geo.db.status import data_vintage
    from geo.reconcile import LOW_COVERAGE

    year = (today or dt.date.today()).year
    a = tasks.attrs
    rec = pd.DataFrame(a.get("reconciliation", []))
    out = []
    if not rec.empty:
        national = rec[rec.region_code == "NL"].iloc[0]
        provinces = rec[rec.region_code != "NL"]
        known = provinces.dropna(subset=["realised_coverage"])
        share = national.realised_coverage
        places = national.reported_places
        out.append(
            "realised coverage: the reception rows hold "
            + (
                f"{share:.0%} of the national published figure ({int(places):,} places)"
                if share is not None and pd.notna(share)
                else "an unknown share of the national figure (none loaded)"
            )
            + f"; provinces with a published figure {len(known)} of "
            f"{len(provinces)}, of which {int((known.realised_coverage < LOW_COVERAGE).sum())} below "
            f"{LOW_COVERAGE:.0%} coverage"
        )
    skipped = pd.DataFrame(a.get("skipped_reception", []))
    if not skipped.empty:
        if "status" in skipped:
            unmatched = skipped.reason.str.contains("not matched|ambiguous", na=False)
            kinds = skipped.status.where(~unmatched, "name not matched").str.replace("_", " ")
        else:
            kinds = skipped.reason.str.replace(r"'.*'", "'...'", regex=True)
        counts = kinds.value_counts()
        undated = int(tasks.loc[tasks.level == "province", "undated"].sum()) if "undated" in tasks else 0
        out.append(
            f"reception rows not counted on {a.get('reference_date', 'the reference date')}: {len(skipped)} ("
            + ", ".join(f"{k} {n}" for k, n in counts.items())
            + ")"
            + (f"; the undated rows hold {undated:,} places, not in realised" if undated else "")
        )
    mun = tasks[tasks.level == "municipality"]
    out.append(
        f"municipal task figures: {int((mun.required_basis == 'official').sum())} official, "
        f"{int((mun.required_basis == 'computed').sum())} computed from population shares (not published figures)"
    )
    out.append(layer_ages(data_vintage(engine), year))
    return out
