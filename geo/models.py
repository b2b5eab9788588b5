"""The data model (SQLAlchemy 2 + GeoAlchemy2). Geometries are stored in EPSG:28992 (RD New).

Every row carries ``source`` (the dataset it came from, see :class:`Dataset`) and ``year``.
Migrations live in ``geo/migrations``; a test checks the two never drift apart.
"""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo.domain import PROPOSAL_STATUSES
from geo.domain import SRID_RD as SRID


def geometry(kind: str, nullable: bool = False) -> Mapped:
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable)


class Base(DeclarativeBase):
    pass


class SourceMixin:
    source: Mapped[str] = mapped_column(String(80), index=True)
    year: Mapped[int | None] = mapped_column(Integer)


class Dataset(Base):
    """One loaded file: what it was, when, how many rows, what was repaired."""

    __tablename__ = "dataset"
    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    repairs: Mapped[int] = mapped_column(Integer, default=0)
    year: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    # Service and monument layers: declared coverage per category and area, e.g. {"supermarket": {"NL": "partial"}}.
    coverage: Mapped[dict | None] = mapped_column(JSONB)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Province(SourceMixin, Base):
    __tablename__ = "province"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    geom = geometry("MULTIPOLYGON")


class Municipality(SourceMixin, Base):
    __tablename__ = "municipality"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    geom = geometry("MULTIPOLYGON")


class MunicipalityProvince(SourceMixin, Base):
    """Which province a municipality belongs to (CBS gemeentelijke indeling)."""

    __tablename__ = "municipality_province"
    municipality_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    municipality_name: Mapped[str] = mapped_column(Text)
    province_code: Mapped[str] = mapped_column(String(4), index=True)
    province_name: Mapped[str] = mapped_column(Text)


class District(SourceMixin, Base):
    """A wijk (WKxxxxxx)."""

    __tablename__ = "district"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    geom = geometry("MULTIPOLYGON")


class Neighbourhood(SourceMixin, Base):
    """A buurt (BUxxxxxxxx)."""

    __tablename__ = "neighbourhood"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(String(10), index=True)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    geom = geometry("MULTIPOLYGON")


class AreaProximity(SourceMixin, Base):
    """CBS nabijheid: mean road distance (km) from residents of an area to the nearest facility."""

    __tablename__ = "area_proximity"
    area_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    distance_km: Mapped[float] = mapped_column(Float)


class Service(SourceMixin, Base):
    """A facility point of one category (gp, supermarket, primary_school, train_station...)."""

    __tablename__ = "service"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict | None] = mapped_column(JSONB)
    geom = geometry("POINT")


class Building(SourceMixin, Base):
    """A BAG pand: footprint, a representative point inside it, and what we know of its use."""

    __tablename__ = "building"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str | None] = mapped_column(Text)
    build_year: Mapped[int | None] = mapped_column(Integer)
    use: Mapped[str | None] = mapped_column(Text)
    floor_area: Mapped[float | None] = mapped_column(Float)
    storeys: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(Text)
    geom = geometry("MULTIPOLYGON")
    point = geometry("POINT")


class Residence(SourceMixin, Base):
    """A BAG verblijfsobject: use (gebruiksdoel) and floor area, linked to its panden."""

    __tablename__ = "residence"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    building_ids: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    use: Mapped[str | None] = mapped_column(Text)
    floor_area: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(Text)
    geom = geometry("POINT", nullable=True)


class BuildingHeight(SourceMixin, Base):
    """3D BAG heights of a pand (metres above NAP): ground level and the roof's 70th percentile."""

    __tablename__ = "building_height"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    ground_m: Mapped[float | None] = mapped_column(Float)
    roof_m: Mapped[float | None] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    roof_type: Mapped[str | None] = mapped_column(Text)


class Monument(SourceMixin, Base):
    """A rijksmonument (RCE register): its number, complex number and location (a point or a contour)."""

    __tablename__ = "monument"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # rijksmonumentnummer
    complex_number: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    geom = geometry("GEOMETRY")


class ReceptionLocation(SourceMixin, Base):
    """An existing (or announced) reception site; many public sources give no coordinates."""

    __tablename__ = "reception_location"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    municipality_name: Mapped[str] = mapped_column(Text)
    municipality_code: Mapped[str | None] = mapped_column(String(6), index=True)
    kind: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    capacity_text: Mapped[str | None] = mapped_column(Text)
    period: Mapped[str | None] = mapped_column(Text)
    # Validity as its source states it (None = not stated); open_ended: the source states no end.
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    open_ended: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    source_url: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    geom = geometry("POINT", nullable=True)


