"""reception rows get a validity period; service datasets declare their coverage per category and area

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 08:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('reception_location', sa.Column('valid_from', sa.Date(), nullable=True))
    op.add_column('reception_location', sa.Column('valid_until', sa.Date(), nullable=True))
    op.add_column('reception_location', sa.Column('open_ended', sa.Boolean(), server_default='false',
                                                  nullable=False))
    op.add_column('dataset', sa.Column('coverage', postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column('dataset', 'coverage')
    op.drop_column('reception_location', 'open_ended')
    op.drop_column('reception_location', 'valid_until')
    op.drop_column('reception_location', 'valid_from')
