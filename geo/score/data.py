"""Everything scoring reads from PostGIS, read once into memory (coordinates, areas, tasks).

The bulk engine and the API work on this snapshot; it carries the data vintage it was read at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from scipy.spatial import cKDTree
from sqlalchemy.engine import Engine

from geo.db.status import data_vintage
from geo.domain import DEFAULT_TASK_PERIOD
from geo.io import declared_coverage
from geo.network.graph import Network
from geo.reception import COUNTED, UNDATED, counting_sites
from geo.score.zorder import z_order

LEVEL_TABLES = {"buurt": "neighbourhood", "wijk": "district", "municipality": "municipality"}
# CBS boundaries in the shipped files are generalised: a point inside a municipality but inside none of the buurten
# or wijken is assigned to the nearest within this distance (lowest code on ties). Never at municipality level: a
# point outside every municipality is outside, whatever is near (see :func:`in_netherlands`).
BOUNDARY_TOLERANCE_M = 250.0
# Territory abroad inside Dutch outlines: CBS codes it as municipality GM0998, wijk WK099899 "Buitenland" (the
# Baarle-Hertog enclaves in Baarle-Nassau).
ABROAD_MUNICIPALITY_CODES = ("GM0998",)
COVERAGE = ("none", "partial", "complete")
"""What a service layer covers in an area; declared when it is loaded (``opvangmatch load --coverage``)."""
# Below this many points, testing each point against the area tree beats testing block by block.
FEW_POINTS = 2_000
# Many points are located in blocks of this many consecutive points.
BLOCK = 32


@dataclass
class ServiceLayer:
    """The points of one service category, with a KD-tree over their RD coordinates."""

    category: str
    xy: np.ndarray
    names: np.ndarray
    ids: np.ndarray
    tree: cKDTree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = cKDTree(self.xy) if len(self.xy) else None


@dataclass
class AreaLayer:
    """The polygons of one level (buurt, wijk, municipality) with population and reception places."""

    level: str
    codes: np.ndarray
    names: np.ndarray
    population: np.ndarray  # float, NaN = no data
    existing: np.ndarray  # reception places already there (counted: open on the reference date)
    undated: np.ndarray  # places of open reception rows not known to be open on the reference date (not counted)
    geoms: np.ndarray
    tolerance: float = BOUNDARY_TOLERANCE_M  # 0 for municipalities
    tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geoms)
        shapely.prepare(self.geoms)  # once, when the layer is made, not on every bulk locate

    def locate(self, xy: np.ndarray, *, in_spatial_order: bool = False) -> np.ndarray:
        """Index of the area holding each point of ``xy`` (N x 2; -1 if none; the lowest code on shared
        boundaries).

        Points in no area but within ``tolerance`` of one get the nearest. Many points
        are located in blocks of :data:`BLOCK` neighbours along a Z-curve (``in_spatial_order``: ``xy``
        already is): a block whose box lies inside an area is assigned whole, the others point by point."""
        xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
        found = np.full(len(xy), -1, dtype=np.int64)
        if len(self.geoms) == 0 or len(xy) == 0:
            return found
        if len(xy) < FEW_POINTS:
            point_idx, area_idx = self.tree.query(shapely.points(xy), predicate="intersects")
        elif in_spatial_order:
            point_idx, area_idx = self._inside(xy)
        else:
            order = z_order(xy)
            point_idx, area_idx = self._inside(np.ascontiguousarray(xy[order]))
            point_idx = order[point_idx]
        self._assign(found, point_idx, area_idx)
        missing = np.flatnonzero(found < 0)
        if len(missing) and self.tolerance > 0:
            point_idx, area_idx = self.tree.query_nearest(
                shapely.points(xy[missing]), max_distance=self.tolerance, all_matches=True
            )
            self._assign(found, missing[point_idx], area_idx)
        return found

    def _inside(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, area) pairs where the area intersects the point, found block by block."""
        starts = np.arange(0, len(xy), BLOCK)
        lower = np.minimum.reduceat(xy, starts)
        upper = np.maximum.reduceat(xy, starts)
        boxes = shapely.box(lower[:, 0], lower[:, 1], upper[:, 0], upper[:, 1])
        block_idx, area_idx = self.tree.query(boxes, predicate="intersects")
        whole = shapely.contains(self.geoms[area_idx], boxes[block_idx])
        # Blocks inside an area: every point of the block.
        sizes = np.minimum(starts[block_idx[whole]] + BLOCK, len(xy)) - starts[block_idx[whole]]
        inside_points = _expand(starts[block_idx[whole]], sizes)
        inside_areas = np.repeat(area_idx[whole], sizes)
        # Blocks across a boundary: each point against each of the block's areas (pairs stay in Z-order).
        block_idx, area_idx = block_idx[~whole], area_idx[~whole]
        sizes = np.minimum(starts[block_idx] + BLOCK, len(xy)) - starts[block_idx]
        point_idx = _expand(starts[block_idx], sizes)
        area_idx = np.repeat(area_idx, sizes)
        hit = shapely.intersects_xy(self.geoms[area_idx], xy[point_idx, 0], xy[point_idx, 1])
        return np.concatenate([inside_points, point_idx[hit]]), np.concatenate([inside_areas, area_idx[hit]])

    def _assign(self, found: np.ndarray, point_idx: np.ndarray, area_idx: np.ndarray) -> None:
        """For each point, the matching area with the lowest code."""
        if len(point_idx) == 0:
            return
        single = np.bincount(point_idx, minlength=len(found))[point_idx] == 1
        found[point_idx[single]] = area_idx[single]
        point_idx, area_idx = point_idx[~single], area_idx[~single]
        if len(point_idx):  # on a shared boundary (or overlapping areas)
            order = np.lexsort((self.codes[area_idx], point_idx))
            point_idx, area_idx = point_idx[order], area_idx[order]
            first = np.unique(point_idx, return_index=True)[1]
            found[point_idx[first]] = area_idx[first]


