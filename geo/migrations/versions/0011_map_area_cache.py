"""map area cache: areas cleaned into a coverage and simplified once, keyed by a hash of their input (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 11:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('map_area_cache',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('wkb', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('digest', 'position')
    )


def downgrade() -> None:
    op.drop_table('map_area_cache')
