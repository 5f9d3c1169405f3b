"""the escalation ladder (issue #18, catalogs/data/escalation.json): a notice cites its clause and the rung
that sent it; the rungs that fire hours after a miss wait as rows (`escalation`), one per deadline and rung

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification') as batch:
        batch.add_column(sa.Column('clause', sa.String(20), nullable=True))
        batch.add_column(sa.Column('rung', sa.String(40), nullable=True))
    op.create_table(
        'escalation',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('deadline_id', sa.Integer(), sa.ForeignKey('deadline.id'), nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instance.id'), nullable=False),
        sa.Column('rung', sa.String(40), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('deadline_id', 'rung', name='uq_escalation_deadline_rung'))
    op.create_index('ix_escalation_status_due', 'escalation', ['status', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_escalation_status_due', table_name='escalation')
    op.drop_table('escalation')
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('rung')
        batch.drop_column('clause')
