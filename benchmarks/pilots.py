"""Benchmark (not a test): the pilot portfolio over 10,000 SYNTHETIC candidates with k = 10.

The candidates are random numbers, clearly not data: 342 municipality codes in 12 provinces, four target groups,
capacities 20-150, scores uniform in [0, 1] on the 1e-6 grid. Seeded, so every run solves the same instance.

    .venv/bin/python benchmarks/pilots.py [--n 10000] [--k 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from geo.pilots.portfolio import Constraints, choose_portfolio


def synthetic_candidates(n: int, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    municipality = rng.integers(0, 342, n)
    capacity = rng.integers(20, 151, n)
    return pd.DataFrame(
        {
            "candidate_id": [f"SYN{i:06d}" for i in range(n)],
            "municipality_code": [f"GMX{m:03d}" for m in municipality],
            "province_code": [f"PVX{m % 12:02d}" for m in municipality],
            "target_group": rng.choice(["families", "single_adults", "amv", "permit_holders"], n),
            "capacity": capacity,
            "score": np.round(rng.random(n), 6),
            "gap_closed": np.minimum(capacity, rng.integers(0, 200, n)),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame = synthetic_candidates(args.n)
    scenarios = {
        "k only": Constraints(k=args.k),
        "k, 2 per province, 50-1200 places, 4 groups": Constraints(
            k=args.k,
            max_per_province=2,
            min_capacity=50,
            max_total_capacity=1_200,
            target_groups=("families", "single_adults", "amv", "permit_holders"),
        ),
    }
    print(f"synthetic candidates: {len(frame):,} (random, not data), k = {args.k}")
    for name, constraints in scenarios.items():
        for explain in (False, True):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                portfolio = choose_portfolio(frame, constraints, explain=explain)
                times.append(time.perf_counter() - start)
            print(
                f"{name:<46} explain={explain!s:<5} best {min(times):6.2f} s  median {np.median(times):6.2f} s  "
                f"score {portfolio.total_score:.6f}  places {portfolio.total_capacity}"
            )


if __name__ == "__main__":
    main()
