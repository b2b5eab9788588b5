"""Request and response models (pydantic; GeoJSON geometries from geojson-pydantic)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from geojson_pydantic import MultiPolygon, Point, Polygon
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic import Strict as StrictType

from api.errors import NUL_PATTERN
from geo.domain import NL_BOUNDS_RD, NL_BOUNDS_WGS84, PROPOSAL_STATUSES, TARGET_GROUPS
from geo.score import MAX_CAPACITY, available_profiles

# Every request text is one of these: a NUL character (which PostgreSQL text cannot hold) is refused with 422
# naming the field, in bodies, queries and paths alike; the pattern is in the OpenAPI schema.
NO_NUL = NUL_PATTERN


def Text(min_length: int = 0, max_length: int | None = None, *, strip: bool = False):  # noqa: N802 (a type)
    """A request string without NUL characters, of ``min_length``..``max_length`` characters."""
    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=max_length, strip_whitespace=strip, pattern=NO_NUL)
    ]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _numbers_only(value: Any) -> Any:
    """GeoJSON coordinates (and bbox) must be JSON numbers: "6.1" or true is refused, not converted."""

    def check(node: Any, where: str) -> None:
        if isinstance(node, list):
            for item in node:
                check(item, where)
        elif isinstance(node, bool) or not isinstance(node, int | float):
            raise ValueError(f"{where} must hold JSON numbers only, got {_json_type(node)}")

    if isinstance(value, dict):
        for key in ("coordinates", "bbox"):
            if value.get(key) is not None:
                if not isinstance(value[key], list):
                    raise ValueError(f"{key} must be an array of numbers, got {_json_type(value[key])}")
                check(value[key], key)
    return value


def _date_text(value: Any) -> Any:
    """Dates are ISO text (YYYY-MM-DD), never a number (or a number as text, "0") read as a Unix time."""
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    shown = repr(value[:20]) if isinstance(value, str) else _json_type(value)
    raise ValueError(f"must be a date as text (YYYY-MM-DD), got {shown}")


TargetGroup = Literal[TARGET_GROUPS]  # type: ignore[valid-type]
Crs = Literal["EPSG:4326", "EPSG:28992"]
Location = Annotated[Point | Polygon | MultiPolygon, Field(discriminator="type"), BeforeValidator(_numbers_only)]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^GM\d{4}$")]
ProvinceCode = Annotated[str, StringConstraints(pattern=r"^PV\d{2}$")]
ProfileName = Literal[tuple(available_profiles())]  # type: ignore[valid-type]  (the shipped profiles)
_NUMBER = r"-?\d{1,3}(\.\d{1,15})?"
BBOX_PATTERN = rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$"  # ranges and order are checked by parse_bbox
# Numbers in request bodies are strict: "40" or true is refused, not converted (a JSON integer is a valid float).
Capacity = Annotated[int, StrictType(), Field(ge=1, le=MAX_CAPACITY, description="number of places")]
FloorArea = Annotated[
    float, StrictType(), Field(gt=0, le=1_000_000, allow_inf_nan=False, description="gross floor area, m2")
]
Version = Annotated[int, StrictType(), Field(ge=1)]
IsoDate = Annotated[date, BeforeValidator(_date_text)]
ShortText = Text(1, 200, strip=True)
LongText = Text(max_length=5000)
Status = Literal[PROPOSAL_STATUSES]  # type: ignore[valid-type]


def _within(bounds: tuple[float, float, float, float]) -> dict:
    """JSON Schema: every position of ``location`` (Point, Polygon or MultiPolygon) lies within ``bounds``."""
    x0, y0, x1, y1 = bounds
    position = {
        "type": "array",
        "prefixItems": [
            {"type": "number", "minimum": x0, "maximum": x1},
            {"type": "number", "minimum": y0, "maximum": y1},
        ],
    }
    rings = {"type": "array", "items": {"type": "array", "items": position}}
    coordinates = {"anyOf": [position, rings, {"type": "array", "items": rings}]}
    return {"properties": {"location": {"properties": {"coordinates": coordinates}}}}


# The coordinate ranges the server enforces (api.geometry), by crs: RD New metres or longitude/latitude degrees.
LOCATION_RANGES = {
    "if": {"properties": {"crs": {"const": "EPSG:28992"}}, "required": ["crs"]},
    "then": _within(NL_BOUNDS_RD),
    "else": _within(NL_BOUNDS_WGS84),
}


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
            **LOCATION_RANGES,
            "examples": [
                {
                    "location": {"type": "Point", "coordinates": [6.1375, 52.0128]},
                    "capacity": 40,
                    "target_group": "families",
                }
            ],
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
    status: Literal["measured", "upper_bound", "estimated", "missing"]
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
    model_config = ConfigDict(extra="forbid", json_schema_extra=LOCATION_RANGES)

    title: ShortText | None = None
    description: LongText | None = None
    motivation: LongText | None = None
    target_group: TargetGroup | None = None
    task_relation: LongText | None = Field(None, description="relation to the regional placement task")
    capacity: Capacity | None = None
    location: Location | None = Field(None, description="optional until the plan of action")
    crs: Crs = "EPSG:4326"
    address: Text(max_length=300) | None = None
    floor_area: FloorArea | None = None
    chain_partners: Annotated[list[Text(1, 100)], Field(max_length=20)] | None = None
    minimum_standards: MinimumStandards | None = None


class ProposalCreate(ProposalFields):
    """The inventory step of the stappenplan. A municipality key may leave out ``municipality_code``."""

    title: ShortText
    description: LongText
    target_group: TargetGroup
    municipality_code: MunicipalityCode | None = Field(
        None, description="required, except for a municipality key (its own code is taken; another is 403)"
    )


class ProposalPatch(ProposalFields):
    """Changes to a proposal. ``version`` must be the version read (else 409: someone changed it meanwhile)."""

    version: Version
    status: Status | None = None
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    extend_until: IsoDate | None = Field(None, description="extend the pilot to this date (an explicit, recorded step)")
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
    warnings: list[str] = Field(default_factory=list, description="lifecycle warnings (e.g. the end date is near)")
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
    undated: int = Field(description="places of open reception rows not known to be open on the reference date")
    pipeline: int
    gap: int
    reported_places: int | None = Field(
        None, description="published figure of places of this province that realised is compared with"
    )
    realised_coverage: float | None = Field(None, description="realised / reported_places (provinces only)")
    coverage_note: str | None = Field(
        None, description="how much of the published figure the reception rows cover; says so when it is low"
    )


class Reconciliation(BaseModel):
    region_code: str
    name: str
    realised: int
    undated: int = Field(0, description="places of undated reception rows, not in realised")
    reported_places: int | None
    reported_kind: str | None
    reported_indicator: str | None
    reported_date: str | None
    reported_source: str | None
    realised_coverage: float | None
    coverage_status: str = Field(
        description="unknown (no published figure), low (under half of it), fair, or more (above it)"
    )
    coverage_note: str = Field(description="the coverage in an English sentence (the maps show it in their language)")


class ReceptionNotCounted(BaseModel):
    id: int
    name: str
    municipality_name: str
    capacity: int | None
    status: str
    reason: str


class TaskTable(BaseModel):
    period: str
    reference_date: str | None = Field(None, description="reception sites open on this date count as realised")
    national_total: int | None
    national_total_source: str | None
    notes: list[str]
    reconciliation: list[Reconciliation] = Field(
        default_factory=list, description="realised of the country and each province beside its published figure"
    )
    rows: list[TaskRow]
    reception_not_counted: list[ReceptionNotCounted] = Field(
        default_factory=list, description="reception rows not in realised (undated, expired, closed...), with why"
    )
