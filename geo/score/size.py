"""Size rules of score model v2: the preference curve over capacity and the task credit in absolute places.

Both are pure array functions of the capacity; :func:`geo.score.grade.grade` applies them.

>>> from geo.score.profile import load_profile
>>> families = load_profile("families")
>>> size_fit(np.array([10, 30, 60, 100, 150]), families).round(2).tolist()
[0.2, 1.0, 1.0, 1.0, 0.6]
>>> task_credit(np.array([12, 40]), np.array([60.0, 60.0]), families).round(3).tolist()
[0.2, 0.667]
"""

from __future__ import annotations

import numpy as np

from geo.score.profile import Profile


def size_fit(capacity: np.ndarray, profile: Profile) -> np.ndarray:
    """The profile's preference curve at each capacity: 1 inside the preferred band, linear to the curve's ends at
    the profile's minimum and maximum, held beyond them (capacities outside min..max are flagged elsewhere)."""
    xs, ys = profile.size.points(profile.min_places, profile.max_places)
    return np.interp(np.asarray(capacity, dtype=float), xs, ys)


def task_reference(gap: np.ndarray, profile: Profile) -> np.ndarray:
    """The places a location is measured against: the gap, or the profile's preferred size (the band's upper end)
    where the gap is larger. NaN where the gap is unknown, 0 where nothing is left to close."""
    gap = np.asarray(gap, dtype=float)
    return np.minimum(np.maximum(gap, 0.0), profile.size.high)


def task_credit(capacity: np.ndarray, gap: np.ndarray, profile: Profile) -> np.ndarray:
    """Task credit: the absolute places of the gap a location closes, min(C, gap), relative to
    :func:`task_reference` (1 when it closes the whole gap or a preferred-size share of a larger one; 0 when no gap
    is left or the gap is unknown)."""
    capacity = np.asarray(capacity, dtype=float)
    gap = np.asarray(gap, dtype=float)
    known = np.isfinite(gap)
    closes = np.where(known, np.minimum(capacity, np.maximum(gap, 0.0)), np.nan)
    reference = task_reference(gap, profile)
    usable = known & (reference > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(usable, np.minimum(closes / np.where(usable, reference, 1.0), 1.0), 0.0)
