"""Proposals: the stappenplan inventory, its location and score, and a status that moves step by step.

    submitted -> in_preparation (plan of action) -> agreement_signed -> active -> evaluated
    any open step -> withdrawn

A proposal needs a location and a capacity from the plan of action on; it is scored as soon as it has both. A
pilot runs at most two years from its start; going beyond is an explicit extension, recorded in the history.
Writes use optimistic concurrency: a change names the version it read, and a stale version is refused.

The rules (:mod:`geo.proposals.rules`) know no database; the store (:mod:`geo.proposals.store`) reads and writes
the ``proposal`` and ``proposal_event`` tables. Refusals are domain errors (:mod:`geo.errors`): the API answers
them as problem+json, the maps and the task use the same functions. Scoring is passed in (a ``scorer``), so the
rules do not depend on how the caller keeps its scoring data.
"""

from __future__ import annotations

from geo.proposals.rules import MAX_YEARS, TRANSITIONS, Actor, check_transition, plan_change, years_later
from geo.proposals.store import create, listing, located, pipeline_places, read, update

__all__ = [
    "MAX_YEARS",
    "TRANSITIONS",
    "Actor",
    "check_transition",
    "create",
    "listing",
    "located",
    "pipeline_places",
    "plan_change",
    "read",
    "update",
    "years_later",
]
