"""Walking networks: OSM extracts into PostGIS, measurement along them, and pgRouting as the reference."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import sqlalchemy as sa

from geo.db import prepare_database
from geo.errors import DataError
from geo.io import load, prepare
from geo.network.graph import Network
from geo.network.measure import along
from geo.network.reference import reference_along
from geo.network.rules import ferry_cost_m, walk_metres, walkable
from tests.conftest import DATA, fingerprint

AMSTERDAM = DATA / "network" / "osm_amsterdam_centrum_rijnb_2026.osm.gz"
DELFT = DATA / "network" / "osm_delft_tudelft_campus_dsol_2022.osm.pbf"
RADII = (500, 1000)


@pytest.fixture(scope="module")
def network_engine(databases):
    """A database holding both real extracts as networks (and nothing else)."""
    settings = databases.create("network")
    engine = prepare_database(settings)
    for path in (AMSTERDAM, DELFT):
        load(engine, "network", path)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def network(network_engine) -> Network:
    return Network.load(network_engine)


def test_walkable_honours_foot_and_access_and_never_motorways():
    assert walkable({"highway": "footway"}) == "footway"
    assert walkable({"highway": "residential", "access": "private"}) is None
    assert walkable({"highway": "residential", "access": "private", "foot": "yes"}) == "residential"
    assert walkable({"highway": "cycleway", "foot": "no"}) is None
    assert walkable({"highway": "cycleway"}) == "cycleway"
    assert walkable({"highway": "service", "access": "no", "foot": "designated"}) == "service"
    assert walkable({"highway": "primary", "foot": "use_sidepath"}) is None
    assert walkable({"highway": "motorway", "foot": "yes"}) is None
    assert walkable({"highway": "trunk"}) is None
    assert walkable({"highway": "construction"}) is None
    assert walkable({"route": "ferry"}) == "ferry"
    assert walkable({"route": "ferry", "foot": "no"}) is None


def test_ferry_cost_is_crossing_time_plus_wait_in_walking_metres():
    # 10 minutes on the ferry (duration tag) + 5 minutes wait = 15 minutes at 5 km/h = 1250 m
    assert ferry_cost_m(400.0, "00:10") == pytest.approx(1250.0)
    assert ferry_cost_m(400.0, "10") == pytest.approx(1250.0)
    # no duration: 400 m at 10 km/h = 144 s, + 300 s wait
    assert ferry_cost_m(400.0, None) == pytest.approx(walk_metres(144.0 + 300.0))


def test_load_network_gives_a_pgrouting_topology(network_engine):
    with network_engine.connect() as conn:
        counts = dict(
            conn.execute(sa.text("SELECT source, count(*) FROM network_edge GROUP BY source ORDER BY 1")).all()
        )
        dangling = conn.execute(
            sa.text(
                "SELECT count(*) FROM network_edge e WHERE NOT EXISTS (SELECT 1 FROM network_node n "
                "WHERE n.id = e.from_node) OR NOT EXISTS (SELECT 1 FROM network_node n WHERE n.id = e.to_node)"
            )
        ).scalar()
        worst = conn.execute(sa.text("SELECT max(abs(ST_Length(geom) - length_m)) FROM network_edge")).scalar()
        ends = conn.execute(
            sa.text(
                "SELECT max(greatest(ST_Distance(ST_StartPoint(e.geom), a.geom), ST_Distance(ST_EndPoint(e.geom), "
                "b.geom))) FROM network_edge e JOIN network_node a ON a.id = e.from_node "
                "JOIN network_node b ON b.id = e.to_node"
            )
        ).scalar()
        kinds = {k for (k,) in conn.execute(sa.text("SELECT DISTINCT kind FROM network_edge"))}
        path = conn.execute(
            sa.text(
                "SELECT count(*) FROM pgr_dijkstra('SELECT id, from_node AS source, to_node AS target, cost, "
                "reverse_cost FROM network_edge', (SELECT min(from_node) FROM network_edge), "
                "(SELECT max(to_node) FROM network_edge), directed => false)"
            )
        ).scalar()
        srid = conn.execute(sa.text("SELECT DISTINCT ST_SRID(geom) FROM network_edge")).scalar()
    assert counts == {
        "network:osm_amsterdam_centrum_rijnb_2026": 1601,
        "network:osm_delft_tudelft_campus_dsol_2022": 2418,
    }
    assert dangling == 0 and worst < 1e-6 and ends < 1e-6 and srid == 28992
    assert "motorway" not in kinds and "trunk" not in kinds and {"footway", "steps", "cycleway"} <= kinds
    assert path >= 0  # pgRouting runs on the stored topology


def test_broken_network_file_leaves_the_database_unchanged(network_engine, tmp_path):
    before = fingerprint(network_engine)
    data = AMSTERDAM.read_bytes()
    cut = tmp_path / "amsterdam_cut.osm.gz"
    cut.write_bytes(data[: len(data) // 2])  # a download cut off halfway
    pbf = tmp_path / "delft_cut.osm.pbf"
    pbf.write_bytes(DELFT.read_bytes()[:100_000])
    garbage = tmp_path / "not_osm.osm"
    garbage.write_text("this is not OSM")
    empty = tmp_path / "no_ways.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="52.0" lon="4.3"/></osm>')
    for path, words in (
        (cut, "cannot read as OSM"),
        (pbf, "cannot read as OSM"),
        (garbage, "not an OSM file"),
        (empty, "no way a pedestrian may use"),
    ):
        with pytest.raises(DataError, match=words) as info:
            load(network_engine, "network", path, source="network:osm_amsterdam_centrum_rijnb_2026")
        assert str(path) in str(info.value)
    assert fingerprint(network_engine) == before


def test_load_network_is_idempotent(network_engine):
    before = fingerprint(network_engine)
    report = load(network_engine, "network", AMSTERDAM)
    assert report.rows == 1601 and report.replaced == 1601
    assert fingerprint(network_engine) == before


def test_a_bulk_load_truncates_and_rebuilds_indexes_in_its_transaction(databases, monkeypatch):
    """From REBUILD_INDEX_FROM rows on (lowered here so that a small real extract reaches it), a load into tables
    holding only its source truncates them and builds their indexes again: the same rows and indexes after a
    reload, and a row the database refuses halfway through the write brings everything back."""
    import importlib

    write_module = importlib.import_module("geo.io.write")  # the module (geo.io.write is also its function)
    monkeypatch.setattr(write_module, "REBUILD_INDEX_FROM", 1)
    engine = prepare_database(databases.create("network_bulk"))

    def indexes():
        with engine.connect() as conn:
            sql = "SELECT indexdef FROM pg_indexes WHERE tablename IN ('network_edge', 'network_node') ORDER BY 1"
            return list(conn.execute(sa.text(sql)).scalars())

    load(engine, "network", AMSTERDAM)
    before, definitions = fingerprint(engine), indexes()
    assert any("USING gist" in d for d in definitions) and any("(source)" in d for d in definitions)
    statements = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2].split(" ")[0]))
    report = load(engine, "network", AMSTERDAM)
    assert statements.count("TRUNCATE") == 2 and statements.count("DROP") == 3 and "DELETE" in statements  # dataset
    assert report.replaced == 1601 and fingerprint(engine) == before and indexes() == definitions
    prepared = prepare("network", AMSTERDAM)
    prepared.also[0][1].loc[len(prepared.also[0][1]) - 1, "id"] = prepared.also[0][1]["id"].iat[0]  # a repeated node
    with pytest.raises(DataError, match="network_node"):
        write_module.write(engine, prepared, source="network:osm_amsterdam_centrum_rijnb_2026", path=AMSTERDAM)
    assert fingerprint(engine) == before and indexes() == definitions
    engine.dispose()


def test_plain_osm_xml_and_gzip_give_the_same_network(tmp_path):
    plain = tmp_path / "amsterdam.osm"
    plain.write_bytes(gzip.decompress(AMSTERDAM.read_bytes()))
    a, b = prepare("network", AMSTERDAM), prepare("network", plain)
    assert len(a.frame) == len(b.frame) == 1601
    assert np.allclose(a.frame["length_m"], b.frame["length_m"])


def _sample(network: Network, box, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    (x0, y0), (x1, y1) = box
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def _boxes(network: Network):
    """Two boxes inside each extract (central Amsterdam, Delft campus), from the loaded nodes."""
    xy = network.node_xy
    amsterdam = xy[xy[:, 1] > 480_000]
    delft = xy[xy[:, 1] < 480_000]
    return [np.percentile(part, [20, 80], axis=0) for part in (amsterdam, delft)]


def test_engine_agrees_with_pgrouting_within_a_metre(network_engine, network):
    for seed, box in enumerate(_boxes(network)):
        locations = _sample(network, box, 40, seed)
        services = {"a": _sample(network, box, 12, seed + 10), "b": _sample(network, box, 3, seed + 20)}
        mine = along(network, network.snap(locations), {c: network.snap(v) for c, v in services.items()}, RADII)
        theirs = reference_along(network_engine, locations, services, RADII)
        for category in services:
            assert np.isfinite(mine[category].distance).all()
            assert np.abs(mine[category].distance - theirs[category].distance).max() < 1.0
            for r in RADII:  # counts agree except for a service within a metre of the radius
                close = np.abs(mine[category].distance - r) < 1.0
                assert (mine[category].within[r] == theirs[category].within[r])[~close].all()


def test_bulk_equals_point_by_point(network):
    box = _boxes(network)[0]
    locations = network.snap(_sample(network, box, 300, 3))
    services = {"a": network.snap(_sample(network, box, 20, 4)), "b": network.snap(_sample(network, box, 2, 5))}
    bulk = along(network, locations, services, RADII)
    for i in range(len(locations)):
        one = along(network, locations.take(np.array([i])), services, RADII)
        for category in services:
            assert one[category].distance[0] == pytest.approx(bulk[category].distance[i], abs=1e-6)
            assert one[category].nearest[0] == bulk[category].nearest[i]
            for r in RADII:
                assert one[category].within[r][0] == bulk[category].within[r][i]


def test_snapping_is_exact(network):
    """Against shapely on every snappable edge: points inside the Delft extract (the bucket grid) and far
    outside both extracts (the STRtree path)."""
    import shapely

    inside = _sample(network, _boxes(network)[1], 300, 7)
    far = _sample(network, np.array([[150_000.0, 420_000.0], [220_000.0, 470_000.0]]), 40, 8)
    locations = np.vstack([inside, far])
    snap = network.snap(locations)
    candidates = np.flatnonzero(network.snappable)
    distances = shapely.distance(network.edge_geoms[candidates][None, :], shapely.points(locations)[:, None])
    assert np.abs(distances.min(axis=1) - snap.distance).max() < 1e-6
    assert (candidates[distances.argmin(axis=1)] == snap.edge).mean() > 0.99  # ties (at shared nodes) aside
    # the snapped point lies on its edge, at the snap distance, at fraction t along it
    lines = network.edge_geoms[snap.edge]
    points = shapely.points(snap.point)
    assert shapely.distance(lines, points).max() < 1e-6
    assert np.abs(shapely.distance(shapely.points(locations), points) - snap.distance).max() < 1e-6
    assert np.abs(shapely.line_locate_point(lines, points, normalized=True) - snap.t).max() < 1e-6


def _brute_force(network: Network, loc, svc) -> np.ndarray:
    """Every location-service distance along the network: scipy's Dijkstra from each service (an extra node
    joined to its edge's two nodes), the location's cheaper end, or straight along a shared edge."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    n, m = network.n_nodes, len(svc)
    cost = network.edge_cost
    base = network.graph.tocoo()
    rows = np.concatenate([base.row, n + np.arange(m), n + np.arange(m)])
    cols = np.concatenate([base.col, network.edge_u[svc.edge], network.edge_v[svc.edge]])
    off_u = svc.distance + svc.t * cost[svc.edge]
    off_v = svc.distance + (1 - svc.t) * cost[svc.edge]
    graph = sp.csr_matrix((np.concatenate([base.data, off_u, off_v]), (rows, cols)), shape=(n + m, n + m))
    dist = dijkstra(graph, directed=False, indices=n + np.arange(m))  # services x nodes
    loc_a, loc_b = network.edge_u[loc.edge], network.edge_v[loc.edge]
    via_a = dist[:, loc_a] + (loc.distance + loc.t * cost[loc.edge])[None, :]
    via_b = dist[:, loc_b] + (loc.distance + (1 - loc.t) * cost[loc.edge])[None, :]
    total = np.minimum(via_a, via_b).T  # locations x services
    same = loc.edge[:, None] == svc.edge[None, :]
    direct = loc.distance[:, None] + np.abs(loc.t[:, None] - svc.t[None, :]) * cost[loc.edge][:, None]
    return np.where(same, np.minimum(total, direct + svc.distance[None, :]), total)


