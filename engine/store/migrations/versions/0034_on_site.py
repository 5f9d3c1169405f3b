"""on site (issue #19): §8.3 到场 check-ins compared with the event's location — one `arrival_check` row per 到场,
`far` past EVENTFLOW_ARRIVAL_FAR_M (shown on the event, named in the circular, §9.1), indexed for the circular's
period reads — and 即知即改: `event.on_spot` holds a report made as already fixed on the spot (its before/after
photos, who fixed it) and the community's verification of it

Revision ID: 0034
Revises: 0033
Create Date: 2027-01-20
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('arrival_check',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('instance_id', sa.Integer()),
                    sa.Column('unit', sa.String(60)),
                    sa.Column('person', sa.String(100)),
                    sa.Column('community', sa.String(60)),
                    sa.Column('lat', sa.Float(), nullable=False),
                    sa.Column('lng', sa.Float(), nullable=False),
                    sa.Column('distance_m', sa.Float()),
                    sa.Column('limit_m', sa.Float(), nullable=False),
                    sa.Column('far', sa.Boolean(), nullable=False),
                    sa.Column('reason', sa.String(300), nullable=False),
                    sa.Column('checked_at', TZ, nullable=False))
    op.create_index('ix_arrival_check_event_id', 'arrival_check', ['event_id'])
    op.create_index('ix_arrival_check_far_at', 'arrival_check', ['far', 'checked_at'])
    op.add_column('event', sa.Column('on_spot', sa.JSON()))


def downgrade() -> None:
    op.drop_column('event', 'on_spot')      # not batch: SQLite would copy the table and lose its triggers
    op.drop_index('ix_arrival_check_far_at', table_name='arrival_check')
    op.drop_index('ix_arrival_check_event_id', table_name='arrival_check')
    op.drop_table('arrival_check')
