"""Scoring profiles: versioned TOML files, one per target group, validated before any work is done."""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from geo.domain import COMPONENTS, LEVELS, TARGET_GROUPS
from geo.domain import SERVICE_CATEGORIES as CATEGORIES
from geo.errors import ConfigError, InputError

PROFILE_DIR = Path(__file__).resolve().parents[1] / "profiles"


DISTANCE_KINDS = ("straight", "network")


@dataclass(frozen=True)
class CategoryRule:
    weight: float
    good: float
    too_far: float
    distance: str = "straight"  # "network": along the walking network (thresholds in network metres)


@dataclass(frozen=True)
class LevelRule:
    good: float
    too_much: float


@dataclass(frozen=True)
class SizeRule:
    """The preferred capacity band and its preference curve (``size_fit``): 1 from ``low`` to ``high`` places,
    linear from ``at_min`` at the profile's ``min_places`` up to ``low`` and from ``high`` down to ``at_max`` at
    ``max_places``."""

    low: float
    high: float
    at_min: float
    at_max: float

    def points(self, min_places: float, max_places: float) -> tuple[list[float], list[float]]:
        xs = [min_places, self.low, self.high, max_places]
        ys = [self.at_min, 1.0, 1.0, self.at_max]
        return xs, ys


@dataclass(frozen=True)
class UseRule:
    """Which BAG uses a profile accepts, the floor-area share a pand needs in them, and the floor-area band."""

    accepted: tuple[str, ...]
    min_share: float
    floor_area_min: float
    floor_area_max: float


@dataclass(frozen=True)
class RankingRule:
    """Score bands (``band_width``) and the secondary criteria that order candidates inside a band."""

    band_width: float
    secondary: tuple[str, ...]


SECONDARY = ("availability", "use", "size_fit", "measured_share", "total")
"""Secondary criteria a profile may name (each: higher first); ties left after them are ordered by id."""


@dataclass(frozen=True)
class Profile:
    """A validated profile. ``version`` is a hash of its (merged) content."""

    name: str
    target_group: str
    description: str
    weights: dict[str, float]
    min_places: int
    max_places: int
    m2_per_place: float
    min_population: int
    levels: dict[str, LevelRule]
    categories: dict[str, CategoryRule]
    use_cbs_estimate: bool
    estimate_weight: float
    storey_height_m: float
    size: SizeRule
    use: UseRule
    ranking: RankingRule
    content: dict = field(repr=False, compare=False)
    version: str = ""

    @classmethod
    def from_dict(cls, data: dict, origin: str = "profile") -> Profile:
        return _validate(data, origin)

    def changed(self, **changes) -> Profile:
        """A copy with parts of the content replaced, e.g. ``weights={...}`` or
        ``categories={"gp": {"weight": 5, ...}}`` (merged into the existing content), re-validated."""
        return _validate(_merge(self.content, changes), f"{self.name} (changed)")

    def as_dict(self) -> dict:
        return copy.deepcopy(self.content)

    @property
    def network_categories(self) -> tuple[str, ...]:
        """The categories this profile measures along the walking network."""
        return tuple(c for c, rule in self.categories.items() if rule.distance == "network")


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key == "categories" and "proximity" in out:
            out.setdefault("proximity", {}).setdefault("categories", {}).update(copy.deepcopy(value))
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key != "categories":
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"profile file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"profile {path}: not valid TOML: {exc}") from exc


