"""Write data/cbs/gemeentenaam_aliassen.csv: the alias table of geo.names for the shipped CBS names (data/SOURCES.md).

Run from the repository root: .venv/bin/python scripts/derive_municipality_aliases.py
"""

from __future__ import annotations

import json

from geo.names import aliases
from geo.settings import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "data" / "cbs" / "gemeenten_2024_kwb.geojson"
TARGET = PROJECT_ROOT / "data" / "cbs" / "gemeentenaam_aliassen.csv"


def shipped_names() -> dict[str, str]:
    """Code -> name of the shipped CBS municipalities (GM0998 'Buitenland' included, as in the file)."""
    features = json.loads(SOURCE.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["gemeentecode"]: f["properties"]["gemeentenaam"] for f in features}


if __name__ == "__main__":
    table = aliases(shipped_names())
    table.to_csv(TARGET, index=False, lineterminator="\n")
    print(f"wrote {len(table)} aliases to {TARGET}")
