"""monthly community reports (issue #8, §9.2): patrol check-ins, key hazard rectification points, and each
community's month (reminded, flagged)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('patrol',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('username', sa.String(100), nullable=False),
                    sa.Column('community', sa.String(60), nullable=False),
                    sa.Column('grid', sa.String(100), nullable=False),
                    sa.Column('at', TZ, nullable=False),
                    sa.Column('lat', sa.Float(), nullable=True),
                    sa.Column('lng', sa.Float(), nullable=True),
                    sa.Column('note', sa.Text(), nullable=True))
    op.create_index('ix_patrol_username', 'patrol', ['username'])
    op.create_index('ix_patrol_community_at', 'patrol', ['community', 'at'])
    op.create_table('hazard_point',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('community', sa.String(60), nullable=False),
                    sa.Column('month', sa.String(7), nullable=False),
                    sa.Column('title', sa.String(200), nullable=False),
                    sa.Column('description', sa.Text(), nullable=False),
                    sa.Column('address', sa.String(300), nullable=False),
                    sa.Column('status', sa.String(10), nullable=False),
                    sa.Column('reported_by', sa.String(100), nullable=False),
                    sa.Column('reported_at', TZ, nullable=False),
                    sa.Column('before_photos', sa.JSON(), nullable=False),
                    sa.Column('rectified_by', sa.String(100), nullable=True),
                    sa.Column('rectified_at', TZ, nullable=True),
                    sa.Column('rectification_note', sa.Text(), nullable=True),
                    sa.Column('after_photos', sa.JSON(), nullable=False),
                    sa.Column('verified_by', sa.String(100), nullable=True),
                    sa.Column('verified_at', TZ, nullable=True),
                    sa.Column('verify_note', sa.Text(), nullable=True))
    op.create_index('ix_hazard_point_community_month', 'hazard_point', ['community', 'month'])
    op.create_table('hazard_month',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('community', sa.String(60), nullable=False),
                    sa.Column('month', sa.String(7), nullable=False),
                    sa.Column('reminded_at', TZ, nullable=True),
                    sa.Column('flagged_at', TZ, nullable=True),
                    sa.UniqueConstraint('community', 'month'))


def downgrade() -> None:
    op.drop_table('hazard_month')
    op.drop_index('ix_hazard_point_community_month', table_name='hazard_point')
    op.drop_table('hazard_point')
    op.drop_index('ix_patrol_community_at', table_name='patrol')
    op.drop_index('ix_patrol_username', table_name='patrol')
    op.drop_table('patrol')