@dataclass
class Abroad:
    """Territory abroad inside the Dutch outlines (CBS 'Buitenland' wijken), with a quick box test."""

    geoms: np.ndarray
    tree: shapely.STRtree = field(init=False, repr=False)
    bounds: tuple[float, float, float, float] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geoms)
        shapely.prepare(self.geoms)
        self.bounds = tuple(shapely.total_bounds(self.geoms)) if len(self.geoms) else None

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """For each point: does it lie in territory abroad? Only points in the box of that territory are tested."""
        inside = np.zeros(len(xy), dtype=bool)
        if self.bounds is None or len(xy) == 0:
            return inside
        x0, y0, x1, y1 = self.bounds
        near = np.flatnonzero((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1))
        if len(near):
            point_idx, _ = self.tree.query(shapely.points(xy[near]), predicate="intersects")
            inside[near[point_idx]] = True
        return inside


def in_netherlands(area_index: dict[str, np.ndarray], xy: np.ndarray, abroad: Abroad | None) -> np.ndarray:
    """The locate rule: a point is in the Netherlands when it lies inside a municipality and not in territory
    abroad (CBS 'Buitenland'). Points elsewhere get no area at any level (``area_index`` is changed in place);
    they are outside, whatever is near. Returns the mask of points inside."""
    inside = area_index["municipality"] >= 0
    if abroad is not None:
        inside &= ~abroad.contains(xy)
    if not inside.all():
        for values in area_index.values():
            values[~inside] = -1
    return inside


