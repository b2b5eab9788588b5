"""Micro-batching of ``POST /score``: requests that arrive while a batch is being scored are scored together.

The scoring engine is vectorised: measuring and grading 30 locations costs about as much as one. So the API
queues each checked location, and one worker thread scores everything queued per profile in a single
:func:`geo.score.grade.grade` call, then explains each row. The result for each location is exactly what
:func:`geo.score.score_location` gives (a test compares them).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely

from geo.score import check_location, explain, require_inside
from geo.score.explain import POINT_NOTE
from geo.score.grade import grade
from geo.score.network import measure_with_network
from geo.score.profile import Profile


@dataclass
class _Job:
    shape: shapely.Geometry
    point: shapely.Point
    capacity: int
    profile: Profile
    floor_area: float | None
    future: asyncio.Future


def score_many(data, jobs: list[_Job]) -> list[dict | Exception]:
    """Score locations (as :func:`geo.score.score_location` would, one by one): measured once for all,
    graded once per profile. A location outside the Netherlands gets its error instead of a result."""
    categories = sorted(set().union(*(job.profile.categories for job in jobs)))
    xy = np.array([[job.point.x, job.point.y] for job in jobs], dtype="float64")
    by_kinds = {}  # measured once per set of network categories (profiles may differ in a category's kind)
    for job in jobs:
        kinds = job.profile.network_categories
        if kinds not in by_kinds:
            by_kinds[kinds] = measure_with_network(data, xy, categories, kinds)
    capacity = np.array([job.capacity for job in jobs])
    floor_area = np.array([np.nan if job.floor_area is None else job.floor_area for job in jobs], dtype=float)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault((job.profile.name, job.profile.version), []).append(i)
    areas = next(iter(by_kinds.values())).area_index["municipality"]  # the same for every set of kinds
    results: list[dict | Exception | None] = list(require_inside(data, areas, xy))
    for rows in groups.values():
        keep = np.array(rows)
        profile = jobs[rows[0]].profile
        area = floor_area[keep] if np.isfinite(floor_area[keep]).any() else None
        measures = by_kinds[profile.network_categories]
        graded = grade(data, measures.subset(keep), capacity[keep], profile, floor_area=area)
        for k, i in enumerate(rows):
            job = jobs[i]
            if results[i] is not None:  # outside: the error stays
                continue
            result = explain(graded, k, data)
            if job.shape.geom_type != "Point":
                result["notes"].append(POINT_NOTE.replace("buildings are", "a polygon is"))
            result["measured_from"] = {"x": round(job.point.x, 3), "y": round(job.point.y, 3), "crs": "EPSG:28992"}
            results[i] = result
    return results


class ScoreBatcher:
    """Queues locations and scores them in batches on one worker thread."""

    def __init__(self, snapshot, max_batch: int = 64, window: float = 0.002):
        self.snapshot = snapshot
        self.window = window
        self.max_batch = max_batch
        self._pending: list[_Job] = []
        self._lock = threading.Lock()
        self._draining = False
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opvangmatch-score")

    async def score(self, shape: shapely.Geometry, capacity: int, profile: Profile, floor_area: float | None) -> dict:
        point = check_location(shape, capacity)  # bad input fails here, alone
        loop = asyncio.get_running_loop()
        job = _Job(shape, point, capacity, profile, floor_area, loop.create_future())
        self._pending.append(job)
        if not self._draining:
            self._draining = True
            self._task = loop.create_task(self._drain())
        return await job.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(self.window)  # let the requests already on their way join this batch
            while self._pending:
                jobs, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                try:
                    results = await loop.run_in_executor(self._executor, self._run, jobs)
                except Exception as exc:  # the same error for every job of the batch
                    for job in jobs:
                        if not job.future.done():
                            job.future.set_exception(exc)
                    continue
                for job, result in zip(jobs, results, strict=True):
                    if job.future.done():
                        continue
                    if isinstance(result, Exception):
                        job.future.set_exception(result)
                    else:
                        job.future.set_result(result)
        finally:
            self._draining = False

    def _run(self, jobs: list[_Job]) -> list[dict]:
        return score_many(self.snapshot.data(), jobs)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
