"""reported_figure: published national and provincial counts of reception places, to reconcile realised with

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reported_figure',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('region_code', sa.String(length=10), nullable=False),
        sa.Column('region_name', sa.Text(), nullable=True),
        sa.Column('indicator', sa.Text(), nullable=False),
        sa.Column('places', sa.Integer(), nullable=True),
        sa.Column('value_text', sa.Text(), nullable=False),
        sa.Column('reference_date', sa.Text(), nullable=True),
        sa.Column('source_url', sa.Text(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_reported_figure_region_code'), 'reported_figure', ['region_code'], unique=False)
    op.create_index(op.f('ix_reported_figure_source'), 'reported_figure', ['source'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_reported_figure_source'), table_name='reported_figure')
    op.drop_index(op.f('ix_reported_figure_region_code'), table_name='reported_figure')
    op.drop_table('reported_figure')
