"""walking network (nodes, edges) and the pgRouting extension

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:00:00
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    available = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'")).scalar()
    if not available:
        raise RuntimeError(
            "the pgRouting extension is not installed on this PostgreSQL server: install it "
            "(Debian: apt-get install postgresql-<major>-pgrouting; 'make setup' does) and run the command again")
    op.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    op.create_geospatial_table('network_node',
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=28992, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('source', 'id')
    )
    op.create_geospatial_index('idx_network_node_geom', 'network_node', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('network_edge',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('from_node', sa.BigInteger(), nullable=False),
    sa.Column('to_node', sa.BigInteger(), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('reverse_cost', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('osm_way_id', sa.BigInteger(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=28992, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('idx_network_edge_geom', 'network_edge', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_network_edge_source'), 'network_edge', ['source'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_network_edge_source'), table_name='network_edge')
    op.drop_geospatial_index('idx_network_edge_geom', table_name='network_edge', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('network_edge')
    op.drop_geospatial_index('idx_network_node_geom', table_name='network_node', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('network_node')
    op.execute("DROP EXTENSION IF EXISTS pgrouting")
