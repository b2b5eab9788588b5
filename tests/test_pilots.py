"""The pilot portfolio: optimal (checked against brute force), deterministic, constraints kept, clear infeasibility."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InputError
from geo.pilots.portfolio import SCORE_RESOLUTION, Constraints, choose_portfolio, compare_portfolios
from geo.pilots.provisional import municipal_candidates
from tests.helpers import opvangmatch
from tests.test_task import _env

DRECHTSTEDEN = ["GM0482", "GM0505", "GM0512", "GM0523", "GM0590", "GM0597", "GM0642"]
GROUPS = ("families", "single_adults", "amv", "permit_holders")


@pytest.fixture(scope="module")
def candidates(demo_engine):
    """Provisional candidates from the demo data (CBS nabijheid per municipality and the task gap)."""
    return municipal_candidates(demo_engine, "2024")


def brute_force(frame: pd.DataFrame, c: Constraints):
    """Every subset of up to k eligible candidates; the best total score, ties to the smallest rank sum."""
    frame = frame.sort_values("candidate_id").reset_index(drop=True)
    eligible = frame if c.min_capacity is None else frame[frame.capacity >= c.min_capacity]
    cover = [g for g in dict.fromkeys(c.target_groups) if (eligible.target_group == g).any()]
    best, best_key = None, None
    for size in range(0, min(c.k, len(eligible)) + 1):
        for subset in itertools.combinations(eligible.index, size):
            rows = frame.loc[list(subset)]
            if c.one_per_municipality and rows.municipality_code.duplicated().any():
                continue
            if c.max_per_province is not None and (rows.province_code.value_counts() > c.max_per_province).any():
                continue
            if c.max_total_capacity is not None and rows.capacity.sum() > c.max_total_capacity:
                continue
            if not set(cover) <= set(rows.target_group):
                continue
            score = int(np.round(rows.score.to_numpy() / SCORE_RESOLUTION).sum())
            key = (-score, sum(subset))
            if best_key is None or key < best_key:
                best, best_key = rows, key
    return best


@st.composite
def instances(draw):
    n = draw(st.integers(1, 8))
    rows = []
    for i in range(n):
        rows.append(
            {
                "candidate_id": f"C{i:02d}",
                "municipality_code": draw(st.sampled_from(["GM1", "GM2", "GM3", "GM4", "GM5"])),
                "province_code": draw(st.sampled_from(["PV1", "PV2", "PV3"])),
                "target_group": draw(st.sampled_from(["families", "amv", "singles"])),
                "capacity": draw(st.integers(10, 150)),
                # a coarse grid makes ties frequent, so the tie-break is exercised too
                "score": draw(st.sampled_from([-0.1, 0.0, 0.2, 0.25, 0.5, 0.75, 0.8, 1.0])),
                "gap_closed": draw(st.integers(0, 150)),
            }
        )
    constraints = Constraints(
        k=draw(st.integers(1, 4)),
        max_per_province=draw(st.none() | st.integers(1, 2)),
        min_capacity=draw(st.none() | st.integers(10, 120)),
        max_total_capacity=draw(st.none() | st.integers(30, 400)),
        target_groups=tuple(draw(st.lists(st.sampled_from(["families", "amv", "singles", "nobody"]), max_size=3))),
        one_per_municipality=draw(st.booleans()),
    )
    return pd.DataFrame(rows), constraints


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_solver_matches_brute_force(instance):
    frame, constraints = instance
    expected = brute_force(frame, constraints)
    if expected is None:
        with pytest.raises(InputError, match="no portfolio meets the constraints"):
            choose_portfolio(frame, constraints, explain=False)
        return
    got = choose_portfolio(frame.sample(frac=1, random_state=1), constraints, explain=False)
    assert got.total_score == pytest.approx(expected.score.sum(), abs=1e-9)
    # the tie-break is part of the optimum: among the best portfolios, the smallest sum of id ranks
    ranks = {cid: i for i, cid in enumerate(sorted(frame.candidate_id))}
    assert sum(ranks[c] for c in got.chosen.candidate_id) == sum(ranks[c] for c in expected.candidate_id)


def test_real_candidates_match_brute_force(candidates):
    frame = candidates[candidates.municipality_code.isin(DRECHTSTEDEN)]
    assert len(frame) == 4 * len(DRECHTSTEDEN)
    constraints = Constraints(k=3, max_total_capacity=300, target_groups=("amv", "families"))
    got = choose_portfolio(frame, constraints)
    expected = brute_force(frame, constraints)
    assert sorted(got.chosen.candidate_id) == sorted(expected.candidate_id)
    assert got.total_capacity <= 300
    assert {"amv", "families"} <= set(got.chosen.target_group)


def test_constraints_hold_on_all_municipal_candidates(candidates):
    constraints = Constraints(k=10, max_per_province=2, min_capacity=60, max_total_capacity=1_200, target_groups=GROUPS)
    p = choose_portfolio(candidates, constraints)
    chosen = p.chosen
    assert len(chosen) <= 10
    assert chosen.municipality_code.is_unique
    assert chosen.province_code.value_counts().max() <= 2
    assert (chosen.capacity >= 60).all() and chosen.capacity.sum() <= 1_200
    assert set(GROUPS) <= set(chosen.target_group) and p.covered_groups == list(GROUPS)
    assert p.per_province.places.sum() == chosen.capacity.sum()
    assert p.per_province.locations.sum() == len(chosen)
    assert all(row.reason.startswith(f"score {row.score:.4f}") for row in chosen.itertuples())
    # every reported binding constraint really costs score: the portfolio without it is better
    assert p.binding
    for text in p.binding:
        if "relaxing it would raise" in text:
            assert float(text.rsplit(" ", 1)[1]) > 0
    unlimited = choose_portfolio(candidates, Constraints(k=10), explain=False)
    assert unlimited.total_score >= p.total_score


def test_binding_per_province_limit_is_named(candidates):
    p = choose_portfolio(candidates, Constraints(k=10, max_per_province=1))
    loose = choose_portfolio(candidates, Constraints(k=10), explain=False)
    limit = [b for b in p.binding if b.startswith("at most 1 per province")]
    if loose.chosen.province_code.value_counts().max() > 1:
        assert limit and loose.total_score > p.total_score
    else:
        assert not limit


def test_deterministic_whatever_the_input_order_and_ties_go_to_smaller_ids(candidates):
    frame = candidates[candidates.province_code == "PV25"]
    a = choose_portfolio(frame, Constraints(k=5), explain=False)
    b = choose_portfolio(frame.sample(frac=1, random_state=7), Constraints(k=5), explain=False)
    assert a.chosen.candidate_id.tolist() == b.chosen.candidate_id.tolist()
    twins = frame.head(6).assign(score=0.5, municipality_code=lambda f: f.candidate_id)
    chosen = choose_portfolio(twins.iloc[::-1], Constraints(k=2), explain=False).chosen
    assert sorted(chosen.candidate_id) == sorted(twins.candidate_id)[:2]


def test_uncoverable_group_is_reported_not_infeasible(candidates):
    p = choose_portfolio(candidates[candidates.target_group == "families"], Constraints(k=3, target_groups=GROUPS))
    assert p.covered_groups == ["families"]
    assert p.uncoverable_groups == ["single_adults", "amv", "permit_holders"]
    assert any("'amv' could not be covered" in line for line in p.lines())


def test_infeasible_constraints_are_named(candidates):
    with pytest.raises(InputError, match=r"needs 4 locations but k = 2"):
        choose_portfolio(candidates, Constraints(k=2, target_groups=GROUPS))
    smallest = int(candidates.capacity.min())
    with pytest.raises(
        InputError, match=rf"smallest eligible candidate has {smallest} places, more than the max total"
    ):
        choose_portfolio(candidates, Constraints(k=3, max_total_capacity=smallest - 1, target_groups=("amv",)))
    # each group alone fits, both together do not: the capacity limit is named with what coverage needs
    with pytest.raises(
        InputError, match=rf"within max total capacity {2 * smallest - 1} \(covering them needs at least"
    ):
        choose_portfolio(candidates, Constraints(k=3, max_total_capacity=2 * smallest - 1, target_groups=GROUPS[:2]))
    one = candidates[candidates.municipality_code == "GM0505"]
    with pytest.raises(InputError, match="one per municipality"):
        choose_portfolio(one, Constraints(k=3, target_groups=("amv", "families")))


def test_bad_candidates_and_constraints_are_clear_errors(candidates):
    with pytest.raises(InputError, match="lack the column"):
        choose_portfolio(candidates.drop(columns="score"))
    with pytest.raises(InputError, match="occurs more than once"):
        choose_portfolio(pd.concat([candidates.head(2), candidates.head(1)]))
    with pytest.raises(InputError, match="score must be a finite number"):
        choose_portfolio(candidates.head(3).assign(score=[0.1, np.nan, 0.2]))
    with pytest.raises(InputError, match="k must be a whole number of at least 1"):
        choose_portfolio(candidates, Constraints(k=0))
    with pytest.raises(InputError, match="max per province must be"):
        choose_portfolio(candidates, Constraints(max_per_province=0))


def test_compare_two_scenarios(candidates):
    a = choose_portfolio(candidates, Constraints(k=6, target_groups=("families",)), explain=False)
    b = choose_portfolio(candidates, Constraints(k=6, max_per_province=1), explain=False)
    cmp = compare_portfolios(a, b)
    assert set(cmp.only_a.candidate_id) == set(a.chosen.candidate_id) - set(b.chosen.candidate_id)
    assert set(cmp.only_b.candidate_id) == set(b.chosen.candidate_id) - set(a.chosen.candidate_id)
    assert cmp.per_province.places_change.sum() == b.total_capacity - a.total_capacity
    assert cmp.per_province.gap_closed_change.sum() == int(b.chosen.gap_closed.sum() - a.chosen.gap_closed.sum())
    assert len(cmp.lines()) > 4


def test_cli_pilots_and_compare(demo_settings, tmp_path, unchanged):
    env = _env(demo_settings, tmp_path)
    out = opvangmatch(
        ["pilots", "--k", "3", "--profile", "families", "--max-per-province", "1", "--candidates", "provisional"], env
    )
    assert out.returncode == 0, out.stderr
    assert "provisional candidates" in out.stderr
    assert "3 of at most 3 locations chosen" in out.stdout and "per province:" in out.stdout
    assert "of gap" in out.stdout
    bad = opvangmatch(["pilots", "--k", "1", "--target-groups", "families,amv", "--candidates", "provisional"], env)
    assert bad.returncode == 2 and "needs 2 locations but k = 1" in bad.stderr and "Traceback" not in bad.stderr
    cmp = opvangmatch(
        ["pilots-compare", "profile=families,k=3", "profile=amv,k=3,max-per-province=1", "--candidates", "provisional"],
        env,
    )
    assert cmp.returncode == 0, cmp.stderr
    assert "only in profile=families,k=3" in cmp.stdout
    wrong = opvangmatch(["pilots-compare", "k=3", "colour=red"], env)
    assert wrong.returncode == 2 and "'colour=red' is not one of" in wrong.stderr
    scored = opvangmatch(["pilots", "--k", "3", "--candidates", "scored"], env)
    if scored.returncode == 0:  # runs stored by the scoring tests: the portfolio uses the scored buildings
        assert "scored buildings from the latest score runs" in scored.stderr
    else:
        assert "no stored score runs" in scored.stderr
