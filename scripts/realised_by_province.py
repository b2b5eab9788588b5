"""Realised places per province, beside the shipped provincial and national figures.

Run from the repository root with DATABASE_URL set: .venv/bin/python scripts/realised_by_province.py
(the closing note of issue 19 also ran it on the code before the change, from an export of that commit).
"""

from pathlib import Path

import pandas as pd

import geo
from geo.db import make_engine
from geo.settings import Settings
from geo.task import placement_tasks

DATA = Path(geo.__file__).resolve().parent.parent / "data" / "spreidingswet"


def main() -> None:
    tasks = placement_tasks(make_engine(Settings.from_env()), "2024")
    prov = tasks[tasks.level == "province"].set_index("region_code")
    shipped = pd.read_csv(DATA / "realisatie_provinciale_plannen_2024_2025.csv", dtype=str)
    figures = shipped.groupby("provincie")[["indicator", "waarde", "peildatum_of_bericht"]].apply(
        lambda g: "; ".join(f"{r.indicator} {r.waarde} ({r.peildatum_of_bericht})" for r in g.itertuples())
    )
    out = pd.DataFrame({"province": prov.name, "required": prov.required, "realised": prov.realised})
    if "undated" in prov:
        out["undated"] = prov.undated
    if "realised_coverage" in prov:
        out["covered"] = prov.realised_coverage.map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
    out["shipped provincial figures"] = prov.name.map(figures).fillna("-")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 120)
    print("code:", geo.__file__)
    print(out.to_string())
    national = pd.read_csv(DATA / "capaciteitsraming_2026.csv", dtype=str).set_index("indicator")
    print(
        f"total realised {int(prov.realised.sum()):,}; national (capaciteitsraming {national.source_date.iloc[0]}): "
        f"available ~{int(national.waarde['meerjarig_beschikbaar_ca']):,}, "
        f"to realise ~{int(national.waarde['nog_te_realiseren_ca']):,}"
    )


if __name__ == "__main__":
    main()
