"""the community's own steps are timed (issue #19, §8.1): the counts kept per day (`tally`, migration 0020)
gain the deadlines of 核实, 研判, 吹哨/派单 and 核查 due and of those done by their due time (社区环节按时率).
No earlier day changes: these deadlines begin with this version, and 0020's triggers on `deadline` already list
the day of every one written from now on.

Revision ID: 0035
Revises: 0034
Create Date: 2027-01-20
"""
import sqlalchemy as sa
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

MEASURES = ('step_due', 'step_on_time')


def upgrade() -> None:
    for name in MEASURES:
        op.add_column('tally', sa.Column(name, sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    for name in MEASURES:
        op.drop_column('tally', name)
