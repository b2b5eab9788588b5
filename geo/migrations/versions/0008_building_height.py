"""3D BAG building heights (storeys from height, score model v2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'building_height',
        sa.Column('id', sa.String(length=20), nullable=False),
        sa.Column('ground_m', sa.Float(), nullable=True),
        sa.Column('roof_m', sa.Float(), nullable=True),
        sa.Column('height_m', sa.Float(), nullable=True),
        sa.Column('roof_type', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_building_height_source'), 'building_height', ['source'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_building_height_source'), table_name='building_height')
    op.drop_table('building_height')
