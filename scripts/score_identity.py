"""Before/after check for performance work on the scoring engine (not a test): do the scores stay the same?

``save`` scores the candidates of a municipality (default Doesburg, GM0221) with every shipped profile and writes
the frames to a file; ``compare`` says, per profile, whether two such files are equal row by row and column by
column (exact: values, NaN, dtypes, column order). Run ``save`` on the code before the change and after it (e.g.
in two worktrees) against the same database with the demo data, then ``compare``.

    DATABASE_URL=... .venv/bin/python scripts/score_identity.py save before.pkl [--municipality GM0221]
    .venv/bin/python scripts/score_identity.py compare before.pkl after.pkl
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import pandas as pd


def save(path: Path, municipality: str) -> None:
    from geo.db import prepare_database
    from geo.score import ScoringData, available_profiles, load_profile, score_candidates
    from geo.settings import Settings

    engine = prepare_database(Settings.from_env())
    data = ScoringData.load(engine)
    frames = {}
    for name in available_profiles():
        frames[name] = score_candidates(engine, load_profile(name), data, municipality=municipality).frame
        ranked = int((frames[name]["rank"] > 0).sum())
        print(f"{name}: {len(frames[name]):,} candidates, {ranked:,} ranked, {frames[name].shape[1]} columns")
    path.write_bytes(pickle.dumps(frames))


def compare(before: Path, after: Path) -> bool:
    old, new = pickle.loads(before.read_bytes()), pickle.loads(after.read_bytes())
    same = set(old) == set(new)
    if not same:
        print(f"profiles differ: {sorted(old)} against {sorted(new)}")
    for name in sorted(set(old) & set(new)):
        try:
            pd.testing.assert_frame_equal(old[name], new[name], check_exact=True)
            print(f"{name}: {len(old[name]):,} rows x {old[name].shape[1]} columns equal row by row")
        except AssertionError as difference:
            same = False
            print(f"{name}: DIFFERENT\n{difference}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    saving = commands.add_parser("save")
    saving.add_argument("path", type=Path)
    saving.add_argument("--municipality", default="GM0221")
    comparing = commands.add_parser("compare")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        save(args.path, args.municipality)
    else:
        sys.exit(0 if compare(args.before, args.after) else 1)


if __name__ == "__main__":
    main()
