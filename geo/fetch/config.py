"""Where to fetch from and where to cache: base URLs and folders, from :class:`Settings` or arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from geo.settings import OVERPASS_URL, PDOK_URL, PROJECT_ROOT, THREEDBAG_URL, Settings


@dataclass(frozen=True)
class FetchConfig:
    """Base URLs of the services and the cache folder.

    Attributes
    ----------
    pdok_url : root of PDOK's APIs (BAG and CBS OGC API Features, Locatieserver).
    overpass_url : the Overpass API interpreter endpoint.
    threedbag_url : root of the 3D BAG API (OGC API Features serving CityJSONFeatures).
    cache_dir : folder for cached answers and the files that are loaded.
    timeout : seconds per request before giving up on an answer.
    min_interval : seconds between two network requests (politeness towards the services).
    overpass_timeout : the Overpass query's own ``[timeout:]`` budget in seconds; the HTTP read
        timeout of that request is set above it.
    overpass_wait : seconds to wait after an Overpass HTTP 429 when ``/api/status`` names no time.
    overpass_min_wait : the least wait after a 429, even when a slot is said to be free.
    overpass_max_wait : a longer wait asked by the service is an error ("try later"), not a pause.
    """

    pdok_url: str = PDOK_URL
    overpass_url: str = OVERPASS_URL
    threedbag_url: str = THREEDBAG_URL
    cache_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".cache" / "fetch")
    timeout: float = 60.0
    min_interval: float = 0.2
    overpass_timeout: int = 300
    overpass_wait: float = 60.0
    overpass_min_wait: float = 1.0
    overpass_max_wait: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> FetchConfig:
        """The settings' URLs and cache folder (``OPVANGMATCH_PDOK_URL``, ``..._OVERPASS_URL``,
        ``..._3DBAG_URL``, ``..._FETCH_CACHE``)."""
        values = {
            "pdok_url": settings.pdok_url,
            "overpass_url": settings.overpass_url,
            "threedbag_url": settings.threedbag_url,
            "cache_dir": settings.fetch_cache,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
