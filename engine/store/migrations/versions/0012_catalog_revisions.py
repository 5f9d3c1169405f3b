"""catalog revisions (issue #6: catalogs edited in the app, validated, audited): the whistle lists, time
limits, unit tree, duty rosters and calendar an administrator saved; the newest of a name is in force

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalog_revision',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('name', sa.String(40), nullable=False),
                    sa.Column('content', sa.Text(), nullable=False),
                    sa.Column('sha256', sa.String(64), nullable=False),
                    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('actor', sa.String(100), nullable=False),
                    sa.Column('summary', sa.JSON(), nullable=False))
    op.create_index('ix_catalog_revision_name_id', 'catalog_revision', ['name', 'id'])


def downgrade() -> None:
    op.drop_index('ix_catalog_revision_name_id', table_name='catalog_revision')
    op.drop_table('catalog_revision')
