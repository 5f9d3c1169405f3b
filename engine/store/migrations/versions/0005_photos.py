"""photos (issue #5, §7.1 实时照片, §8.5): one row per event and content hash, the file under the media
directory

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('photo',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('sha256', sa.String(64), nullable=False),
                    sa.Column('content_type', sa.String(20), nullable=False),
                    sa.Column('bytes', sa.Integer(), nullable=False),
                    sa.Column('width', sa.Integer(), nullable=False),
                    sa.Column('height', sa.Integer(), nullable=False),
                    sa.Column('taken_at', TZ, nullable=True),
                    sa.Column('gps_lat', sa.Float(), nullable=True),
                    sa.Column('gps_lng', sa.Float(), nullable=True),
                    sa.Column('distance_m', sa.Float(), nullable=True),
                    sa.Column('flags', sa.JSON(), nullable=False),
                    sa.Column('uploaded_by', sa.String(100), nullable=False),
                    sa.Column('uploaded_at', TZ, nullable=False),
                    sa.UniqueConstraint('event_id', 'sha256', name='uq_photo_event_sha256'))


def downgrade() -> None:
    op.drop_table('photo')
