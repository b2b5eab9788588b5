"""The pilot portfolio: choose up to k candidate locations that maximise the total score, as an integer programme.

Constraints: at most ``k`` locations; at most one per municipality; at most ``max_per_province`` per province;
every location at least ``min_capacity`` places; together at most ``max_total_capacity`` places; and each chosen
target group covered by at least one location *where candidates allow* -- a group without any eligible candidate
is reported as not coverable instead of making the programme infeasible.

Solved with HiGHS (``highspy``) in two steps, both exact on integers: (1) the best total score, with scores
rounded to :data:`SCORE_RESOLUTION`; (2) among the portfolios with that score, the one with the smallest sum of
candidate ranks (candidates sorted by ``candidate_id``), so ties go to the smaller ids. The model is built from
the candidates sorted by id, so the input order never changes the answer; the rare portfolios equal in both score
and rank sum are told apart by HiGHS itself, which returns the same one for the same model (one thread, fixed seed).

Examples
--------
>>> portfolio = choose_portfolio(candidates, Constraints(k=10, max_per_province=2))  # doctest: +SKIP
>>> print("\\n".join(portfolio.lines()))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import pandas as pd
from scipy import sparse

from geo.errors import InputError, SolverError

CANDIDATE_COLUMNS = (
    "candidate_id",
    "municipality_code",
    "province_code",
    "target_group",
    "capacity",
    "score",
    "gap_closed",
)
SCORE_RESOLUTION = 1e-6
"""Scores are compared in steps of this size: portfolios whose totals differ by less are ties."""


@dataclass(frozen=True)
class Constraints:
    """The limits of a portfolio. ``None`` means no limit."""

    k: int = 10
    max_per_province: int | None = None
    min_capacity: int | None = None
    max_total_capacity: int | None = None
    target_groups: tuple[str, ...] = ()
    one_per_municipality: bool = True

    def check(self) -> None:
        if isinstance(self.k, bool) or int(self.k) != self.k or self.k < 1:
            raise InputError(f"k must be a whole number of at least 1, got {self.k!r}")
        for name in ("max_per_province", "min_capacity", "max_total_capacity"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < (1 if name == "max_per_province" else 0)):
                low = 1 if name == "max_per_province" else 0
                raise InputError(f"{name.replace('_', ' ')} must be a whole number of at least {low}, got {value!r}")


@dataclass
class Portfolio:
    """A chosen portfolio and why: the chosen rows, totals, binding constraints, coverage, per-province totals."""

    chosen: pd.DataFrame
    constraints: Constraints
    total_score: float
    total_capacity: int
    binding: list[str] = field(default_factory=list)
    covered_groups: list[str] = field(default_factory=list)
    uncoverable_groups: list[str] = field(default_factory=list)
    per_province: pd.DataFrame = field(default_factory=pd.DataFrame)
    candidates: int = 0
    eligible: int = 0

    def lines(self) -> list[str]:
        """A readable report for the command line."""
        c = self.constraints
        out = [
            f"{len(self.chosen)} of at most {c.k} locations chosen from {self.eligible:,} eligible "
            f"({self.candidates:,} candidates); total score {self.total_score:.4f}, {self.total_capacity:,} places",
        ]
        for row in self.chosen.itertuples():
            out.append(
                f"  {row.candidate_id}  {row.municipality_code} {row.province_code}  {row.target_group:<15} "
                f"{int(row.capacity):>5} places  {row.reason}"
            )
        if c.target_groups:
            out.append("target groups covered: " + (", ".join(self.covered_groups) or "none"))
        for group in self.uncoverable_groups:
            out.append(f"target group {group!r} could not be covered: no eligible candidate serves it")
        out.append("binding constraints: " + ("; ".join(self.binding) if self.binding else "none"))
        if not self.per_province.empty:
            out.append("per province:")
            for row in self.per_province.itertuples():
                text = f"  {row.province_code}  {row.locations} location(s)  {row.places:>6,} places"
                text += f"  gap closed {row.gap_closed:,}"
                if "gap" in self.per_province and pd.notna(row.gap):
                    text += f"  of gap {int(row.gap):,} (left {int(row.gap_left):,})"
                out.append(text)
        return out


def _validated(candidates: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise InputError(f"candidates lack the column(s) {', '.join(missing)}; need {', '.join(CANDIDATE_COLUMNS)}")
    frame = candidates.copy()
    frame["candidate_id"] = frame.candidate_id.astype(str)
    dup = frame.candidate_id.duplicated()
    if dup.any():
        raise InputError(f"candidate_id {frame.candidate_id[dup].iloc[0]!r} occurs more than once")
    for column in ("capacity", "score", "gap_closed"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(float))
        if bad.any():
            row = frame.candidate_id[bad].iloc[0]
            raise InputError(f"candidate {row!r}: {column} must be a finite number, got {frame[column][bad].iloc[0]!r}")
        frame[column] = values
    low = frame.capacity < 1
    if low.any():
        raise InputError(f"candidate {frame.candidate_id[low].iloc[0]!r}: capacity must be at least 1 place")
    if (frame.capacity != frame.capacity.round()).any():
        raise InputError("capacity must be a whole number of places")
    for column in ("municipality_code", "province_code", "target_group"):
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if empty.any():
            raise InputError(f"candidate {frame.candidate_id[empty].iloc[0]!r}: {column} is empty")
        frame[column] = frame[column].astype(str)
    frame["capacity"] = frame.capacity.astype(np.int64)
    return frame.sort_values("candidate_id", kind="stable").reset_index(drop=True)


@dataclass
class _Row:
    family: str
    name: str
    members: np.ndarray
    coefficients: np.ndarray
    lower: float
    upper: float


def _rows(frame: pd.DataFrame, c: Constraints, cover: list[str], skip: str | None = None) -> list[_Row]:
    """The constraints of the programme, as rows over the eligible candidates; ``skip`` leaves a family out."""
    n = len(frame)
    ones = np.ones(n)
    everyone = np.arange(n)
    rows: list[_Row] = []
    if skip != "k":
        rows.append(_Row("k", f"at most k = {c.k} locations", everyone, ones, -np.inf, c.k))
    if c.one_per_municipality and skip != "municipality":
        for code, idx in frame.groupby("municipality_code").indices.items():
            if len(idx) > 1:
                rows.append(_Row("municipality", f"one per municipality ({code})", idx, ones[idx], -np.inf, 1))
    if c.max_per_province is not None and skip != "province":
        for code, idx in frame.groupby("province_code").indices.items():
            if len(idx) > c.max_per_province:
                rows.append(
                    _Row(
                        "province",
                        f"at most {c.max_per_province} in {code}",
                        idx,
                        ones[idx],
                        -np.inf,
                        c.max_per_province,
                    )
                )
    if c.max_total_capacity is not None and skip != "capacity":
        rows.append(
            _Row(
                "capacity",
                f"at most {c.max_total_capacity:,} places in total",
                everyone,
                frame.capacity.to_numpy(float),
                -np.inf,
                c.max_total_capacity,
            )
        )
    if skip != "cover":
        for group in cover:
            idx = np.flatnonzero(frame.target_group.to_numpy() == group)
            rows.append(_Row("cover", f"cover target group {group}", idx, ones[idx], 1, np.inf))
    return rows


def _solve(n: int, rows: list[_Row], objective: np.ndarray, *, maximise: bool, extra: _Row | None = None):
    """Solve a binary programme; returns the 0/1 vector, or None when infeasible."""
    if n == 0:
        feasible = all(r.lower <= 0 <= r.upper for r in rows) and (extra is None or extra.lower <= 0)
        return np.zeros(0, dtype=bool) if feasible else None
    rows = [*rows, extra] if extra is not None else rows
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = objective.astype(float)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.array([r.lower for r in rows], dtype=float)
    lp.row_upper_ = np.array([r.upper for r in rows], dtype=float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    if rows:
        r = np.concatenate([np.full(len(row.members), i) for i, row in enumerate(rows)])
        cols = np.concatenate([row.members for row in rows])
        vals = np.concatenate([row.coefficients for row in rows])
        matrix = sparse.csc_matrix((vals, (r, cols)), shape=(len(rows), n))
    else:
        matrix = sparse.csc_matrix((0, n))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h = _quiet_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.5)  # the objectives are integers: a gap under 1 is optimal
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"the solver stopped without an optimum: {h.modelStatusToString(status)}")
    return np.round(np.asarray(h.getSolution().col_value)).astype(bool)


def _quiet_highs() -> highspy.Highs:
    """A HiGHS instance that prints nothing (HiGHS writes a banner to file descriptor 1 on construction)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return h


