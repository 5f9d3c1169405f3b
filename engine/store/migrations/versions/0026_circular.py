"""the circular (§9.1) of a long period is read a part at a time (issue #17, engine/oversight/circular.py):
one party's 督办 entries of a period, newest first, by keyset — so each of the columns a record names its
parties by gets an index that goes on with (opened_at, id), and the index on the column alone, which the new
one begins with, is dropped

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08
"""
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

#: (new index, its columns, the index it replaces)
INDEXES = (('ix_supervision_unit_opened', ['unit', 'opened_at', 'id'], 'ix_supervision_unit'),
           ('ix_supervision_person_opened', ['person', 'opened_at', 'id'], 'ix_supervision_person'),
           ('ix_supervision_community_opened', ['community', 'opened_at', 'id'], 'ix_supervision_community'))


def upgrade() -> None:
    for name, columns, replaced in INDEXES:
        op.create_index(name, 'supervision', columns)
        op.drop_index(replaced, table_name='supervision')


def downgrade() -> None:
    for name, columns, replaced in reversed(INDEXES):
        op.create_index(replaced, 'supervision', columns[:1])
        op.drop_index(name, table_name='supervision')
