"""Monitoring tables: one value per pilot, period, indicator and breakdown; evaluation judgements per party."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from geo.models import Base


class MonitoringValue(Base):
    """One recorded figure of a pilot (a proposal that became active) for one period, with its source and author.

    ``period`` is ``YYYY-Qn`` (quarter) or ``YYYY-MM`` (month); ``breakdown`` is the target group, kind or standard
    the figure is about (empty where the indicator has none). A value that was not recorded has no row: missing is
    never stored as zero.
    """

    __tablename__ = "monitoring_value"
    __table_args__ = (
        UniqueConstraint("proposal_id", "period", "indicator", "breakdown", name="uq_monitoring_value"),
        CheckConstraint("value >= 0", name="ck_monitoring_value_nonnegative"),
        CheckConstraint("period_end >= period_start", name="ck_monitoring_value_period"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(Integer, ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    dimension: Mapped[str] = mapped_column(String(20))
    indicator: Mapped[str] = mapped_column(String(40))
    breakdown: Mapped[str] = mapped_column(String(40), server_default="")
    partner: Mapped[str | None] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(60))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PilotEvaluation(Base):
    """A party's recorded judgement of a pilot (COA or the municipality): positive or negative, with its basis."""

    __tablename__ = "pilot_evaluation"
    __table_args__ = (
        CheckConstraint("party IN ('coa', 'municipality')", name="ck_pilot_evaluation_party"),
        CheckConstraint("outcome IN ('positive', 'negative')", name="ck_pilot_evaluation_outcome"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(Integer, ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    party: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
