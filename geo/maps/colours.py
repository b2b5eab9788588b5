"""Colour classes of the maps, and the check that people with a colour vision deficiency can tell them apart.

Colour vision deficiencies are simulated with Machado, Oliveira & Fernandes (2009), "A physiologically-based model
for simulation of color vision deficiency" (IEEE TVCG 15(6)), severity 1.0 (dichromacy: protanopia, deuteranopia,
tritanopia), applied to linear sRGB as in their paper. Colour differences are CIE76 ΔE in CIELAB (D65).
:func:`min_adjacent_delta_e` is what the tests hold each palette to: adjacent classes at least 10 apart for normal
vision and under each simulation.
"""

from __future__ import annotations

import numpy as np

from geo.maps.labels import number, text

# Machado et al. 2009, Table "severity 1.0" (linear RGB -> linear RGB)
MACHADO = {
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}
VISIONS = ("normal", *MACHADO)
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])

# Sequential palettes (light to dark, yellow-green-blue, ColorBrewer/viridis-like), chosen by the check below.
# Score of a candidate: low (light) to high (dark blue); excluded buildings are grey outlines, not a class.
SCORE_COLOURS = ("#fde725", "#7ad151", "#22a884", "#2a788e", "#414487")
# Gap per 1,000 inhabitants: surplus (<= 0) blue-grey-light, then growing gap light yellow to dark red-purple.
GAP_COLOURS = ("#f7f7f7", "#fee391", "#fdae61", "#e6550d", "#a63603", "#54278f")
# Share of the task realised: none (light) to all (dark green-blue).
SHARE_COLOURS = ("#f7f7f7", "#fee391", "#a1d99b", "#41ab5d", "#2171b5", "#08306b")
NODATA = "#cccccc"
EXCLUDED = "#bdbdbd"


def hex_to_rgb(colours) -> np.ndarray:
    """``['#rrggbb', ...]`` as an (n, 3) array of sRGB values in 0..1."""
    return np.array([[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours], dtype=float)


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _gamma(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def simulate(srgb: np.ndarray, vision: str) -> np.ndarray:
    """sRGB colours (n, 3; 0..1) as seen with ``vision`` (``normal`` or a key of :data:`MACHADO`)."""
    srgb = np.asarray(srgb, dtype=float)
    if vision == "normal":
        return srgb
    return _gamma(_linear(srgb) @ MACHADO[vision].T)


def to_lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB (n, 3; 0..1) to CIELAB (D65)."""
    xyz = _linear(np.asarray(srgb, dtype=float)) @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])])


def delta_e76(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIE76 colour difference of sRGB colours, row by row."""
    return np.linalg.norm(to_lab(a) - to_lab(b), axis=1)


def adjacent_delta_e(colours, vision: str) -> np.ndarray:
    """ΔE76 between each pair of adjacent classes of a palette as seen with ``vision``."""
    seen = simulate(hex_to_rgb(colours), vision)
    return delta_e76(seen[:-1], seen[1:])


def min_adjacent_delta_e(colours) -> dict[str, float]:
    """The smallest adjacent ΔE76 of a palette per vision (normal and the three dichromacies)."""
    return {vision: float(adjacent_delta_e(colours, vision).min()) for vision in VISIONS}


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (by CIELAB lightness)."""
    return "#000000" if to_lab(hex_to_rgb([background]))[0, 0] > 55 else "#ffffff"


def all_pairs_delta_e(colours) -> dict[str, float]:
    """The smallest ΔE76 between any two classes of a palette per vision (a stricter check than adjacent only)."""
    out = {}
    for vision in VISIONS:
        lab = to_lab(simulate(hex_to_rgb(colours), vision))
        distances = np.linalg.norm(lab[:, None, :] - lab[None, :, :], axis=2)
        out[vision] = float(distances[np.triu_indices(len(colours), 1)].min())
    return out


def _label(value: float, digits: int, lang: str, unit: str) -> str:
    return number(value, lang, digits) + unit


def quantile_breaks(values, n: int, digits: int) -> list[float]:
    """Up to ``n - 1`` inner class breaks at the quantiles of ``values`` (finite ones), rounded, without repeats."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    inner = np.quantile(values, np.linspace(0, 1, n + 1)[1:-1])
    breaks = sorted({round(float(b), digits) for b in inner})
    return [b for b in breaks if b < values.max()]


def classes_from_breaks(
    breaks: list[float], colours, *, digits: int, lang: str, unit: str = "", low: float | None = None, nodata=NODATA
) -> dict:
    """Classes ``{"steps": [[upper or None, colour], ...], "nodata", "labels"}`` for ascending inner ``breaks``.

    A value belongs to the first class whose upper bound is >= the value (the same rule as ``classColor`` in the
    page). ``low`` names the lowest value shown in the first label (e.g. 0). Colours are taken spread over the
    palette when there are fewer classes than colours.
    """
    count = len(breaks) + 1
    picks = np.round(np.linspace(0, len(colours) - 1, count)).astype(int) if count > 1 else [len(colours) - 1]
    chosen = [colours[i] for i in picks]
    labels = []
    for i in range(count):
        lower = low if i == 0 else breaks[i - 1]
        upper = breaks[i] if i < len(breaks) else None
        if upper is None and lower is None:
            labels.append(text(lang)["all"])
        elif upper is None:
            labels.append("> " + _label(lower, digits, lang, unit))
        elif lower is None:
            labels.append("<= " + _label(upper, digits, lang, unit))
        else:
            labels.append(f"{_label(lower, digits, lang, '')} - {_label(upper, digits, lang, unit)}")
    steps = [[b, c] for b, c in zip([*breaks, None], chosen, strict=True)]
    return {"steps": steps, "nodata": nodata, "labels": labels}