def test_counts_and_nearest_equal_a_brute_force_count(network):
    """Real Amsterdam network, random locations; services random (many, one) and constructed at some of the
    locations themselves (same edge, equal distances): counted from the services (many locations) and from
    the locations (few), the engine gives what every distance measured one by one gives."""
    box = _boxes(network)[0]
    locations = network.snap(_sample(network, box, 400, 11))
    services = {
        "many": network.snap(_sample(network, box, 60, 12)),
        "one": network.snap(_sample(network, box, 1, 13)),
        "constructed_at_locations": locations.take(np.array([0, 0, 5, 17, 17, 123])),
    }
    radii = (150, 400)  # small: many nearest services lie beyond the largest radius
    for rows in (np.arange(400), np.arange(3)):  # from the services, then from the locations
        loc = locations.take(rows)
        mine = along(network, loc, services, radii)
        for category, svc in services.items():
            full = _brute_force(network, loc, svc)
            best = full.min(axis=1)
            assert np.abs(mine[category].distance - best).max() < 1e-6
            nearest = mine[category].nearest
            assert np.abs(full[np.arange(len(loc)), nearest] - best).max() < 1e-6  # one of the nearest
            for r in radii:
                close = np.isclose(full, r, atol=1e-6).any(axis=1)  # a service within a micrometre of the radius
                assert (mine[category].within[r] == (full <= r).sum(axis=1))[~close].all()
            assert mine[category].within[radii[-1]].sum() > 0
    # the constructed services at location 0 (twice) and 17 (twice): distance 0 + snap, the lowest index
    one = along(network, locations.take(np.array([0, 17])), services, radii)["constructed_at_locations"]
    assert list(one.nearest) == [0, 3] and np.allclose(one.distance, 2 * locations.distance[[0, 17]])


