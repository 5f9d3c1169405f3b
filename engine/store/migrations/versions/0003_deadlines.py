"""deadlines (§8 time limits as records), supervision (§9.1), extension requests (§8.4)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('deadline',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instance.id'), nullable=False),
                    sa.Column('kind', sa.String(40), nullable=False),
                    sa.Column('task_spec', sa.String(100), nullable=False),
                    sa.Column('timer_task_id', sa.String(36), nullable=True),
                    sa.Column('unit', sa.String(60), nullable=True),
                    sa.Column('person', sa.String(100), nullable=True),
                    sa.Column('community', sa.String(60), nullable=True),
                    sa.Column('basis', sa.String(10), nullable=False),
                    sa.Column('rule', sa.String(100), nullable=False),
                    sa.Column('started_at', TZ, nullable=False),
                    sa.Column('original_due_at', TZ, nullable=False),
                    sa.Column('due_at', TZ, nullable=False),
                    sa.Column('warn_at', TZ, nullable=False),
                    sa.Column('status', sa.String(12), nullable=False),
                    sa.Column('extended', sa.Boolean(), nullable=False),
                    sa.Column('extensions', sa.Integer(), nullable=False),
                    sa.Column('warned_at', TZ, nullable=True),
                    sa.Column('met_at', TZ, nullable=True),
                    sa.Column('missed_at', TZ, nullable=True),
                    sa.Column('calendar_warning', sa.String(300), nullable=True))
    op.create_index('ix_deadline_event_id', 'deadline', ['event_id'])
    op.create_index('ix_deadline_timer_task_id', 'deadline', ['timer_task_id'])
    op.create_index('ix_deadline_unit', 'deadline', ['unit'])
    op.create_index('ix_deadline_person', 'deadline', ['person'])
    op.create_index('ix_deadline_community', 'deadline', ['community'])
    op.create_index('ix_deadline_status_warn', 'deadline', ['status', 'warn_at'])
    op.create_index('ix_deadline_instance_kind', 'deadline', ['instance_id', 'kind'])
    op.create_table('supervision',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('deadline_id', sa.Integer(), sa.ForeignKey('deadline.id'), nullable=True),
                    sa.Column('kind', sa.String(40), nullable=False),
                    sa.Column('unit', sa.String(60), nullable=True),
                    sa.Column('person', sa.String(100), nullable=True),
                    sa.Column('community', sa.String(60), nullable=True),
                    sa.Column('reason', sa.String(300), nullable=False),
                    sa.Column('status', sa.String(10), nullable=False),
                    sa.Column('opened_at', TZ, nullable=False),
                    sa.Column('closed_at', TZ, nullable=True))
    for column in ('event_id', 'deadline_id', 'kind', 'unit', 'person', 'community', 'status'):
        op.create_index(f'ix_supervision_{column}', 'supervision', [column])
    op.create_table('extension_request',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('deadline_id', sa.Integer(), sa.ForeignKey('deadline.id'), nullable=False),
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('requested_by', sa.String(100), nullable=False),
                    sa.Column('requested_at', TZ, nullable=False),
                    sa.Column('reason', sa.Text(), nullable=False),
                    sa.Column('requested_due_at', TZ, nullable=True),
                    sa.Column('status', sa.String(10), nullable=False),
                    sa.Column('decided_by', sa.String(100), nullable=True),
                    sa.Column('decided_at', TZ, nullable=True),
                    sa.Column('new_due_at', TZ, nullable=True),
                    sa.Column('decision_note', sa.Text(), nullable=True))
    for column in ('deadline_id', 'event_id', 'status'):
        op.create_index(f'ix_extension_request_{column}', 'extension_request', [column])


def downgrade() -> None:
    op.drop_table('extension_request')
    op.drop_table('supervision')
    op.drop_table('deadline')
