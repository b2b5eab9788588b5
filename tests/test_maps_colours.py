"""Colour classes of the maps: colour-blind safe (checked numerically) and class breaks that show differences."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from geo.maps import colours
from geo.maps.candidates import score_classes
from geo.maps.overview import classify, overview_classes

PALETTES = {"score": colours.SCORE_COLOURS, "gap": colours.GAP_COLOURS, "share": colours.SHARE_COLOURS}
# the palettes before issue 15 (ColorBrewer RdYlGn / YlOrRd): the issue measured 6.2 and 3.9 under simulation
OLD = {
    "score": ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"],
    "share": ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#66bd63", "#1a9641"],
}


def test_simulation_matches_machado_2009():
    """White and black stay; each matrix is the published one (rows sum to 1); known images of pure colours."""
    for vision, matrix in colours.MACHADO.items():
        assert np.allclose(matrix.sum(axis=1), 1.0, atol=1e-3), vision
        for grey in ([0, 0, 0], [1, 1, 1]):
            assert np.allclose(colours.simulate(np.array([grey]), vision), [grey], atol=2e-3)
    # red under protanopia: linear (0.152286, 0.114503, -0.003882) -> sRGB
    assert np.allclose(colours.simulate(np.array([[1.0, 0, 0]]), "protanopia"), [[0.4266, 0.3727, 0.0]], atol=1e-3)
    # the two defects the issue reported, reproduced by this simulation and ΔE76
    assert colours.all_pairs_delta_e(OLD["score"])["deuteranopia"] == pytest.approx(6.2, abs=0.1)
    assert colours.all_pairs_delta_e(OLD["share"])["protanopia"] == pytest.approx(3.9, abs=0.1)


def test_lab_and_delta_e():
    lab = colours.to_lab(colours.hex_to_rgb(["#ffffff", "#000000", "#ff0000"]))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.01) and np.allclose(lab[1], [0, 0, 0], atol=0.01)
    assert np.allclose(lab[2], [53.24, 80.09, 67.20], atol=0.05)  # sRGB red in CIELAB D65 (Lindbloom)


@pytest.mark.parametrize("name", PALETTES)
def test_palettes_are_colour_blind_safe(name):
    """Adjacent classes (and every other pair, and the grey of no data/excluded) at least ΔE76 10 apart, for
    normal vision and simulated deuteranopia, protanopia and tritanopia."""
    palette = PALETTES[name]
    for vision, value in colours.min_adjacent_delta_e(palette).items():
        assert value >= 10, (name, vision, value)
    for vision, value in colours.all_pairs_delta_e(palette).items():
        assert value >= 10, (name, vision, value)
    grey = colours.EXCLUDED if name == "score" else colours.NODATA
    for vision in colours.VISIONS:
        seen = colours.simulate(colours.hex_to_rgb([*palette, grey]), vision)
        assert colours.delta_e76(seen[:-1], np.repeat(seen[-1:], len(palette), axis=0)).min() >= 10, (name, vision)


def test_old_palettes_fail_the_check():
    assert min(colours.all_pairs_delta_e(OLD["score"]).values()) < 10
    assert min(colours.all_pairs_delta_e(OLD["share"]).values()) < 10


def test_gap_classes_show_differences():
    """Quintiles of the positive gaps: no class holds most municipalities (before: 292 of 342 in '> 5')."""
    rng = np.random.default_rng(1)
    gaps = np.concatenate([rng.normal(5.4, 0.4, 300), [-1.0, 0.0, np.nan]])
    measures = pd.DataFrame({"gap_per_1000": gaps})
    classes = overview_classes(measures, "gap_per_1000", "nl")
    shown = pd.Series([classify(v, classes) for v in gaps]).value_counts()
    assert shown.max() <= 0.25 * len(gaps)
    assert classify(-1.0, classes) == classify(0.0, classes) == colours.GAP_COLOURS[0]
    assert classify(np.nan, classes) == colours.NODATA
    assert classes["labels"][0] == "<= 0" and "," in classes["labels"][1]  # Dutch decimals


def test_share_classes_are_documented_breaks():
    classes = overview_classes(pd.DataFrame({"share_realised": [0.0]}), "share_realised", "nl")
    assert [s[0] for s in classes["steps"]][:-1] == [0.0, 0.1, 0.25, 0.5, 0.999999]
    assert classify(0.0, classes) != classify(0.05, classes) != classify(1.0, classes)
    assert classes["labels"][0].startswith("0 %")


def test_score_classes_split_the_candidates_on_the_map():
    totals = np.linspace(0.80, 0.99, 100)
    classes = score_classes(totals, "en")
    counts = pd.Series([classify(v, classes) for v in totals]).value_counts()
    assert len(counts) == 5 and counts.max() <= 25
    assert score_classes([0.9, 0.9], "en")["steps"][0][0] == 0.5  # too few distinct scores: documented breaks


def test_municipality_codes_repeat_and_comma_lists():
    from geo.errors import InputError
    from geo.maps.region import municipality_codes

    assert municipality_codes(None) == []
    assert municipality_codes("GM0505") == ["GM0505"]
    assert municipality_codes(["GM0505", "GM0590,GM0642", "GM0505"]) == ["GM0505", "GM0590", "GM0642"]
    with pytest.raises(InputError, match="empty municipality code"):
        municipality_codes("GM0505,,GM0590")


def test_cli_region_map_of_several_municipalities(demo_settings, tmp_path):
    """``--municipality`` repeated and as a comma list: every one is on the map (before: the last one only)."""
    from tests.helpers import cli_env, opvangmatch

    env = cli_env(demo_settings, tmp_path)
    out = tmp_path / "drecht.html"
    args = ["map", "region", "--province", "PV28", "--municipality", "GM0505", "--municipality", "GM0590,GM0642"]
    run = opvangmatch([*args, "--tiles", "none", "--out", str(out)], env)
    assert run.returncode == 0, run.stderr
    title = re.search(r"<title>(.*?)</title>", out.read_text(encoding="utf-8")).group(1)
    assert all(name in title for name in ("Dordrecht", "Papendrecht", "Zwijndrecht")), title
    bad = opvangmatch([*args[:4], "GM0221", "--out", str(tmp_path / "x.html")], env)
    assert bad.returncode != 0 and "GM0221" in bad.stderr + bad.stdout and "Traceback" not in bad.stderr
