"""下派 (issue #19): `delegation`, a unit's task passed down to a sub-unit or a person of its tree with a
sub-deadline inside the unit's own limit; its yellow light and miss wait as the row's times, fired by the
sweep's job (engine/casework/delegation.py)

Revision ID: 0031
Revises: 0030
Create Date: 2027-01-20
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('delegation',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instance.id'), nullable=False),
                    sa.Column('task_id', sa.String(36), nullable=False),
                    sa.Column('task_spec', sa.String(100), nullable=False),
                    sa.Column('task_name', sa.String(200), nullable=False),
                    sa.Column('unit', sa.String(60), nullable=False),
                    sa.Column('deadline_id', sa.Integer(), sa.ForeignKey('deadline.id')),
                    sa.Column('to_unit', sa.String(60)),
                    sa.Column('to_person', sa.String(100)),
                    sa.Column('note', sa.Text()),
                    sa.Column('passed_by', sa.String(100), nullable=False),
                    sa.Column('passed_at', TZ, nullable=False),
                    sa.Column('due_at', TZ, nullable=False),
                    sa.Column('warn_at', TZ, nullable=False),
                    sa.Column('warned_at', TZ),
                    sa.Column('missed_at', TZ),
                    sa.Column('status', sa.String(12), nullable=False),
                    sa.Column('ended_at', TZ),
                    sa.Column('ended_by', sa.String(100)),
                    sa.Column('end_reason', sa.Text()))
    op.create_index('ix_delegation_event_id', 'delegation', ['event_id'])
    op.create_index('ix_delegation_task_status', 'delegation', ['task_id', 'status'])
    op.create_index('ix_delegation_status_due', 'delegation', ['status', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_delegation_status_due', table_name='delegation')
    op.drop_index('ix_delegation_task_status', table_name='delegation')
    op.drop_index('ix_delegation_event_id', table_name='delegation')
    op.drop_table('delegation')
