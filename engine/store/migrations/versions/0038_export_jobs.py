"""导出任务 (issue #17): whole-period exports built by the worker, one row each (engine/exports/jobs.py).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'export_job',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('username', sa.String(64), nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('format', sa.String(8), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('file_name', sa.String(200)),
        sa.Column('size', sa.BigInteger()),
        sa.Column('lines', sa.Integer()),
        sa.Column('error', sa.Text()),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('started_at', TZ),
        sa.Column('finished_at', TZ),
        sa.Column('expires_at', TZ))
    op.create_index('ix_export_job_username_id', 'export_job', ['username', 'id'])
    op.create_index('ix_export_job_status', 'export_job', ['status', 'id'])


def downgrade() -> None:
    op.drop_table('export_job')