def _best(frame: pd.DataFrame, rows: list[_Row], *, tie_break: bool = True) -> tuple[np.ndarray | None, int]:
    """Step 1 (best integer score) and step 2 (smallest rank sum among the best). Returns (chosen, score)."""
    n = len(frame)
    scores = np.round(frame.score.to_numpy(float) / SCORE_RESOLUTION).astype(np.int64)
    if len(rows) == 1 and rows[0].family == "k":
        # only "at most k": the k best positive scores, ties to the smaller ranks (exact; HiGHS is slow on this)
        order = np.lexsort((np.arange(n), -scores))
        top = [i for i in order[: int(rows[0].upper)] if scores[i] > 0]
        chosen = np.zeros(n, dtype=bool)
        chosen[top] = True
        return chosen, int(scores[chosen].sum())
    first = _solve(n, rows, scores, maximise=True)
    if first is None:
        return None, 0
    best = int(scores[first].sum())
    if not tie_break:
        return first, best
    keep = _Row("objective", "best score", np.arange(n), scores.astype(float), best - 0.5, np.inf)
    second = _solve(n, rows, np.arange(n, dtype=float), maximise=False, extra=keep)
    return (second if second is not None else first), best


def choose_portfolio(
    candidates: pd.DataFrame,
    constraints: Constraints = Constraints(),
    *,
    gaps: pd.Series | None = None,
    explain: bool = True,
) -> Portfolio:
    """Choose the portfolio of highest total score under ``constraints``.

    Parameters
    ----------
    candidates : one row per candidate with the columns :data:`CANDIDATE_COLUMNS`.
    constraints : the limits; see :class:`Constraints`.
    gaps : optional remaining gap per province code (e.g. from :func:`geo.task.placement_tasks`), shown in the
        per-province totals.
    explain : also find which constraints cost score (one extra solve per constraint family).

    Raises
    ------
    InputError : bad candidates or constraints, or no portfolio meets the constraints (the message names the
        constraint that cannot be met).
    """
    constraints.check()
    c = constraints
    frame = _validated(candidates)
    eligible = frame if c.min_capacity is None else frame[frame.capacity >= c.min_capacity]
    eligible = eligible.reset_index(drop=True)
    groups = list(dict.fromkeys(c.target_groups))
    cover = [g for g in groups if (eligible.target_group == g).any()]
    uncoverable = [g for g in groups if g not in cover]
    rows = _rows(eligible, c, cover)
    chosen, best = _best(eligible, rows)
    if chosen is None:
        raise InputError(_infeasible_message(eligible, c, cover))

    picked = eligible[chosen].copy()
    binding = _binding(eligible, frame, c, cover, rows, chosen, best) if explain else []
    covered = [g for g in groups if (picked.target_group == g).any()]
    picked["reason"] = [
        f"score {s:.4f}, closes {int(g):,} places of the gap"
        + (f", only location for {t}" if t in cover and (picked.target_group == t).sum() == 1 else "")
        for s, g, t in zip(picked.score, picked.gap_closed, picked.target_group, strict=True)
    ]
    picked = picked.sort_values(["score", "candidate_id"], ascending=[False, True]).reset_index(drop=True)
    return Portfolio(
        chosen=picked,
        constraints=c,
        total_score=float(picked.score.sum()),
        total_capacity=int(picked.capacity.sum()),
        binding=binding,
        covered_groups=covered,
        uncoverable_groups=uncoverable,
        per_province=province_totals(picked, gaps),
        candidates=len(frame),
        eligible=len(eligible),
    )


