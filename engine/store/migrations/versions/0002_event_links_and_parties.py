"""event links (转办), reopen count, status reason, superior assignment fields; event parties

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event') as batch:
        batch.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('transferred_from_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('transferred_to_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reopen_count', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('superior_body', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('superior_deadline', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key('fk_event_transferred_from', 'event', ['transferred_from_id'], ['id'])
        batch.create_foreign_key('fk_event_transferred_to', 'event', ['transferred_to_id'], ['id'])
    op.create_table('event_party',
                    sa.Column('event_id', sa.Integer(), sa.ForeignKey('event.id'), nullable=False),
                    sa.Column('kind', sa.String(length=10), nullable=False),
                    sa.Column('value', sa.String(length=100), nullable=False),
                    sa.PrimaryKeyConstraint('event_id', 'kind', 'value'))
    op.create_index('ix_event_party_value', 'event_party', ['value'])


def downgrade() -> None:
    op.drop_index('ix_event_party_value', table_name='event_party')
    op.drop_table('event_party')
    with op.batch_alter_table('event') as batch:
        batch.drop_constraint('fk_event_transferred_to', type_='foreignkey')
        batch.drop_constraint('fk_event_transferred_from', type_='foreignkey')
        for name in ('superior_deadline', 'superior_body', 'reopen_count', 'transferred_to_id',
                     'transferred_from_id', 'status_reason'):
            batch.drop_column(name)
