"""compact history and growth (issue #17): an ended instance keeps no state (the rows already ended are
emptied); the duplicate look-ups get their indexes (who is flagged as, or merged into, an event; open
events of a type by time); the deadline indexes nothing looks up by are dropped (five per record)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-20
"""
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

#: deadline indexes no query filters or sorts by (their columns are read from rows found by event, instance,
#: or status and warning time)
UNUSED = (('ix_deadline_timer_task_id', ['timer_task_id']), ('ix_deadline_unit', ['unit']),
          ('ix_deadline_person', ['person']), ('ix_deadline_community', ['community']),
          ('ix_deadline_met_by', ['met_by']))


def upgrade() -> None:
    op.execute("UPDATE process_instance SET state = '' WHERE status IN ('completed', 'terminated')")
    op.create_index('ix_event_duplicate_of_id', 'event', ['duplicate_of_id'])
    op.create_index('ix_event_merged_into_id', 'event', ['merged_into_id'])
    op.create_index('ix_event_type_status_created', 'event', ['type_code', 'status', 'created_at'])
    for name, _ in UNUSED:
        op.drop_index(name, table_name='deadline')


def downgrade() -> None:
    for name, columns in UNUSED:
        op.create_index(name, 'deadline', columns)
    op.drop_index('ix_event_type_status_created', table_name='event')
    op.drop_index('ix_event_merged_into_id', table_name='event')
    op.drop_index('ix_event_duplicate_of_id', table_name='event')
