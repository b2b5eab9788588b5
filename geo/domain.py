"""The domain's constants, once: where the Netherlands lies, the reference systems, levels, components, target
groups, service categories and proposal statuses. Every module that needs one imports it from here.

Nothing is built at import: the coordinate transformers are made on first use and kept (:func:`rd_to_wgs84`,
:func:`wgs84_to_rd`). The task period is not a constant: it is the setting ``Settings.task_period`` (default
:data:`DEFAULT_TASK_PERIOD`), passed to whoever needs it.
"""

from __future__ import annotations

import functools

# Reference systems: everything is stored and measured in RD New metres; the web speaks WGS84.
SRID_RD = 28992
SRID_WGS84 = 4326
RD = f"EPSG:{SRID_RD}"
WGS84 = f"EPSG:{SRID_WGS84}"

# The area of use of EPSG:28992 (Netherlands, onshore and offshore), in RD metres, and a box around the
# Netherlands in degrees (longitude, latitude): a point outside is not in the Netherlands.
NL_BOUNDS_RD = (-7_000.0, 289_000.0, 300_000.0, 629_000.0)
NL_BOUNDS_WGS84 = (3.2, 50.7, 7.3, 53.7)

# The regions a location belongs to, smallest first, and the scoring components in the order they are shown.
LEVELS = ("buurt", "wijk", "municipality")
COMPONENTS = ("proportional_fit", "proximity", "task_contribution", "size_fit")
TARGET_GROUPS = ("families", "single_adults", "amv", "permit_holders")

# Service categories a point can have (loaders refuse others; profiles weigh these).
SERVICE_CATEGORIES = (
    "gp",
    "pharmacy",
    "supermarket",
    "primary_school",
    "secondary_school",
    "hospital",
    "library",
    "train_station",
    "bus_stop",
    "tram_metro_stop",
    "ferry_stop",
    "childcare",
)

# The stappenplan of a proposal: inventory (submitted) -> plan of action (in_preparation) -> bestuurlijke
# overeenkomst (agreement_signed) -> running pilot (active) -> evaluated; withdrawn at any open step. The places
# of proposals in PIPELINE_STATUSES count as pipeline in the task.
PROPOSAL_STATUSES = ("submitted", "in_preparation", "agreement_signed", "active", "evaluated", "withdrawn")
PIPELINE_STATUSES = ("in_preparation", "agreement_signed")

# The task period used when none is given (the setting OPVANGMATCH_TASK_PERIOD overrides it).
DEFAULT_TASK_PERIOD = "2024"


@functools.cache
def rd_to_wgs84():
    """The RD New -> WGS84 transformer (x, y order), made on first use."""
    from pyproj import Transformer

    return Transformer.from_crs(SRID_RD, SRID_WGS84, always_xy=True)


@functools.cache
def wgs84_to_rd():
    """The WGS84 -> RD New transformer (longitude, latitude order), made on first use."""
    from pyproj import Transformer

    return Transformer.from_crs(SRID_WGS84, SRID_RD, always_xy=True)