# --- the engine: network kinds, snap distances and the straight-line fallback -----------------------------------

BAG_AMSTERDAM = DATA / "bag" / "bag_amsterdam_adresplus_sample99_nlextract.csv"


def _amsterdam_unit():
    """The southernmost of the real BAG units of the sample (inside the Amsterdam extract's box)."""
    import pandas as pd

    units = pd.read_csv(BAG_AMSTERDAM, sep=";", dtype={"adresseerbaarobject_id": str})
    return units.sort_values(["lat", "adresseerbaarobject_id"]).iloc[0]


def test_amsterdam_proposal_is_scored_along_the_network(demo_engine):
    import shapely

    from geo.score import ScoringData, load_profile, score_location

    data = ScoringData.load(demo_engine)
    unit = _amsterdam_unit()
    point = shapely.Point(float(unit["x"]), float(unit["y"]))
    result = score_location(
        data, point, 20, load_profile("families"), floor_area=float(unit["opp_adresseerbaarobject_m2"])
    )
    proximity = result["proximity"]
    assert result["network"]["snap_m"] < 50 and result["network"]["outside"] is False
    assert "outside_network" not in result["flags"]
    for category in ("primary_school",):  # the DUO schools in the extract; the nearest Jumbo lies beyond it
        item = proximity[category]
        assert item["status"] in ("measured", "upper_bound") and item["distance_kind"] == "network", (category, item)
        assert item["service_snap_m"] is not None
        # along the network is never shorter than the straight line to the same service
        layer = data.services[category]
        k = int(np.flatnonzero(layer.ids == item["nearest_id"])[0])
        assert item["distance_m"] >= np.hypot(*(layer.xy[k] - [point.x, point.y])) - 0.1
        # and it is what pgRouting finds. Only services within the engine's distance (+1 m) as the crow flies can be
        # nearer along the network than that (a walk is never shorter than the straight line), so pgRouting gets
        # just those: the check keeps its strength without routing to every school in the country.
        crow = np.hypot(*(layer.xy - [point.x, point.y]).T)
        candidates = layer.xy[crow <= item["distance_m"] + 1.0]
        reference = reference_along(demo_engine, np.array([[point.x, point.y]]), {category: candidates}, RADII)
        assert abs(reference[category].distance[0] - item["distance_m"]) < 1.0
    assert proximity["train_station"]["distance_kind"] == "straight"  # the profile asks for straight lines there
    # the nearest Jumbo (Stadhouderskade) lies beyond the network's extent: straight line, flagged, with the reason
    # (Jumbo is a partial layer here, so the CBS estimate is used instead of that far point: no kind then)
    supermarket = proximity["supermarket"]
    assert "straight_line_supermarket" in result["flags"]
    assert (
        supermarket["distance_kind"] is None
        if supermarket["status"] == "estimated"
        else "off the network" in supermarket["kind_reason"]
    )
    assert "network" in result["notes"][0] and "walking" in " ".join(
        __import__("geo.score", fromlist=["x"]).summary_lines(result)
    )


