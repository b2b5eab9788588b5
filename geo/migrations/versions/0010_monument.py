"""Rijksmonumenten (RCE) for the monument flag (score model v2)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:15:00
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        'monument',
        sa.Column('id', sa.String(length=20), nullable=False),
        sa.Column('complex_number', sa.Text(), nullable=True),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('geom', Geometry(geometry_type='GEOMETRY', srid=28992, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_monument_source'), 'monument', ['source'], unique=False)
    op.create_geospatial_index('idx_monument_geom', 'monument', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index('idx_monument_geom', table_name='monument', postgresql_using='gist', column_name='geom')
    op.drop_index(op.f('ix_monument_source'), table_name='monument')
    op.drop_geospatial_table('monument')