class PlacementTask(SourceMixin, Base):
    """A number of reception places required of a region in a period, with where it came from."""

    __tablename__ = "placement_task"
    __table_args__ = (Index("ix_placement_task_region_period", "region_code", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(10))
    region_name: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(40))
    places: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(20), default="official")
    source_url: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class ReportedFigure(SourceMixin, Base):
    """A published count of reception places for the country or a province (available, found in plans, realised,
    still needed), kept beside the realised total to show how much of it the reception rows cover."""

    __tablename__ = "reported_figure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(String(10), index=True)  # NL or PVxx
    region_name: Mapped[str | None] = mapped_column(Text)
    indicator: Mapped[str] = mapped_column(Text)
    places: Mapped[int | None] = mapped_column(Integer)  # None when the source gives no exact number ('>4000')
    value_text: Mapped[str] = mapped_column(Text)
    reference_date: Mapped[str | None] = mapped_column(Text)  # as the source states it, e.g. '2024-11 (per 1 feb 2026)'
    source_url: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class ScoreRun(Base):
    """One scoring run: which profile (and version) on which data, when, over what scope."""

    __tablename__ = "score_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    profile: Mapped[str] = mapped_column(String(80))
    profile_version: Mapped[str] = mapped_column(String(16))
    target_group: Mapped[str] = mapped_column(String(40))
    data_vintage: Mapped[str] = mapped_column(String(16))
    scope: Mapped[dict] = mapped_column(JSONB)
    candidates: Mapped[int] = mapped_column(Integer)
    measure_names: Mapped[list[str]] = mapped_column(ARRAY(Text))  # the order of candidate_score.measures
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CandidateScore(Base):
    """One candidate's result in a run: components, total, rank, flags and every raw measure."""

    __tablename__ = "candidate_score"
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("score_run.id", ondelete="CASCADE"), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    municipality_code: Mapped[str | None] = mapped_column(String(6), index=True)
    province_code: Mapped[str | None] = mapped_column(String(4))
    capacity: Mapped[int] = mapped_column(Integer)
    capacity_method: Mapped[str] = mapped_column(String(40))
    proportional_fit: Mapped[float] = mapped_column(Float)
    proximity: Mapped[float] = mapped_column(Float)
    task_contribution: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    excluded: Mapped[bool] = mapped_column(Boolean)
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    measures: Mapped[list] = mapped_column(JSON)  # raw measures, named by score_run.measure_names


class NetworkNode(SourceMixin, Base):
    """A vertex of the walking network: an OSM node where ways meet or end (pgRouting's vertex id)."""

    __tablename__ = "network_node"
    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    geom = geometry("POINT")


class NetworkEdge(SourceMixin, Base):
    """A walkable edge between two network nodes, in pgRouting's layout (``from_node``/``to_node`` are its
    ``source``/``target``; ``cost`` and ``reverse_cost`` in metres, ferries as their walking-equivalent)."""

    __tablename__ = "network_edge"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    from_node: Mapped[int] = mapped_column(BigInteger)
    to_node: Mapped[int] = mapped_column(BigInteger)
    length_m: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)
    reverse_cost: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(40))  # the OSM highway value, or "ferry"
    osm_way_id: Mapped[int] = mapped_column(BigInteger)
    geom = geometry("LINESTRING")


DATA_TABLES = [
    Province,
    Municipality,
    MunicipalityProvince,
    District,
    Neighbourhood,
    AreaProximity,
    Service,
    Building,
    Residence,
    BuildingHeight,
    Monument,
    ReceptionLocation,
    PlacementTask,
    ReportedFigure,
    NetworkNode,
    NetworkEdge,
]


# --- proposals and API keys (issue 5: scoring API) -------------------------------------------------------------


from sqlalchemy import CheckConstraint  # noqa: E402
from sqlalchemy import false as sa_false  # noqa: E402


class Proposal(Base):
    """A municipality's (or COA's) location proposal: the stappenplan inventory, its location and score, its status.

    The geometry (a POINT or POLYGON in EPSG:28992) may be missing at the inventory step and is required from the
    plan of action on. ``version`` grows by one with every change (optimistic concurrency).
    """

    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in PROPOSAL_STATUSES) + ")",
            name="ck_proposal_status",
        ),
        CheckConstraint(
            "geom IS NULL OR ST_GeometryType(geom) IN ('ST_Point', 'ST_Polygon', 'ST_MultiPolygon')",
            name="ck_proposal_geom_type",
        ),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="ck_proposal_capacity"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    motivation: Mapped[str | None] = mapped_column(Text)
    target_group: Mapped[str] = mapped_column(String(40))
    task_relation: Mapped[str | None] = mapped_column(Text)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True), nullable=True)
    address: Mapped[str | None] = mapped_column(Text)
    floor_area: Mapped[float | None] = mapped_column(Float)
    chain_partners: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    minimum_standards: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    status: Mapped[str] = mapped_column(String(20), index=True, server_default="submitted")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    extended: Mapped[bool] = mapped_column(Boolean, server_default=sa_false())
    score: Mapped[dict | None] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, server_default="1")


class ProposalEvent(Base):
    """One step in a proposal's history: created, changed, a status transition, an extension."""

    __tablename__ = "proposal_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(Integer, ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict | None] = mapped_column(JSONB)


class ApiKey(Base):
    """An API key: only its SHA-256 hash is stored, with a role and (for role municipality) a municipality code."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(20))
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- map geometry cache (issue 15: coverage-clean boundaries) ---------------------------------------------------


from sqlalchemy import LargeBinary  # noqa: E402


class MapAreaCache(Base):
    """Areas cleaned into a coverage and simplified for the maps (:func:`geo.maps.geodata.coverage_geometries`),
    one row per area, keyed by a hash of the input geometries and the settings: a derived cache, not data (made again
    when missing; a reload of the areas changes the hash)."""

    __tablename__ = "map_area_cache"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    wkb: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