def test_outside_the_network_the_straight_line_is_used_and_flagged(demo_engine):
    import shapely

    from geo.score import ScoringData, load_profile, score_location

    data = ScoringData.load(demo_engine)
    doesburg = shapely.Point(205_500.0, 444_300.0)  # far from both loaded extracts
    result = score_location(data, doesburg, 20, load_profile("families"))
    assert "outside_network" in result["flags"]
    assert result["network"]["snap_m"] is None
    measured = [v for v in result["proximity"].values() if v["status"] in ("measured", "upper_bound")]
    assert measured and all(v["distance_kind"] == "straight" for v in measured)
    assert all("outside" in v["kind_reason"] for v in measured if v["profile_distance"] == "network")


def test_unreachable_services_fall_back_to_the_straight_line_flagged(network):
    """Constructed services (on Amsterdam's network) measured from Delft: nothing reachable along it."""
    from geo.score.data import ServiceLayer
    from geo.score.measure import Measures
    from geo.score.network import measure_along

    amsterdam, delft = _boxes(network)
    services = {
        "gp": ServiceLayer("gp", _sample(network, amsterdam, 5, 1), np.array(["constructed"] * 5, object), np.arange(5))
    }
    xy = np.vstack([_sample(network, delft, 3, 2), _sample(network, amsterdam, 3, 3)])
    straight = np.min(np.hypot(*(xy[:, None, :] - services["gp"].xy[None, :, :]).transpose(2, 0, 1)), axis=1)
    measures = Measures(
        xy,
        {},
        {"gp": straight.copy()},
        {"gp": np.zeros(6, int)},
        {("gp", 500): np.zeros(6, int), ("gp", 1000): np.zeros(6, int)},
    )
    measure_along(network, services, measures, ["gp"])
    kinds = measures.extra["gp_kind"]
    assert list(kinds) == ["straight"] * 3 + ["network"] * 3
    assert measures.flags["straight_line_gp"].tolist() == [True] * 3 + [False] * 3
    assert np.allclose(measures.distance["gp"][:3], straight[:3])  # the straight line, kept
    assert (measures.distance["gp"][3:] >= straight[3:] - 1e-6).all()
    assert not measures.flags["outside_network"].any()


def test_services_off_the_network_count_by_straight_line(network):
    """A constructed service 2 km off the network (beyond the snap limit) is measured by straight line."""
    from geo.score.data import ServiceLayer
    from geo.score.measure import Measures
    from geo.score.network import measure_along

    amsterdam = _boxes(network)[0]
    xy = _sample(network, amsterdam, 4, 4)
    far = xy[:1] + np.array([0.0, 2_000.0])  # far beyond the snap limit
    services = {"gp": ServiceLayer("gp", far, np.array(["constructed"], object), np.arange(1))}
    straight = np.hypot(*(xy - far).T)
    measures = Measures(
        xy,
        {},
        {"gp": straight.copy()},
        {"gp": np.zeros(4, int)},
        {("gp", 500): np.zeros(4, int), ("gp", 1000): np.zeros(4, int)},
    )
    measure_along(network, services, measures, ["gp"])
    assert np.allclose(measures.distance["gp"], straight)
    assert measures.flags["straight_line_gp"].all() and (measures.extra["gp_kind"] == "straight").all()
