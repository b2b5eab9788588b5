"""The version of the installed package, as the API reports it (docs and /health)."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version


@functools.cache
def app_version() -> str:
    try:
        return version("opvangmatch")
    except PackageNotFoundError:
        return "0+unknown"
