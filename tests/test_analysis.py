"""geo.analysis: the notebook helpers against the real scoring engine on the demo database."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from geo.analysis import (
    agreement,
    measure_candidates,
    one_at_a_time,
    open_database,
    portfolio_candidates,
    random_weights,
    regrade,
    variants,
)
from geo.errors import DataError, InputError
from geo.score import ScoringData, profile_for_group, score_candidates
from geo.score.runs import stored_candidates


@pytest.fixture(scope="module")
def data(demo_engine):
    return ScoringData.load(demo_engine)


@pytest.fixture(scope="module")
def measured(demo_engine, data):
    return measure_candidates(demo_engine, profile_for_group("families"), data, municipality="GM0221")


def test_regrade_with_the_base_profile_is_the_scoring_run(measured):
    again = regrade(measured, measured.profile)
    assert len(again) == len(measured) > 100
    np.testing.assert_array_equal(again.total.to_numpy(), measured.base.total.to_numpy())
    np.testing.assert_array_equal(again["rank"].to_numpy(), measured.base["rank"].to_numpy())
    assert sorted(again["rank"]) == list(range(1, len(again) + 1))


def test_regrade_of_a_variant_equals_scoring_with_that_variant(demo_engine, data, measured):
    variant = measured.profile.changed(
        weights={"proportional_fit": 0.2, "proximity": 0.7, "task_contribution": 0.1},
        categories={"primary_school": {"weight": 1, "good": 400, "too_far": 1500}},
    )
    fast = regrade(measured, variant)
    full = score_candidates(demo_engine, variant, data, municipality="GM0221").frame
    full = full[~full.excluded].reset_index(drop=True)
    assert full.id.tolist() == fast.id.tolist()
    np.testing.assert_allclose(fast.total.to_numpy(), full.total.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fast["rank"].to_numpy(), full["rank"].to_numpy())
    assert not np.allclose(fast.total.to_numpy(), measured.base.total.to_numpy())


def test_regrade_refuses_other_capacity_rules(measured):
    with pytest.raises(InputError, match=r"capacity\.max_places"):
        regrade(measured, measured.profile.changed(capacity={"max_places": 120}))


def test_agreement_of_a_ranking_with_itself_and_with_its_reverse(measured):
    base = regrade(measured, measured.profile)
    assert agreement(base, base) == {"tau": 1.0, "top_kept": 10, "top_changed": False}
    reverse = base.assign(total=-base.total, rank=len(base) + 1 - base["rank"])
    result = agreement(base, reverse)
    assert result["tau"] == pytest.approx(-1.0) and result["top_kept"] == 0 and result["top_changed"]
    with pytest.raises(InputError, match="same candidates"):
        agreement(base, base.iloc[::-1].reset_index(drop=True))


def test_one_at_a_time_covers_every_weight_and_threshold(measured):
    profile = measured.profile
    weighted = [n for n, r in profile.categories.items() if r.weight > 0]
    rows = variants(profile, factors=(0.5, 1.5))
    assert len(rows) == 2 * (len(measured.profile.weights) + 2 * len(weighted))
    gp = next(p for name, kind, f, p in rows if name == "gp" and kind == "distance thresholds" and f == 0.5)
    assert (gp.categories["gp"].good, gp.categories["gp"].too_far) == (500.0, 1500.0)
    assert gp.categories["gp"].weight == profile.categories["gp"].weight
    sweep = one_at_a_time(measured, factors=(1.0,))
    np.testing.assert_allclose(sweep.tau, 1.0)
    assert not sweep.top_changed.any()
    sweep = one_at_a_time(measured, factors=(0.5,))
    assert sweep.tau.min() < 1.0 and set(sweep.kind) == {"component weight", "category weight", "distance thresholds"}


def test_random_weights_are_reproducible_and_sum_like_the_base(measured):
    first = random_weights(measured, draws=5, seed=7)
    pd.testing.assert_frame_equal(first, random_weights(measured, draws=5, seed=7))
    assert not first.equals(random_weights(measured, draws=5, seed=8))
    components = first[[f"w_{c}" for c in measured.profile.weights]].sum(axis=1)
    np.testing.assert_allclose(components, 1.0)
    weighted = [n for n, r in measured.profile.categories.items() if r.weight > 0]
    np.testing.assert_allclose(
        first[[f"w_{n}" for n in weighted]].sum(axis=1), sum(measured.profile.categories[n].weight for n in weighted)
    )
    assert first.tau.between(-1, 1).all() and first.top_kept.between(0, 10).all()
    with pytest.raises(InputError, match="draws"):
        random_weights(measured, draws=0)


def test_portfolio_candidates_equal_the_stored_form(demo_engine, data):
    results = {
        group: score_candidates(demo_engine, profile_for_group(group), data, municipality="GM0221", store=True)
        for group in ("families", "amv")
    }
    mine = portfolio_candidates(results)
    runs = {r.run_id for r in results.values()}
    stored = stored_candidates(demo_engine)
    stored = stored[stored.run_id.isin(runs)].drop(columns="run_id")
    stored = stored.sort_values(["profile", "building_id"]).reset_index(drop=True)
    assert len(mine) == len(stored) > 0
    pd.testing.assert_frame_equal(mine, stored, check_dtype=False, atol=1e-6)


def test_open_database_loads_the_demo_only_into_an_empty_database(demo_settings, empty_settings, tmp_path):
    engine, loaded = open_database(demo_settings)
    engine.dispose()
    assert loaded is False
    # an empty database takes the load path: with no demo files there, it says which are missing
    with pytest.raises(DataError, match="demo files missing"):
        open_database(dataclasses.replace(empty_settings, data_dir=tmp_path))
