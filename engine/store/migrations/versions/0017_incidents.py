"""incidents (流程异常, issue #15): a step that failed at run time — a task's completion, a timer's firing —
kept open for the process administrators until a retry succeeds

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instance.id'), nullable=False),
        sa.Column('version_id', sa.Integer(), sa.ForeignKey('process_version.id'), nullable=False),
        sa.Column('element', sa.String(100), nullable=True),
        sa.Column('activity', sa.String(200), nullable=False),
        sa.Column('task_id', sa.String(36), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=True),
        sa.Column('actor', sa.String(100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('opened_at', TZ, nullable=False),
        sa.Column('last_failed_at', TZ, nullable=False),
        sa.Column('resolved_at', TZ, nullable=True),
        sa.Column('resolved_by', sa.String(100), nullable=True),
        sa.Column('resolution', sa.String(20), nullable=True),
    )
    for column in ('status', 'event_id', 'instance_id', 'version_id', 'task_id'):
        op.create_index(f'ix_incident_{column}', 'incident', [column])


def downgrade() -> None:
    for column in ('status', 'event_id', 'instance_id', 'version_id', 'task_id'):
        op.drop_index(f'ix_incident_{column}', table_name='incident')
    op.drop_table('incident')
