"""Bytes per closed event (issue #17): on PostgreSQL the index of the trail's rows by action and time leaves
out the actions no query reads that way (engine/store/models.py `UNPERIODIC`: a task's completion, a limit's
start), and the completions of a period get an index of their own on time alone (Open311's updates).

A closed event's walk writes 12 trail rows, 8 of them completions. ix_audit_action_at grew at the end of each
action's range, where PostgreSQL splits a full page in two halves, and took 847 bytes per closed event
(`python -m bench.storage`); the partial index and the completions' index take 196 + 188. SQLite keeps its
index whole (its pages fill; its bytes per closed event meet the aim). The upgrade builds both with the trail
locked against writes: about 0.5 s per million trail rows on the 2-core box (a city's year: ~6 million).

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07
"""
from alembic import op

revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_audit_action_at', table_name='audit')
    op.execute("CREATE INDEX ix_audit_action_at ON audit (action, at) "
               "WHERE action NOT IN ('task_completed', 'deadline_set')")
    # every completion names its step; the condition says so, and keeps the index to the queries that name
    # steps (Open311's), so the planner does not take it for 已办, which reads a person's by ix_audit_completed_by
    op.execute("CREATE INDEX ix_audit_completed_at ON audit (at) "
               "WHERE action = 'task_completed' AND task_name IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_audit_completed_at', table_name='audit')
    op.drop_index('ix_audit_action_at', table_name='audit')
    op.create_index('ix_audit_action_at', 'audit', ['action', 'at'])
