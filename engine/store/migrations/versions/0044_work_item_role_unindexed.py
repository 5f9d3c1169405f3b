"""待办 at a city's size (issue #17): a task's role is no longer indexed. A scope (community, unit, person, 下派)
picks fewer tasks than a role, and SQLite, without statistics, read every task of the role through this index
before looking at the scope (engine/accounts/permissions.py `work_items_of`).

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07
"""
from alembic import op

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_work_item_role', table_name='work_item')


def downgrade() -> None:
    op.create_index('ix_work_item_role', 'work_item', ['role'])