def province_totals(chosen: pd.DataFrame, gaps: pd.Series | None = None) -> pd.DataFrame:
    """Locations, places and gap closed per province, and (with ``gaps``) the gap and what is left of it."""
    out = (
        chosen.groupby("province_code", sort=True)
        .agg(locations=("candidate_id", "size"), places=("capacity", "sum"), gap_closed=("gap_closed", "sum"))
        .reset_index()
    )
    out["gap_closed"] = out.gap_closed.round().astype(np.int64)
    if gaps is not None:
        out["gap"] = out.province_code.map(gaps)
        out["gap_left"] = out.gap - out.places
    return out


def _binding(eligible, frame, c: Constraints, cover, rows, chosen, best) -> list[str]:
    """Constraints at their limit, and those whose removal would raise the total score (and by how much)."""
    out = []
    n_chosen = int(chosen.sum())
    for family, text, relaxed in (
        ("k", f"k = {c.k} (all {c.k} slots used)" if n_chosen == c.k else None, replace(c, k=len(eligible) or 1)),
        ("municipality", None, replace(c, one_per_municipality=False)),
        ("province", None, replace(c, max_per_province=None)),
        ("capacity", None, replace(c, max_total_capacity=None)),
        ("cover", None, None),
        ("min_capacity", None, replace(c, min_capacity=None)),
    ):
        if family == "min_capacity":
            if c.min_capacity is None or len(frame) == len(eligible):
                continue
            pool = frame.reset_index(drop=True)
            trial_rows = _rows(pool, relaxed, [g for g in c.target_groups if (pool.target_group == g).any()])
        else:
            present = [r for r in rows if r.family == family]
            if not present:
                continue
            pool = eligible
            trial_rows = [r for r in rows if r.family != family]
        trial, trial_best = _best(pool, trial_rows, tie_break=False)
        gain = (trial_best - best) * SCORE_RESOLUTION if trial is not None else 0.0
        tight = [r.name for r in rows if r.family == family and _at_limit(r, chosen)]
        if gain > SCORE_RESOLUTION / 2:
            label = _family_label(family, c, cover, tight)
            out.append(f"{label}: relaxing it would raise the total score by {gain:.4f}")
        elif text:
            out.append(text + ", but relaxing it would not raise the score")
    return out


