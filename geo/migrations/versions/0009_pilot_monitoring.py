"""pilot monitoring: monitoring_value (one figure per pilot, period, indicator, breakdown) and pilot_evaluation

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitoring_value',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=False),
    sa.Column('breakdown', sa.String(length=40), server_default='', nullable=False),
    sa.Column('partner', sa.String(length=40), nullable=True),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.String(length=60), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('value >= 0', name='ck_monitoring_value_nonnegative'),
    sa.CheckConstraint('period_end >= period_start', name='ck_monitoring_value_period'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('proposal_id', 'period', 'indicator', 'breakdown', name='uq_monitoring_value')
    )
    op.create_index(op.f('ix_monitoring_value_proposal_id'), 'monitoring_value', ['proposal_id'], unique=False)
    op.create_table('pilot_evaluation',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('party', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("party IN ('coa', 'municipality')", name='ck_pilot_evaluation_party'),
    sa.CheckConstraint("outcome IN ('positive', 'negative')", name='ck_pilot_evaluation_outcome'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_pilot_evaluation_proposal_id'), 'pilot_evaluation', ['proposal_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pilot_evaluation_proposal_id'), table_name='pilot_evaluation')
    op.drop_table('pilot_evaluation')
    op.drop_index(op.f('ix_monitoring_value_proposal_id'), table_name='monitoring_value')
    op.drop_table('monitoring_value')