def available_profiles(directory: Path = PROFILE_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_profile(name_or_path: str | Path, directory: Path = PROFILE_DIR) -> Profile:
    """Load a profile by name (``families``) or path, following ``extends``."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        if str(name_or_path) not in available_profiles(directory):
            raise InputError(
                f"unknown profile {str(name_or_path)!r}; choose one of {', '.join(available_profiles(directory))}"
            )
        path = directory / f"{name_or_path}.toml"
    data = _read(path)
    seen = {path.stem}
    while "extends" in data:
        parent = data.pop("extends")
        if parent in seen:
            raise ConfigError(f"profile {path}: 'extends' loops back to {parent!r}")
        seen.add(parent)
        parent_data = _read(directory / f"{parent}.toml")
        parent_extends = parent_data.pop("extends", None)
        child_categories = data.get("proximity", {}).pop("categories", {}) if "proximity" in data else {}
        merged = _merge(parent_data, data)
        merged.setdefault("proximity", {}).setdefault("categories", {}).update(child_categories)
        data = merged
        if parent_extends:
            data["extends"] = parent_extends
    return _validate(data, str(path))


def profile_for_group(target_group: str) -> Profile:
    if target_group not in TARGET_GROUPS:
        raise InputError(f"unknown target group {target_group!r}; choose one of {', '.join(TARGET_GROUPS)}")
    return load_profile(target_group)


def _number(origin: str, where: str, value, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"profile {origin}: {where} must be a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(
            f"profile {origin}: {where} must be {'positive' if positive else 'zero or more'}, got {value}"
        )
    return float(value)


def _validate(data: dict, origin: str) -> Profile:
    try:
        weights_in = data["weights"]
        capacity = data["capacity"]
        fit = data["proportional_fit"]
        proximity = data["proximity"]
        categories_in = proximity["categories"]
    except KeyError as exc:
        raise ConfigError(f"profile {origin}: missing section or key {exc.args[0]!r}") from exc
    weights = {}
    for component in COMPONENTS:
        if component not in weights_in:
            raise ConfigError(f"profile {origin}: missing weight weights.{component}")
        weights[component] = _number(origin, f"weights.{component}", weights_in[component])
    unknown = set(weights_in) - set(COMPONENTS)
    if unknown:
        raise ConfigError(f"profile {origin}: unknown component weight(s) {sorted(unknown)}")
    if sum(weights.values()) == 0:
        raise ConfigError(f"profile {origin}: all component weights are zero")
    levels = {}
    for level in LEVELS:
        rule = fit.get(level)
        if not isinstance(rule, dict) or "good" not in rule or "too_much" not in rule:
            raise ConfigError(f"profile {origin}: proportional_fit.{level} needs good and too_much")
        good = _number(origin, f"proportional_fit.{level}.good", rule["good"], positive=True)
        too_much = _number(origin, f"proportional_fit.{level}.too_much", rule["too_much"], positive=True)
        if good >= too_much:
            raise ConfigError(
                f"profile {origin}: proportional_fit.{level}: good ({good:g}) must be below too_much ({too_much:g})"
            )
        levels[level] = LevelRule(good, too_much)
    default_kind = proximity.get("distance", "straight")
    if default_kind not in DISTANCE_KINDS:
        raise ConfigError(f"profile {origin}: proximity.distance must be one of {DISTANCE_KINDS}, got {default_kind!r}")
    categories = {}
    for name, rule in sorted(categories_in.items()):
        if name not in CATEGORIES:
            raise ConfigError(f"profile {origin}: unknown service category {name!r}")
        for key in ("weight", "good", "too_far"):
            if not isinstance(rule, dict) or key not in rule:
                raise ConfigError(f"profile {origin}: proximity.categories.{name} misses {key!r}")
        weight = _number(origin, f"proximity.categories.{name}.weight", rule["weight"])
        good = _number(origin, f"proximity.categories.{name}.good", rule["good"])
        too_far = _number(origin, f"proximity.categories.{name}.too_far", rule["too_far"], positive=True)
        if good >= too_far:
            raise ConfigError(
                f"profile {origin}: proximity.categories.{name}: "
                f"good ({good:g} m) must be below too_far ({too_far:g} m)"
            )
        kind = rule.get("distance", default_kind)
        if kind not in DISTANCE_KINDS:
            raise ConfigError(
                f"profile {origin}: proximity.categories.{name}.distance must be one of {DISTANCE_KINDS}, got {kind!r}"
            )
        categories[name] = CategoryRule(weight, good, too_far, kind)
    if not any(rule.weight > 0 for rule in categories.values()):
        raise ConfigError(f"profile {origin}: every service category has weight 0")
    min_places = int(_number(origin, "capacity.min_places", capacity.get("min_places"), positive=True))
    max_places = int(_number(origin, "capacity.max_places", capacity.get("max_places"), positive=True))
    if min_places > max_places:
        raise ConfigError(f"profile {origin}: capacity.min_places ({min_places}) exceeds max_places ({max_places})")
    m2_per_place = _number(origin, "capacity.m2_per_place", capacity.get("m2_per_place"), positive=True)
    size = _size_rule(origin, capacity.get("preferred"), min_places, max_places)
    use = _use_rule(origin, data.get("use"))
    ranking = _ranking_rule(origin, data.get("ranking"))
    estimate_weight = _number(origin, "proximity.estimate_weight", proximity.get("estimate_weight", None))
    if estimate_weight > 1:
        raise ConfigError(
            f"profile {origin}: proximity.estimate_weight must be between 0 and 1, got {estimate_weight:g}"
        )
    storey_height = _number(origin, "capacity.storey_height_m", capacity.get("storey_height_m"), positive=True)
    content = copy.deepcopy(data)
    version = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]
    return Profile(
        name=str(data.get("name", Path(origin).stem)),
        target_group=str(data.get("target_group", "all")),
        description=str(data.get("description", "")),
        weights=weights,
        min_places=min_places,
        max_places=max_places,
        m2_per_place=m2_per_place,
        min_population=int(_number(origin, "proportional_fit.min_population", fit.get("min_population", 0))),
        levels=levels,
        categories=categories,
        use_cbs_estimate=bool(proximity.get("use_cbs_estimate", False)),
        estimate_weight=estimate_weight,
        storey_height_m=storey_height,
        size=size,
        use=use,
        ranking=ranking,
        content=content,
        version=version,
    )


def _section(origin: str, name: str, value) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"profile {origin}: missing section or key {name!r}")
    return value


def _size_rule(origin: str, rule, min_places: int, max_places: int) -> SizeRule:
    rule = _section(origin, "capacity.preferred", rule)
    low = _number(origin, "capacity.preferred.low", rule.get("low"), positive=True)
    high = _number(origin, "capacity.preferred.high", rule.get("high"), positive=True)
    if not min_places <= low <= high <= max_places:
        raise ConfigError(
            f"profile {origin}: capacity.preferred needs min_places <= low <= high <= max_places, got "
            f"{min_places} <= {low:g} <= {high:g} <= {max_places}"
        )
    ends = {}
    for key in ("at_min", "at_max"):
        ends[key] = _number(origin, f"capacity.preferred.{key}", rule.get(key))
        if ends[key] > 1:
            raise ConfigError(f"profile {origin}: capacity.preferred.{key} must be between 0 and 1, got {ends[key]:g}")
    return SizeRule(low, high, ends["at_min"], ends["at_max"])


def _use_rule(origin: str, rule) -> UseRule:
    from geo.score.use import USES, normalise_use

    rule = _section(origin, "use", rule)
    accepted = rule.get("accepted")
    if not isinstance(accepted, list) or not accepted or not all(isinstance(u, str) for u in accepted):
        raise ConfigError(f"profile {origin}: use.accepted must be a non-empty list of BAG gebruiksdoelen")
    names = tuple(sorted({normalise_use(u) for u in accepted}))
    unknown = [u for u in names if u not in USES]
    if unknown:
        raise ConfigError(
            f"profile {origin}: use.accepted: unknown gebruiksdoel(en) {unknown}; choose from {list(USES)}"
        )
    share = _number(origin, "use.min_share", rule.get("min_share"), positive=True)
    if share > 1:
        raise ConfigError(f"profile {origin}: use.min_share must be at most 1, got {share:g}")
    band = _section(origin, "use.floor_area", rule.get("floor_area"))
    low = _number(origin, "use.floor_area.min", band.get("min"))
    high = _number(origin, "use.floor_area.max", band.get("max"), positive=True)
    if low >= high:
        raise ConfigError(f"profile {origin}: use.floor_area: min ({low:g}) must be below max ({high:g})")
    return UseRule(names, share, low, high)


def _ranking_rule(origin: str, rule) -> RankingRule:
    rule = _section(origin, "ranking", rule)
    width = _number(origin, "ranking.band_width", rule.get("band_width"), positive=True)
    if width >= 1:
        raise ConfigError(f"profile {origin}: ranking.band_width must be below 1, got {width:g}")
    secondary = rule.get("secondary", [])
    if (
        not isinstance(secondary, list)
        or any(c not in SECONDARY for c in secondary)
        or len(set(secondary)) < len(secondary)
    ):
        raise ConfigError(
            f"profile {origin}: ranking.secondary must list distinct criteria of {list(SECONDARY)}, got {secondary!r}"
        )
    return RankingRule(width, tuple(secondary))