def _family_label(family: str, c: Constraints, cover: list[str], tight: list[str]) -> str:
    if family == "k":
        return f"k = {c.k}"
    if family == "municipality":
        return "one per municipality (" + ", ".join(t.split("(")[1][:-1] for t in tight) + ")"
    if family == "province":
        where = " (" + ", ".join(t.rsplit(" ", 1)[1] for t in tight) + ")" if tight else ""
        return f"at most {c.max_per_province} per province{where}"
    if family == "capacity":
        return f"max total capacity {c.max_total_capacity:,}"
    if family == "cover":
        return "target-group coverage (" + ", ".join(cover) + ")"
    return f"min capacity {c.min_capacity}"


def _at_limit(row: _Row, chosen: np.ndarray) -> bool:
    value = float(row.coefficients @ chosen[row.members])
    return (np.isfinite(row.upper) and value >= row.upper - 1e-9) or (np.isfinite(row.lower) and value <= row.lower)


def _infeasible_message(eligible: pd.DataFrame, c: Constraints, cover: list[str]) -> str:
    """Name the constraint that makes the programme infeasible (only coverage can: without it, nothing is chosen)."""
    head = "no portfolio meets the constraints: "
    if len(cover) > c.k:
        return head + f"covering the target groups {', '.join(cover)} needs {len(cover)} locations but k = {c.k}"
    for group in cover:
        alone = _rows(eligible, c, [group])
        if _solve(len(eligible), alone, np.zeros(len(eligible)), maximise=True) is None:
            smallest = int(eligible.capacity[eligible.target_group == group].min())
            return head + (
                f"target group {group!r} cannot be covered: its smallest eligible candidate has {smallest:,} places, "
                f"more than the max total capacity {c.max_total_capacity:,}"
            )
    culprits = []
    for family, label in (
        ("k", f"k = {c.k}"),
        ("capacity", f"max total capacity {c.max_total_capacity}"),
        ("province", f"at most {c.max_per_province} per province"),
        ("municipality", "one per municipality"),
    ):
        relaxed = _rows(eligible, c, cover, skip=family)
        if _solve(len(eligible), relaxed, np.zeros(len(eligible)), maximise=True) is not None:
            extra = ""
            if family == "capacity":
                need = _solve(len(eligible), relaxed, eligible.capacity.to_numpy(float), maximise=False)
                extra = f" (covering them needs at least {int(eligible.capacity[need].sum()):,} places)"
            culprits.append(label + extra)
    groups = ", ".join(cover)
    if culprits:
        return head + f"the target groups {groups} cannot all be covered within " + " or within ".join(culprits)
    return head + f"the target groups {groups} cannot all be covered under the combined limits"