@dataclass
class ScoringData:
    """Everything scoring reads from the database, loaded once (:meth:`load`) and kept in memory.

    Attributes
    ----------
    services : per service category, its points (coordinates, names, ids, municipalities).
    areas : per level (``buurt``, ``wijk``, ``municipality``), its areas (codes, names, population, existing
        reception places, outlines for locating points).
    province_of : municipality code -> province code.
    tasks : the placement task of the period, indexed by region code (required, realised, pipeline, gap, basis).
    reference_share : the national share of reception places in the population, the yardstick of proportional fit.
    reference_note : how ``reference_share`` was computed, shown with every explanation.
    cbs_distance_km : (municipality code, category) -> CBS average distance and its year, the fallback estimate.
    vintage : the data vintage (sources and load times) the scores were computed from.
    notes : remarks about the data shown with results.
    abroad : territory that CBS codes as abroad (a point there is outside at every level), where loaded.
    declared : per category, per loaded layer, the coverage it declares per area (complete, partial, none).
    """

    services: dict[str, ServiceLayer]
    areas: dict[str, AreaLayer]
    province_of: dict[str, str]
    tasks: pd.DataFrame  # indexed by region_code: required, realised, pipeline, gap, required_basis
    reference_share: float
    reference_note: str
    cbs_distance_km: dict[tuple[str, str], tuple[float, int | None]]
    vintage: dict
    notes: list[str]
    abroad: Abroad | None = None
    declared: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # category -> per layer {area: kind}
    network: Network | None = None  # the walking network(s), if loaded
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def _cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def coverage(self, category: str) -> np.ndarray:
        """Per municipality (in layer order): the declared coverage of the category's points there, as an index
        into :data:`COVERAGE` (0 none, 1 partial, 2 complete); the best declaration of any loaded layer wins."""

        def build():
            codes = self.areas["municipality"].codes
            out = np.zeros(len(codes), dtype=np.int8)
            province = np.array([self.province_of.get(code) for code in codes], dtype=object)
            for declaration in self.declared.get(category, []):
                for area, kind in declaration.items():
                    if area == "NL":
                        where = np.ones(len(codes), dtype=bool)
                    elif area.startswith("PV"):
                        where = province == area
                    else:
                        where = codes == area
                    out[where] = np.maximum(out[where], COVERAGE.index(kind))
            return out

        return self._cached(("coverage", category), build)

    def cbs_estimate_m(self, category: str) -> np.ndarray:
        """Per municipality (in layer order): the CBS mean road distance in metres, NaN where unknown."""
        return self._cached(
            ("cbs", category),
            lambda: np.array(
                [
                    self.cbs_distance_km.get((code, category), (np.nan,))[0] * 1000.0
                    for code in self.areas["municipality"].codes
                ],
                dtype=float,
            ),
        )

    def per_municipality(self) -> dict[str, np.ndarray]:
        """Province code and task figures (own and province's) per municipality, in layer order."""

        def build():
            codes = self.areas["municipality"].codes
            province = np.array([self.province_of.get(code) for code in codes], dtype=object)
            out = {"province_code": province}
            for level, keys in (("municipality", codes), ("province", province)):
                index = pd.Index(keys, dtype=object)
                for column, dtype in (("gap", float), ("required", float), ("required_basis", object)):
                    out[f"{level}_{column}"] = self.tasks[column].reindex(index).to_numpy(dtype=dtype)
            return out

        return self._cached("per_municipality", build)

    @classmethod
    def load(cls, engine: Engine, *, period: str = DEFAULT_TASK_PERIOD, on: date | None = None) -> ScoringData:
        """Read services, areas, reception places, tasks and CBS proximity from the database.

        Reception places count as the task counts them (:mod:`geo.reception`, on the period's reference date or
        ``on``); the reference share is the task's (:func:`geo.task.reference_share`)."""
        from geo.task import placement_tasks, reference_date

        notes: list[str] = []
        with engine.connect() as conn:
            areas = {level: _areas(conn, level, table) for level, table in LEVEL_TABLES.items()}
            areas["municipality"].tolerance = 0.0
            abroad = Abroad(_abroad(conn))
            services = _services(conn)
            province_of = dict(
                conn.execute(sa.text("SELECT municipality_code, province_code FROM municipality_province")).all()
            )
            cbs = {
                (a, c): (d, y)
                for a, c, d, y in conn.execute(
                    sa.text("SELECT area_code, category, distance_km, year FROM area_proximity")
                )
            }
            declared = _declared(conn)
            unplaced = _add_reception(counting_sites(conn, reference_date(period, on)), areas)
        if unplaced:
            notes.append(f"{unplaced} reception location(s) could not be matched to a municipality")
        tasks = placement_tasks(engine, period, on=on).set_index("region_code")
        share, note = tasks.attrs["reference_share"], tasks.attrs["reference_note"]
        network = Network.load(engine)
        return cls(
            services,
            areas,
            province_of,
            tasks,
            share,
            note,
            cbs,
            data_vintage(engine),
            notes,
            abroad,
            declared,
            network,
        )


