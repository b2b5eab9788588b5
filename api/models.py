"""Request and response models (pydantic; GeoJSON geometries from geojson-pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from geojson_pydantic import MultiPolygon, Point, Polygon
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from geo.score import MAX_CAPACITY
from geo.score.profile import TARGET_GROUPS

TargetGroup = Literal[TARGET_GROUPS]  # type: ignore[valid-type]
Crs = Literal["EPSG:4326", "EPSG:28992"]
Location = Annotated[Point | Polygon | MultiPolygon, Field(discriminator="type")]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^GM\d{4}$")]
ProvinceCode = Annotated[str, StringConstraints(pattern=r"^PV\d{2}$")]
ProfileName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Capacity = Annotated[int, Field(ge=1, le=MAX_CAPACITY, description="number of places")]
FloorArea = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False, description="gross floor area, m2")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=5000)]
PROPOSAL_STATUSES = ("submitted", "in_preparation", "agreement_signed", "active", "evaluated", "withdrawn")
Status = Literal[PROPOSAL_STATUSES]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRequest(Strict):
    """A location to score: nothing is stored."""

    location: Location = Field(description="GeoJSON Point, Polygon or MultiPolygon; longitude, latitude (EPSG:4326)")
    crs: Crs = Field("EPSG:4326", description="EPSG:28992 to send RD New metres instead")
    capacity: Capacity
    target_group: TargetGroup
    profile: ProfileName | None = Field(None, description="a profile name; default: the target group's profile")
    floor_area: FloorArea | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "location": {"type": "Point", "coordinates": [6.1375, 52.0128]},
                    "capacity": 40,
                    "target_group": "families",
                }
            ]
        },
    )


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Component(Open):
    value: float | None
    weight: float


class Level(Open):
    code: str | None
    name: str | None
    population: float | None
    existing_places: float | None
    share: float | None
    good_share: float | None
    too_much_share: float | None
    fit: float | None


class ProportionalFit(Open):
    levels: dict[str, Level]
    reference_share: float | None
    reference: str
    decided_by: str | None


class ProximityItem(Open):
    status: Literal["measured", "estimated", "missing"]
    nearest: str | None
    distance_m: float | None
    estimate_m: float | None
    good_m: float
    too_far_m: float
    weight: float
    score: float | None
    distance_kind: Literal["network", "straight"] | None = Field(
        None, description="how distance_m and the within_* counts were measured: along the walking network or straight"
    )
    profile_distance: Literal["network", "straight"] | None = Field(None, description="the kind the profile asks for")
    service_snap_m: float | None = Field(None, description="network kind: the service's distance to the network")


class TaskPart(Open):
    municipality: str | None
    province: str | None
    municipality_required: float | None
    municipality_gap: float | None
    province_required: float | None
    province_gap: float | None
    closes_places: float | None


class ProfileRef(Open):
    name: str
    version: str
    target_group: str


class ScoreResult(Open):
    """A score with every component, the raw measures, flags, the profile version and the data vintage."""

    total: float | None
    excluded: bool
    flags: list[str]
    capacity: int
    components: dict[str, Component]
    proportional_fit: ProportionalFit
    proximity: dict[str, ProximityItem]
    task: TaskPart
    profile: ProfileRef
    data_vintage: str
    notes: list[str]
    measured_from: dict[str, Any] | None = None
    summary: list[str] | None = None


class MinimumStandards(Strict):
    """How the proposal meets COA's minimum standards (free text per standard; empty = not addressed yet)."""

    safety: LongText | None = None
    health: LongText | None = None
    education_guidance: LongText | None = None


class ProposalFields(Strict):
    title: ShortText | None = None
    description: LongText | None = None
    motivation: LongText | None = None
    target_group: TargetGroup | None = None
    task_relation: LongText | None = Field(None, description="relation to the regional placement task")
    capacity: Capacity | None = None
    location: Location | None = Field(None, description="optional until the plan of action")
    crs: Crs = "EPSG:4326"
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    floor_area: FloorArea | None = None
    chain_partners: (
        Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=100)]], Field(max_length=20)] | None
    ) = None
    minimum_standards: MinimumStandards | None = None


class ProposalCreate(ProposalFields):
    """The inventory step of the stappenplan. A municipality key may leave out ``municipality_code``."""

    title: ShortText
    description: LongText
    target_group: TargetGroup
    municipality_code: MunicipalityCode | None = None


class ProposalPatch(ProposalFields):
    """Changes to a proposal. ``version`` must be the version read (else 409: someone changed it meanwhile)."""

    version: Annotated[int, Field(ge=1)]
    status: Status | None = None
    start_date: date | None = None
    end_date: date | None = None
    extend_until: date | None = Field(None, description="extend the pilot to this date (an explicit, recorded step)")
    note: LongText | None = Field(None, description="why: recorded in the history")


class ProposalEventOut(BaseModel):
    at: datetime
    actor: str | None
    kind: str
    from_status: str | None
    to_status: str | None
    note: str | None
    changes: dict[str, Any] | None


class ProposalOut(BaseModel):
    id: int
    title: str
    description: str
    motivation: str | None
    target_group: str
    task_relation: str | None
    municipality_code: str
    capacity: int | None
    location: dict[str, Any] | None = Field(description="GeoJSON geometry, EPSG:4326")
    address: str | None
    floor_area: float | None
    chain_partners: list[str]
    minimum_standards: dict[str, Any]
    status: str
    start_date: date | None
    end_date: date | None
    extended: bool
    score: dict[str, Any] | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    history: list[ProposalEventOut] | None = None


class ProposalList(BaseModel):
    items: list[ProposalOut]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]
    data_vintage: str | None
    scoring_data: Literal["loaded", "not loaded"]
    version: str


class FeatureCollectionOut(Open):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


class TaskRow(BaseModel):
    region_code: str
    level: str
    name: str | None
    province_code: str | None
    population: int
    required: int
    required_basis: str
    required_source: str
    realised: int
    pipeline: int
    gap: int


class TaskTable(BaseModel):
    period: str
    national_total: int | None
    national_total_source: str | None
    notes: list[str]
    rows: list[TaskRow]