@dataclass
class Comparison:
    """Two portfolios side by side."""

    a: Portfolio
    b: Portfolio
    only_a: pd.DataFrame
    only_b: pd.DataFrame
    per_province: pd.DataFrame

    def lines(self, label_a: str = "A", label_b: str = "B") -> list[str]:
        out = [
            f"{label_a}: {len(self.a.chosen)} locations, score {self.a.total_score:.4f}, {self.a.total_capacity:,} "
            f"places, gap closed {int(self.a.chosen.gap_closed.sum()):,}",
            f"{label_b}: {len(self.b.chosen)} locations, score {self.b.total_score:.4f}, {self.b.total_capacity:,} "
            f"places, gap closed {int(self.b.chosen.gap_closed.sum()):,}",
            f"in both: {len(self.a.chosen) - len(self.only_a)}",
        ]
        for label, rows in ((f"only in {label_a}", self.only_a), (f"only in {label_b}", self.only_b)):
            out.append(
                f"{label}: "
                + (", ".join(f"{r.candidate_id} ({r.municipality_code})" for r in rows.itertuples()) or "none")
            )
        out.append("per province (places A -> B, gap closed A -> B):")
        for r in self.per_province.itertuples():
            out.append(
                f"  {r.province_code}  {r.places_a:>6,} -> {r.places_b:<6,} ({r.places_change:+,})   "
                f"{r.gap_closed_a:>6,} -> {r.gap_closed_b:<6,} ({r.gap_closed_change:+,})"
            )
        return out


def compare_portfolios(a: Portfolio, b: Portfolio) -> Comparison:
    """Which locations differ between two portfolios, and the change in places and gap closed per province."""
    ids_a, ids_b = set(a.chosen.candidate_id), set(b.chosen.candidate_id)
    only_a = a.chosen[~a.chosen.candidate_id.isin(ids_b)].reset_index(drop=True)
    only_b = b.chosen[~b.chosen.candidate_id.isin(ids_a)].reset_index(drop=True)
    cols = ["province_code", "places", "gap_closed"]
    merged = pd.merge(
        a.per_province[cols] if not a.per_province.empty else pd.DataFrame(columns=cols),
        b.per_province[cols] if not b.per_province.empty else pd.DataFrame(columns=cols),
        on="province_code",
        how="outer",
        suffixes=("_a", "_b"),
    ).fillna(0)
    for col in ("places", "gap_closed"):
        merged[f"{col}_a"] = merged[f"{col}_a"].astype(np.int64)
        merged[f"{col}_b"] = merged[f"{col}_b"].astype(np.int64)
        merged[f"{col}_change"] = merged[f"{col}_b"] - merged[f"{col}_a"]
    merged = merged.sort_values("province_code").reset_index(drop=True)
    return Comparison(a, b, only_a, only_b, merged)
