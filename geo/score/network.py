"""Network distances in the scoring engine: the categories a profile measures along the walking network.

For those categories, a location within :data:`~geo.network.rules.SNAP_MAX_M` of the network gets the
distance along it (snap distances included) to the nearest service on the network, and the counts within
the radii along it. Everything else falls back to the straight line, never silently:

- a location farther from the network (or no network loaded): straight lines, flag ``outside_network``;
- a location more than :data:`~geo.network.rules.SNAP_FLAG_M` from it: network used, flag ``far_from_network``;
- a service off the network (too far from it) nearer by straight line than any service along the network,
  or no service reachable: the straight line, flag ``straight_line_<category>``; services off the network
  are counted by straight line.

Adds per category ``<category>_kind`` ("network" or "straight") and ``<category>_service_snap_m``, and the
location's ``network_snap_m``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from geo.network.graph import Network, Snap
from geo.network.measure import along
from geo.network.rules import SNAP_FLAG_M, SNAP_MAX_M
from geo.score.measure import RADII, Measures, _nearest_and_counts, measure

NETWORK, STRAIGHT = "network", "straight"


def measure_with_network(data, xy: np.ndarray, categories: list[str] | None, network: tuple[str, ...] = ()) -> Measures:
    """Measure ``xy`` by straight line (:func:`geo.score.measure.measure`), then the categories in ``network``
    along the walking network where it allows (straight line kept and flagged where it does not)."""
    measures = measure(data, xy, categories)
    if network:
        measure_along(data.network, data.services, measures, [c for c in measures.distance if c in network])
    return measures


def snapped_services(network: Network, layer) -> Snap:
    """A service layer's points snapped to the network (once per network and layer)."""
    return network._cached(("services", layer.category, id(layer)), lambda: network.snap(layer.xy))


def measure_along(network: Network | None, services: dict, measures: Measures, categories: list[str]) -> None:
    """Replace the straight-line measures of ``categories`` by network ones where the network allows (in
    place); adds the kind and snap columns and the flags to ``measures``."""
    if not categories:
        return
    xy, n = measures.xy, len(measures)
    loc = network.snap(xy) if network is not None else None
    on = loc.distance <= SNAP_MAX_M if loc is not None else np.zeros(n, dtype=bool)
    measures.extra["network_snap_m"] = np.where(on, loc.distance, np.nan) if loc is not None else np.full(n, np.nan)
    measures.flags["outside_network"] = ~on
    measures.flags["far_from_network"] = on & (loc.distance > SNAP_FLAG_M) if loc is not None else np.zeros(n, bool)
    for category in categories:
        measures.extra[f"{category}_kind"] = np.full(n, STRAIGHT, dtype=object)
        measures.extra[f"{category}_service_snap_m"] = np.full(n, np.nan)
    layers = {c: services[c] for c in categories if services.get(c) is not None}
    if not on.any() or not layers:
        return
    rows = np.flatnonzero(on)
    snaps = {c: snapped_services(network, layer) for c, layer in layers.items()}
    reachable = {c: np.flatnonzero(s.distance <= SNAP_MAX_M) for c, s in snaps.items()}
    results = along(network, loc.take(rows), {c: snaps[c].take(reachable[c]) for c in layers}, RADII)
    for category, layer in layers.items():
        result, kept = results[category], reachable[category]
        distance = result.distance
        nearest = kept[result.nearest] if len(kept) else np.full(len(rows), -1)
        nearest[result.nearest < 0] = -1
        counts = {r: result.within[r].copy() for r in RADII}
        off = np.setdiff1d(np.arange(len(layer.xy)), kept)
        if len(off):  # services off the network: by straight line
            off_distance, off_index, off_counts = _nearest_and_counts(cKDTree(layer.xy[off]), xy[rows])
            use_off = off_distance < distance
            distance = np.where(use_off, off_distance, distance)
            nearest = np.where(use_off, off[off_index], nearest)
            for r in RADII:
                counts[r] += off_counts[r]
        else:
            use_off = np.zeros(len(rows), dtype=bool)
        fallback = ~np.isfinite(distance)  # nothing on the network reachable, nothing off it: keep straight
        by_network = ~use_off & ~fallback
        measures.distance[category][rows[~fallback]] = distance[~fallback]
        measures.nearest[category][rows[~fallback]] = nearest[~fallback]
        for r in RADII:
            measures.within[(category, r)][rows[~fallback]] = counts[r][~fallback]
        kind = measures.extra[f"{category}_kind"]
        kind[rows[by_network]] = NETWORK
        snap = measures.extra[f"{category}_service_snap_m"]
        snap[rows[by_network]] = snaps[category].distance[nearest[by_network]]
        measures.flags[f"straight_line_{category}"] = np.isin(np.arange(n), rows[~by_network])
