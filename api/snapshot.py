"""The app's in-memory scoring data: read once, shared by all requests, refreshed when the data changes.

``POST /score`` works on this snapshot only (no database round trip). Every ``refresh_seconds`` one request
compares the database's data vintage with the snapshot's and reloads when it differs; a proposal change that
moves places into or out of the pipeline marks the task figures stale, and they are recomputed at next use.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.candidate_table import CandidateTable
from geo.db.status import data_vintage
from geo.score import ScoringData, score_candidates
from geo.score.profile import Profile


class Snapshot:
    """Holds the current :class:`ScoringData` and, per profile, the scored candidate table."""

    def __init__(self, engine: Engine, period: str, refresh_seconds: float = 30.0):
        self.engine = engine
        self.period = period
        self.refresh_seconds = refresh_seconds
        self._lock = threading.RLock()
        self._data: ScoringData | None = None
        self._checked = 0.0
        self._tasks_stale = False
        self._candidates: dict[tuple[str, str], CandidateTable] = {}
        self.generation = 0
        self.task_report: dict = {}

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def data(self) -> ScoringData:
        """The current scoring data (loading or refreshing it when due)."""
        data = self._data
        if data is None:
            with self._lock:
                if self._data is None:
                    self._install(ScoringData.load(self.engine, period=self.period))
                return self._data
        if self._tasks_stale:
            with self._lock:
                if self._tasks_stale:
                    self._refresh_tasks()
        elif time.monotonic() - self._checked > self.refresh_seconds:
            self._check_vintage()
        return self._data

    def tasks_changed(self) -> None:
        """Proposals moved places into or out of the pipeline: recompute the task figures at next use."""
        self._tasks_stale = True

    def candidates(self, profile: Profile) -> CandidateTable:
        """Every candidate building scored with ``profile`` on the current data (computed once per data)."""
        data = self.data()
        key = (profile.name, profile.version)
        table = self._candidates.get(key)
        if table is not None and table.generation == self.generation:
            return table
        with self._lock:
            table = self._candidates.get(key)
            if table is None or table.generation != self.generation:
                scores = score_candidates(self.engine, profile, data)
                table = CandidateTable(scores, self.generation)
                self._candidates[key] = table
        return table

    def _install(self, data: ScoringData) -> None:
        # The task frame's report (notes, sources) is kept aside: pandas deep-copies ``attrs`` on every
        # operation, which would make each score several milliseconds slower.
        self.task_report = dict(data.tasks.attrs)
        data.tasks.attrs = {}
        self._data = data
        # The snapshot is large and long-lived: keep it out of the garbage collector's full passes, which
        # otherwise walk all of it now and then and stall requests for tens of milliseconds.
        gc.collect()
        gc.freeze()
        self._checked = time.monotonic()
        self._tasks_stale = False
        self.generation += 1
        self._candidates.clear()

    def _refresh_tasks(self) -> None:
        from geo.task import placement_tasks

        tasks = placement_tasks(self.engine, self.period).set_index("region_code")
        self._install(dataclasses.replace(self._data, tasks=tasks))

    def _check_vintage(self) -> None:
        self._checked = time.monotonic()
        try:
            vintage = data_vintage(self.engine)["id"]
        except sa.exc.SQLAlchemyError:
            return  # the database is away: keep serving the snapshot; /health tells
        if vintage != self._data.vintage["id"]:
            with self._lock:
                self._install(ScoringData.load(self.engine, period=self.period))
