"""spot checks (issue #8, §9.3): samples of closed events drawn by the city authority from a recorded seed,
and the finding on each

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('spot_check',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('community', sa.String(60), nullable=False),
                    sa.Column('period_from', TZ, nullable=False),
                    sa.Column('period_to', TZ, nullable=False),
                    sa.Column('size', sa.Integer(), nullable=False),
                    sa.Column('seed', sa.BigInteger(), nullable=False),
                    sa.Column('drawn_by', sa.String(100), nullable=False),
                    sa.Column('drawn_at', TZ, nullable=False),
                    sa.Column('sample', sa.JSON(), nullable=False))
    op.create_index('ix_spot_check_community', 'spot_check', ['community'])
    op.create_table('spot_check_finding',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('spot_check_id', sa.Integer(), sa.ForeignKey('spot_check.id'), nullable=False),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('passed', sa.Boolean(), nullable=False),
                    sa.Column('note', sa.Text(), nullable=False),
                    sa.Column('checked_by', sa.String(100), nullable=False),
                    sa.Column('checked_at', TZ, nullable=False),
                    sa.UniqueConstraint('spot_check_id', 'event_id'))
    op.create_index('ix_spot_check_finding_spot_check_id', 'spot_check_finding', ['spot_check_id'])


def downgrade() -> None:
    op.drop_index('ix_spot_check_finding_spot_check_id', table_name='spot_check_finding')
    op.drop_table('spot_check_finding')
    op.drop_index('ix_spot_check_community', table_name='spot_check')
    op.drop_table('spot_check')
