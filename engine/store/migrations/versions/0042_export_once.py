"""导出任务 (issue #17): the same export asked again by the same person while it is still queued or being built
finds that job instead of making a second one (engine/exports/jobs.py `ask`): `export_job.pending_key`, unique
per asker. Jobs already there keep none (each finishes as before).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_job') as batch:
        batch.add_column(sa.Column('pending_key', sa.String(200), nullable=True))
        batch.create_unique_constraint('uq_export_job_pending', ['username', 'pending_key'])


def downgrade() -> None:
    with op.batch_alter_table('export_job') as batch:
        batch.drop_constraint('uq_export_job_pending', type_='unique')
        batch.drop_column('pending_key')