def _expand(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The ranges ``start .. start + size`` one after another, as one index array."""
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + offsets


def _areas(conn: sa.Connection, level: str, table: str) -> AreaLayer:
    where = "WHERE municipality_code <> ALL(:abroad)" if table != "municipality" else ""
    frame = gpd.read_postgis(
        sa.text(f'SELECT code, name, population, geom FROM "{table}" {where} ORDER BY code'),
        conn,
        geom_col="geom",
        params={"abroad": list(ABROAD_MUNICIPALITY_CODES)},
    )
    return AreaLayer(
        level=level,
        codes=frame["code"].to_numpy(dtype=object),
        names=frame["name"].to_numpy(dtype=object),
        population=frame["population"].astype("float64").to_numpy(),
        existing=np.zeros(len(frame)),
        undated=np.zeros(len(frame)),
        geoms=np.asarray(frame.geometry.values, dtype=object),
    )


def _declared(conn: sa.Connection) -> dict[str, list[dict[str, str]]]:
    """Declared coverage of every loaded service layer, per category (a layer loaded without one: partial)."""
    rows = conn.execute(
        sa.text(
            "SELECT DISTINCT s.category, d.source, d.coverage FROM service s JOIN dataset d ON d.source = s.source "
            "ORDER BY s.category, d.source"
        )
    ).all()
    out: dict[str, list[dict[str, str]]] = {}
    for category, _source, coverage in rows:
        out.setdefault(category, []).append(declared_coverage(coverage, category))
    return out


def _abroad(conn: sa.Connection) -> np.ndarray:
    """Wijken (and buurten) CBS codes as abroad: the territory no Dutch municipality holds."""
    rows = conn.execute(
        sa.text(
            "SELECT ST_AsBinary(geom) FROM district WHERE municipality_code = ANY(:abroad) UNION ALL "
            "SELECT ST_AsBinary(geom) FROM neighbourhood WHERE municipality_code = ANY(:abroad)"
        ),
        {"abroad": list(ABROAD_MUNICIPALITY_CODES)},
    ).scalars()
    return np.array([shapely.from_wkb(bytes(wkb)) for wkb in rows], dtype=object)


def _services(conn: sa.Connection) -> dict[str, ServiceLayer]:
    rows = conn.execute(
        sa.text("SELECT category, id, coalesce(name, ''), ST_X(geom), ST_Y(geom) FROM service ORDER BY category, id")
    ).all()
    if not rows:
        return {}
    frame = pd.DataFrame(rows, columns=["category", "id", "name", "x", "y"])
    layers = {}
    for category, group in frame.groupby("category", sort=True):
        layers[category] = ServiceLayer(
            category=category,
            xy=group[["x", "y"]].to_numpy(dtype="float64"),
            names=group["name"].to_numpy(dtype=object),
            ids=group["id"].to_numpy(),
        )
    return layers


def _add_reception(sites: pd.DataFrame, areas: dict[str, AreaLayer]) -> int:
    """Add the reception places that count (and, apart, the undated ones) to every area holding them: by
    coordinates where known (every level), else by municipality; returns how many could not be placed."""
    unplaced = 0
    municipalities = areas["municipality"]
    index = {code: i for i, code in enumerate(municipalities.codes)}
    for row in sites[sites["status"].isin([COUNTED, UNDATED])].itertuples():
        target = "existing" if row.status == COUNTED else "undated"
        if pd.notna(row.x):
            for layer in areas.values():
                where = layer.locate(np.array([[row.x, row.y]]))[0]
                if where >= 0:
                    getattr(layer, target)[where] += row.capacity
        elif row.municipality_code in index:
            getattr(municipalities, target)[index[row.municipality_code]] += row.capacity
        else:
            unplaced += 1
    return unplaced
