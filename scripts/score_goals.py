"""Print the ranking goals of issue 14 (README "Score model v2") for one profile and scope, on the database of
DATABASE_URL (or the managed one), e.g. the demo:

    .venv/bin/python scripts/score_goals.py --profile families --municipality GM0221
    .venv/bin/python scripts/score_goals.py --units tests/fixtures/constructed_doesburg_units.csv   # CONSTRUCTED uses

With ``--units`` the verblijfsobjecten file is loaded for the measurement and unloaded afterwards.
"""

from __future__ import annotations

import argparse
import json

from geo.db import prepare_database
from geo.io import load, unload
from geo.score import load_profile, score_candidates
from geo.score.goals import goals_table, ranking_goals
from geo.settings import Settings

SOURCE = "residences:score_goals"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="families")
    parser.add_argument("--municipality", default="GM0221")
    parser.add_argument("--units", help="verblijfsobjecten to load for the measurement (unloaded afterwards)")
    parser.add_argument("--top", type=int, default=10, help="also print the top N ids")
    args = parser.parse_args()
    engine = prepare_database(Settings.from_env())
    if args.units:
        load(engine, "residences", args.units, source=SOURCE)
    try:
        result = score_candidates(engine, load_profile(args.profile), municipality=args.municipality)
    finally:
        if args.units:
            unload(engine, SOURCE)
    figures = ranking_goals(result)
    print(json.dumps(figures))
    print(goals_table({"this code": figures}).to_string())
    ranked = result.frame[result.frame["rank"] > 0].sort_values("rank").head(args.top)
    print(ranked[["rank", "id", "capacity", "total"]].to_string(index=False))


if __name__ == "__main__":
    main()
