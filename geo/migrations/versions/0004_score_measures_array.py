"""score runs: raw measures as one JSON array per candidate, their names once per run

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 23:10:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Earlier runs stored measures as a JSON object per candidate; they keep it, with no names.
    op.add_column('score_run', sa.Column('measure_names', postgresql.ARRAY(sa.Text()), nullable=False,
                                         server_default='{}'))
    op.alter_column('score_run', 'measure_names', server_default=None)
    op.alter_column('candidate_score', 'measures', type_=sa.JSON(), postgresql_using='measures::json',
                    existing_type=postgresql.JSONB(astext_type=sa.Text()), existing_nullable=False)


def downgrade() -> None:
    op.alter_column('candidate_score', 'measures', type_=postgresql.JSONB(astext_type=sa.Text()),
                    postgresql_using='measures::jsonb', existing_type=sa.JSON(), existing_nullable=False)
    op.drop_column('score_run', 'measure_names')
